"""Training with and without a standing preview, headless; prints one JSON object.

    python benchmarks/bench_preview.py [--device cpu|cuda] [--seconds 30] [--view 2048]

The engine (default settings) trains on a synthetic segment for ``--seconds``, first alone,
then while a ``--view``² region around the segment's centre is kept previewed (as the dock
does for what is on screen), then alone again; the two alone runs bracket the machine's drift.
Figures: steps/s alone and with the preview, their ratio (the preview's share of the
engine's time is bounded: EngineSettings.preview_share), the preview's complete refreshes
and their median interval, and the device.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--view", type=int, default=2048)
    parser.add_argument("--size", type=int, default=3072, help="segment height and width")
    parser.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    args = parser.parse_args()

    import segmentation_models_pytorch  # noqa: F401  (docs/architecture §3: first)
    import torch

    from inkloop.engine import PredictionReady, StepDone
    from inkloop.settings import EngineSettings, TrainConfig

    torch.set_num_threads(args.threads)
    settings = EngineSettings(train=TrainConfig(device=args.device))
    centre, half = args.size // 2, min(args.view, args.size) // 2
    region = (centre - half, centre - half, centre + half, centre + half)
    with tempfile.TemporaryDirectory(prefix="inkloop-bench-") as scratch:
        runs, device = _train(Path(scratch) / "preview", settings, region, args)

    def steps_per_s(window) -> float:
        steps = [t for t, e in window if isinstance(e, StepDone)]
        return (len(steps) - 1) / (steps[-1] - steps[0]) if len(steps) > 1 else 0.0

    alone = (steps_per_s(runs["alone"]) + steps_per_s(runs["alone_again"])) / 2
    with_preview = steps_per_s(runs["previewed"])
    rounds = [
        t
        for t, e in runs["previewed"]
        if isinstance(e, PredictionReady) and e.tiles_done == e.tiles_total
    ]
    result = {
        "device": device,
        "torch_threads": args.threads,
        "view": list(region),
        "steps_per_s_alone": round(alone, 3),
        "steps_per_s_previewed": round(with_preview, 3),
        "ratio": round(with_preview / alone, 3) if alone else None,
        "preview_share": settings.preview_share,
        "refreshes": len(rounds),
        "refresh_interval_s": round(float(np.median(np.diff(rounds))), 2)
        if len(rounds) > 1
        else None,
    }
    print(json.dumps(result, indent=2))


def _train(folder: Path, settings, region, args) -> tuple[dict, str]:
    """Train on a synthetic segment written into ``folder``: alone, previewed, alone again;
    each window's (time, event) list, and the device."""
    from inkloop.engine import Engine
    from inkloop.io import load_labels, open_segment
    from inkloop.synthetic import write_segment

    segment = open_segment(write_segment(folder, args.size, args.size, 16))
    ink, supervised, _ = load_labels(segment)
    events: list = []

    def timed(event) -> None:
        events.append((time.perf_counter(), event))

    with Engine(segment, ink, supervised, settings, on_event=timed) as engine:
        engine.prepare()
        engine.wait()
        engine.start()
        runs = {}
        for name, previewed in (("alone", False), ("previewed", True), ("alone_again", False)):
            engine.preview(region if previewed else None, every=0.0)
            began = time.perf_counter()
            time.sleep(args.seconds)  # a fixed measuring window, not synchronisation
            runs[name] = [(t, e) for t, e in events if t >= began]
        engine.stop()
        engine.wait()
        return runs, str(engine.trainer.device)


if __name__ == "__main__":
    main()
