"""F0.5 of `inkloop demo --headless` against its training budget; prints one JSON object.

    python benchmarks/bench_demo.py [--seconds 30 60 120] [--device auto]

Each budget is a fresh run of the headless demo on the bundled sample: default model and
training settings, trained from the sample's example strokes only, scored (best threshold) on
the papyrus those strokes leave unlabelled. Steps are reported too: on a shared machine the
steps a budget buys vary, and F0.5 follows the steps.
"""

from __future__ import annotations

import argparse
import json
import tempfile


def main() -> None:
    from inkloop.demo import run_headless_demo
    from inkloop.settings import TrainConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[30.0, 60.0, 120.0])
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    runs = []
    for seconds in args.seconds:
        with tempfile.TemporaryDirectory() as out:
            train = TrainConfig(max_seconds=seconds, device=args.device)
            summary = run_headless_demo(out, train=train, progress=False)
        keys = ("f05", "untrained_f05", "chance_f05", "steps", "seconds", "device")
        runs.append({"budget_s": seconds, **{key: summary[key] for key in keys}})
    print(json.dumps({"runs": runs}))


if __name__ == "__main__":
    main()
