"""The loop as a user runs it, in the real widget under Xvfb; prints one JSON object.

    xvfb-run -a -s "-screen 0 1920x1200x24" python benchmarks/bench_loop.py \
        [--seconds 60] [--torch-threads N] [--screenshot docs/loop.png]

Opens the bundled sample segment (its example strokes are its labels) in napari with the Ink
Loop widget docked and a ~1024 x 1024 canvas, waits until the engine process is ready (it
starts when the segment opens), clicks "Finetune & preview" and lets it train ``--seconds``.
Figures: ``first_overlay_s`` (click to the first prediction tile drawn), ``refresh_interval_s``
(median time between complete refreshes of the previewed area while training),
``stall_p99_ms`` / ``stall_max_ms`` (how late a 10 ms QTimer fires while training and
streaming: the GUI's responsiveness), ``gui_samples_per_s`` and ``gui_train_ratio`` (the
median per-step rate against the same engine settings headless: an `Engine` in a separate plain
Python process, default torch threads, same duration), and the ``*_effective_*`` rates: samples
over wall time, which in the GUI includes the preview predictions between steps.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

HEADLESS = """
import json, sys, time
import segmentation_models_pytorch  # noqa: F401
from inkloop.engine import Engine, StepDone
from inkloop.io import load_labels, open_segment, sample_segment_path
segment = open_segment(sample_segment_path())
ink, supervised, _ = load_labels(segment)
rates = []
with Engine(segment, ink, supervised, on_event=lambda e: isinstance(e, StepDone) and rates.append(
        (time.perf_counter(), e.samples_per_s, e.batch_size))) as engine:
    engine.start()
    time.sleep(float(sys.argv[1]))  # a fixed measuring window, not synchronisation
    engine.stop()
    engine.wait()
start = rates[0][0] + 5  # after warm-up
print(json.dumps([step for step in rates if step[0] > start]))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--torch-threads", type=int, default=None)
    parser.add_argument("--screenshot", default=None)
    args = parser.parse_args()
    result = _gui(args)
    headless = _headless(args.seconds)
    result["headless_samples_per_s"] = float(np.median([rate for _, rate, _ in headless]))
    result["headless_effective_samples_per_s"] = _effective(headless)
    result["gui_train_ratio"] = result["gui_samples_per_s"] / result["headless_samples_per_s"]
    effective = result["gui_effective_samples_per_s"] / result["headless_effective_samples_per_s"]
    result["gui_effective_ratio"] = effective
    print(json.dumps(result, indent=2))


def _gui(args) -> dict:
    import napari
    from qtpy.QtCore import QElapsedTimer, QTimer

    from inkloop._napari._demo import sample_copy
    from inkloop._napari._widget import InkLoopWidget
    from inkloop.engine import PredictionReady, StepDone

    if args.torch_threads:
        InkLoopWidget.torch_threads = args.torch_threads
    viewer = napari.Viewer(show=True)
    viewer.window.resize(1900, 1150)
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    widget.open_segment(str(sample_copy()))
    loop = widget.loop
    _run_until(lambda: loop.ready, 120)
    events = []
    loop.changed.connect(lambda event: events.append((time.perf_counter(), event)))
    probe, clock, lateness = QTimer(), QElapsedTimer(), []

    def tick():
        lateness.append(clock.restart() - 10)

    probe.timeout.connect(tick)
    clicked = time.perf_counter()
    widget.loop_panel.finetune_button.click()
    _run_until(lambda: loop.prediction_updates >= 1, 60)
    first_overlay = time.perf_counter() - clicked
    clock.start()
    probe.start(10)
    _run_until(lambda: time.perf_counter() - clicked > args.seconds / 2, args.seconds)
    if args.screenshot:  # grabbing the window blocks the GUI: not part of the stall figures
        probe.stop()
        viewer.screenshot(args.screenshot, canvas_only=False)
        clock.restart()
        probe.start(10)
    _run_until(lambda: time.perf_counter() - clicked > args.seconds, args.seconds)
    probe.stop()
    widget.loop_panel.stop_button.click()
    rounds = [
        t for t, e in events if isinstance(e, PredictionReady) and e.tiles_done == e.tiles_total
    ]
    steps = [
        (t, e.samples_per_s, e.batch_size)
        for t, e in events
        if isinstance(e, StepDone) and t > clicked + 5
    ]
    result = {
        "first_overlay_s": first_overlay,
        "refresh_interval_s": float(np.median(np.diff(rounds))),
        "refreshes": len(rounds),
        "stall_p99_ms": float(np.percentile(lateness[10:], 99)),
        "stall_max_ms": float(np.max(lateness[10:])),
        "gui_samples_per_s": float(np.median([rate for _, rate, _ in steps])),
        "gui_effective_samples_per_s": _effective(steps),
        "steps": loop.steps[-1].step,
        "canvas": list(viewer.window._qt_viewer.canvas.size),
    }
    viewer.close()
    return result


def _run_until(condition, timeout: float) -> None:
    """Run the Qt event loop until ``condition()`` holds (checked every 5 ms) or ``timeout``."""
    from qtpy.QtCore import QEventLoop, QTimer

    loop, check = QEventLoop(), QTimer()
    check.timeout.connect(lambda: condition() and loop.quit())
    check.start(5)
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    loop.exec()
    check.stop()


def _effective(steps) -> float:
    """Samples per second of wall time between the first and last step (previews included)."""
    return sum(batch for _, _, batch in steps[1:]) / (steps[-1][0] - steps[0][0])


def _headless(seconds: float) -> list[list[float]]:
    out = subprocess.run(
        [sys.executable, "-c", HEADLESS, str(seconds)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
