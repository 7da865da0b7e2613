"""The loop as a user runs it, in the real widget under Xvfb; prints one JSON object.

    xvfb-run -a -s "-screen 0 1920x1200x24" python benchmarks/bench_loop.py \
        [--seconds 60] [--real-seconds 180] [--big --cache DIR] [--screenshot docs/loop.png]
        [--remote] [--big-size 8192]

For each case, the segment opens in napari with the Ink Loop dock and its whole area in view,
"Finetune & preview" is clicked once the engine process is ready, training runs for the
case's seconds, Stop is clicked and the dock predicts the whole segment. Then the same
engine settings and torch threads train headless (an `Engine` in a plain Python process) for
the same time on the same labels and predict the whole segment too.

Cases: ``sample`` (the bundled sample, its example strokes as labels, scored on the rest of
its papyrus); ``real`` (the real dev crop in ../shared/real_dev, labelled on its left half
with the reference map, scored on the right half; skipped when absent); with ``--big``,
bench_io's 65 x 8192 x 8192 uint16 segment, panned around while training, not scored. Each
case runs in a fresh folder (a copy, or the layers linked), removed at the end.

Figures per case: ``device`` (where the engine trained), ``first_overlay_s`` (click to the
first prediction tile drawn), ``overlay_interval_s`` (median time between two overlay updates
while training), ``refresh_interval_s`` (median time between complete refreshes of the view),
``stall_p99_ms`` / ``stall_max_ms`` (how late a 10 ms QTimer fires while training: the GUI's
responsiveness), ``gui_steps`` / ``headless_steps`` and their ``steps_ratio``, ``gui_f05`` /
``headless_f05`` and ``f05_ratio`` (best-threshold F0.5 of the whole-segment predictions);
for ``big``, the peak RSS of the napari process and of the engine process. A figure is null
where the run was too short to give it.

``--remote`` also runs the sample case with the engine on an engine server (`inkloop engine
serve` in another process, on loopback) chosen in the dock's Engine panel, as
``sample_remote``: the same loop figures, against the local engine process's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _loop_cases import Case, big_case, engine_server, f05, headless, real_case, sample_case
from _stdout import json_stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="training time on the sample")
    parser.add_argument("--real-seconds", type=float, default=180)
    parser.add_argument("--big", action="store_true", help="also the 65 x 8192 x 8192 segment")
    parser.add_argument("--big-seconds", type=float, default=60)
    parser.add_argument("--big-size", type=int, default=8192, help="the big segment's side")
    parser.add_argument("--cache", type=Path, default=Path(".bench_cache"))
    parser.add_argument("--only", choices=("sample", "real", "big"), default=None)
    parser.add_argument("--torch-threads", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--screenshot", default=None)
    parser.add_argument("--remote", action="store_true", help="also the sample on a server")
    args = parser.parse_args()
    out = json_stdout()  # the dock's notifications print to stdout
    result = {"machine": f"{platform.node()}, {os.cpu_count()} cores"}
    result["torch_threads"] = args.torch_threads
    # a late write of an engine that is still ending must not fail the clean-up
    with tempfile.TemporaryDirectory(prefix="inkloop-bench-", ignore_cleanup_errors=True) as root:
        result.update(_cases(args, Path(root)))
    print(json.dumps(result, indent=2), file=out, flush=True)


def _cases(args, root: Path) -> dict:
    result = {}
    if args.only in (None, "sample"):
        result["sample"] = _case(sample_case(root), args.seconds, args)
    if args.only in (None, "real"):
        real = real_case(root)
        skipped = {"skipped": "../shared/real_dev is not here"}
        result["real"] = _case(real, args.real_seconds, args) if real else skipped
    if args.remote:
        case = sample_case(root)
        with engine_server(case.folder.parent, args.cache) as remote:
            result["sample_remote"] = _gui(case, args.seconds, args, remote=remote)
    if args.big or args.only == "big":
        big = big_case(args.cache, root, args.big_size)
        result["big"] = _gui(big, args.big_seconds, args, pan=True)
    return result


def _case(case: Case, seconds: float, args) -> dict:
    result = _gui(case, seconds, args)
    twin = headless(case, result["seconds"], args.torch_threads)
    result["headless_steps"], result["headless_f05"] = twin["steps"], twin["f05"]
    result["headless_samples_per_s"] = twin["samples_per_s"]
    result["steps_ratio"] = result["gui_steps"] / twin["steps"] if twin["steps"] else None
    result["f05_ratio"] = result["gui_f05"] / twin["f05"] if twin["f05"] else None
    return result


def _gui(case: Case, seconds: float, args, pan: bool = False, remote=None) -> dict:
    import napari

    from inkloop._napari._widget import InkLoopWidget

    InkLoopWidget.torch_threads = args.torch_threads
    viewer = napari.Viewer(show=True)
    try:  # left open, the viewer's teardown at exit aborts the process
        return _loop_figures(viewer, case, seconds, args, pan, remote)
    finally:
        viewer.close()


def _loop_figures(viewer, case: Case, seconds: float, args, pan: bool, remote) -> dict:
    from inkloop.engine import PredictionReady, RunStarted, StepDone

    viewer.window.resize(1900, 1150)
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    widget.open_segment(str(case.folder), wait=True)
    viewer.reset_view()  # the whole segment in view
    loop = widget.loop
    _run_until(lambda: loop.ready, 300)
    if remote is not None:  # as a user would: the Engine panel, then a warm engine
        loop.use_engine(remote)
        loop.warm_up()
        _run_until(lambda: loop.ready, 300)
    updates, steps, runs = [], [], []  # the loop keeps the last step only
    loop.changed.connect(
        lambda e: isinstance(e, PredictionReady) and updates.append((time.perf_counter(), e))
    )
    loop.changed.connect(lambda e: isinstance(e, StepDone) and steps.append(e))
    loop.changed.connect(lambda e: isinstance(e, RunStarted) and runs.append(e))
    stalls = _StallProbe()
    clicked = time.perf_counter()
    widget.loop_panel.finetune_button.click()
    _run_until(lambda: loop.prediction_updates >= 1, 60)
    first_overlay = time.perf_counter() - clicked if loop.prediction_updates else None
    stalls.start()
    if pan:
        _pan_around(viewer, loop, clicked, seconds)
    else:
        _run_until(lambda: time.perf_counter() - clicked > seconds / 2, seconds)
        if args.screenshot and case.name == "sample":  # a grab blocks the GUI: not measured
            stalls.pause(lambda: viewer.screenshot(args.screenshot, canvas_only=False))
        _run_until(lambda: time.perf_counter() - clicked > seconds, seconds)
    stalls.stop()
    engine_rss = _peak_rss_mb(loop.engine.pid)
    widget.loop_panel.stop_button.click()
    trained_s = time.perf_counter() - clicked
    _run_until(lambda: not loop.state.running, 60)
    result = {
        "shape": list(widget.labels.segment.shape),
        "canvas": list(viewer.window._qt_viewer.canvas.size),
        "device": runs[0].device if runs else None,  # the engine's: auto picks a GPU
        "seconds": round(trained_s, 1),
        "first_overlay_s": None if first_overlay is None else round(first_overlay, 3),
        **_intervals(updates, clicked),
        **stalls.figures(),
        "gui_steps": steps[-1].step if steps else 0,
        "gui_samples_per_s": _figure(np.median, [s.samples_per_s for s in steps[5:]]),
        "napari_peak_rss_mb": _peak_rss_mb(os.getpid()),
        "engine_peak_rss_mb": engine_rss,
    }
    if case.truth is not None and remote is None:  # a server writes its prediction there
        result["gui_f05"] = f05(case, _predict_whole(viewer, widget))
    return result


def _predict_whole(viewer, widget) -> np.ndarray:
    """The dock's own whole-segment prediction, as the user would make it after Stop."""
    from inkloop.io import read_prediction

    name = f"{widget.labels.segment.name} prediction"
    widget.predict_panel.predict_button.click()
    _run_until(lambda: name in viewer.layers, 600)
    return read_prediction(widget.predict_panel.output_path())


def _intervals(updates, clicked: float) -> dict:
    times = [t for t, _ in updates if t > clicked]
    rounds = [t for t, e in updates if e.tiles_done == e.tiles_total and e.tiles_total]
    return {
        "overlay_updates": len(times),
        "overlay_interval_s": _figure(np.median, np.diff(times)),
        "overlay_interval_max_s": _figure(np.max, np.diff(times)),
        "refreshes": len(rounds),
        "refresh_interval_s": _figure(np.median, np.diff(rounds)),
        "tiles_per_refresh": updates[-1][1].tiles_total if updates else None,
    }


def _figure(function, values, digits: int = 2) -> float | None:
    """``function(values)`` rounded, or None where there are no values (a run too short)."""
    return round(float(function(values)), digits) if len(values) else None


def _pan_around(viewer, loop, clicked: float, seconds: float) -> None:
    """Zoomed in, the camera jumps to another part of the segment every 4 s."""
    height, width = loop.labels.segment.shape[1:]
    camera = getattr(viewer, "scene", viewer).camera  # napari 0.9 moved it to .scene
    camera.zoom = 1.0
    spots = [(h * height, w * width) for h, w in ((0.4, 0.4), (0.6, 0.7), (0.3, 0.6), (0.5, 0.5))]
    for turn in range(int(seconds // 4)):
        camera.center = spots[turn % len(spots)]
        _run_until(lambda turn=turn: time.perf_counter() - clicked > 4 * (turn + 1), 10)


class _StallProbe:
    """How late a 10 ms timer fires: the event loop's stalls."""

    def __init__(self) -> None:
        from qtpy.QtCore import QElapsedTimer, QTimer

        self.timer, self.clock, self.lateness = QTimer(), QElapsedTimer(), []
        self.timer.timeout.connect(lambda: self.lateness.append(self.clock.restart() - 10))

    def start(self) -> None:
        self.clock.start()
        self.timer.start(10)

    def stop(self) -> None:
        self.timer.stop()

    def pause(self, action) -> None:
        self.stop()
        action()
        self.start()

    def figures(self) -> dict:
        lateness = self.lateness[10:]
        return {
            "stall_p99_ms": _figure(lambda v: np.percentile(v, 99), lateness),
            "stall_max_ms": _figure(np.max, lateness),
        }


def _peak_rss_mb(pid: int) -> float | None:
    """VmHWM of a live process (Linux)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next(line for line in status.splitlines() if line.startswith("VmHWM"))
    return round(int(line.split()[1]) / 1024, 1)


def _run_until(condition, timeout: float) -> None:
    """Run the Qt event loop until ``condition()`` holds (checked every 5 ms) or ``timeout``."""
    from qtpy.QtCore import QEventLoop, QTimer

    loop, check = QEventLoop(), QTimer()
    check.timeout.connect(lambda: condition() and loop.quit())
    check.start(5)
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    loop.exec()
    check.stop()


if __name__ == "__main__":
    main()
