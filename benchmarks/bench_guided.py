"""Does guiding the labeller help? A simulated labeller, box by box, three ways (and an oracle).

    python benchmarks/bench_guided.py [--rounds 5] [--boxes 4] [--seconds 20 | --steps 60]
        [--seeds 0 1 2] [--data synthetic real_dev] [--oracle]

It starts from two 128² boxes labelled from the truth (one on ink, one at random), then in
each round trains the engine (the code the dock runs) for ``--seconds`` (or ``--steps``: the
same training whatever the machine's speed or load, so the strategies differ only in their
boxes; the seed fixes the initial weights) and labels
``--boxes`` more 128² boxes from the truth, chosen
  (a) at random among boxes of mostly unlabelled papyrus;
  (b) by Next: the engine's ranking (`Engine.rank`) of sampled tiles by 4 p (1 - p);
  (c) by Next, accepting the thresholded prediction (the threshold slider set where the
      overlay best matches the labels so far) and correcting it: the labels end
      as in (b), so (c) trains exactly as (b) does; its effort counts only the pixels the
      labeller had to change, where (a) and (b) paint every pixel of a box.
With ``--oracle`` also (o): the boxes where the model is most wrong, by the truth. No real
labeller can choose so; it shows what seeking out the model's errors, perfectly, would win.
After each round: best-threshold F0.5 on the unlabelled papyrus left. On the synthetic segment
(bench_train's, ink at 3x the default contrast so that a short budget learns) and on the real
dev crop (../shared/real_dev, the reference map > 127 as truth; skipped when absent).
Prints one JSON object: per data set, strategy and round the median F0.5 over seeds, the
boxes labelled and the effort in pixels; and whether (b) >= (a) after every round, the share of
(a)'s boxes (b) needed to reach (a)'s final F0.5, and (c)'s effort against (b)'s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _loop_cases import REAL_DEV

BOX = 128
STRATEGIES = ("random", "next")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--boxes", type=int, default=4, help="boxes labelled per round")
    parser.add_argument("--seconds", type=float, default=20.0, help="training per round")
    parser.add_argument(
        "--steps", type=int, help="training per round in steps instead: repeatable, any machine"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cache", type=Path, default=Path(".bench_cache"))
    parser.add_argument("--data", nargs="+", default=["synthetic", "real_dev"])
    parser.add_argument(
        "--oracle", action="store_true", help="also (o): the boxes most wrong by the truth"
    )
    args = parser.parse_args()
    import segmentation_models_pytorch  # noqa: F401  (docs/architecture §3: before the rest of torch)

    result = {"device": args.device, "cpu_count": os.cpu_count(), "box": BOX, **vars(args)}
    result["cache"] = str(args.cache)
    data = {"synthetic": _synthetic(args.cache)} if "synthetic" in args.data else {}
    if "real_dev" in args.data and REAL_DEV.is_dir():
        data["real_dev"] = _real()
    elif "real_dev" in args.data:
        result["skipped"] = f"the real crop: {REAL_DEV} is not here"
    for name, (segment, truth, papyrus) in data.items():
        strategies = STRATEGIES + ("oracle",) * args.oracle
        runs = {strategy: [] for strategy in strategies}
        for seed in args.seeds:  # interleaved: the machine's drift hits all alike
            for strategy in strategies:
                runs[strategy].append(_run(segment, truth, papyrus, strategy, seed, args))
        result[name] = _summary(runs)
    print(json.dumps(result, indent=2))


def _synthetic(cache: Path):
    from inkloop.io import open_segment
    from inkloop.synthetic import write_segment

    folder = cache / "guided_24x1024x1024_seed21_contrast0.3"
    if not (folder / "layers").is_dir():
        write_segment(folder, 1024, 1024, 24, 21, ink_contrast=0.3)
    segment = open_segment(folder)
    return segment, np.asarray(segment.ink_labels) > 127, np.asarray(segment.mask)


def _real():
    from inkloop.io import open_segment, read_image

    segment = open_segment(REAL_DEV)
    truth = read_image(REAL_DEV / f"{REAL_DEV.name}_reference.png", grey=True) > 127
    return segment, truth, np.ones(truth.shape, bool)


def _run(segment, truth, papyrus, strategy: str, seed: int, args) -> list[dict]:
    """One labeller's rounds: [{boxes, effort, effort_accept, f05}] after each round."""
    from inkloop.engine import Engine, Failed, Ranked
    from inkloop.metrics import best_scores
    from inkloop.settings import EngineSettings, TrainConfig

    rng = np.random.default_rng([seed, 7])
    ink = np.zeros(truth.shape, np.uint8)
    supervised = np.zeros(truth.shape, bool)
    boxes = [
        _box_on(np.argwhere(truth & papyrus), rng, truth.shape),
        _random_box(papyrus, supervised, rng),
    ]
    settings = EngineSettings(
        train=TrainConfig(
            max_seconds=None if args.steps else args.seconds,
            max_steps=args.steps,
            device=args.device,
            seed=seed,
        )
    )
    ranked, failed, arrived = {}, {}, threading.Event()  # failed: request (None: the run's)

    def listen(event):
        if isinstance(event, Ranked):
            ranked[event.request] = event.boxes
            arrived.set()
        elif isinstance(event, Failed):  # the ranking's or the run's: no Ranked follows
            failed[event.request] = event.message
            arrived.set()

    rounds, effort, effort_accept = [], 0, 0
    _label(ink, supervised, truth, boxes)
    with Engine(segment, ink, supervised, settings, on_event=listen) as engine:
        for _ in range(args.rounds):
            engine.start()
            engine.wait()
            probability = _predict(engine, settings, segment, papyrus)
            scored = papyrus & ~supervised
            rounds.append(
                {
                    "boxes": len(boxes),
                    "effort": effort,
                    "effort_accept": effort_accept,
                    "f05": round(float(best_scores(probability, truth, scored).f05), 4),
                }
            )
            if strategy == "random":
                chosen = [_random_box(papyrus, supervised, rng) for _ in range(args.boxes)]
            elif strategy == "oracle":
                wrong = _most_wrong(probability, truth, papyrus & ~supervised)
                chosen = _next_boxes(wrong, boxes, args.boxes)
            else:
                request = engine.rank(box=BOX, tiles=16, seed=len(boxes))
                while request not in ranked and not failed.keys() & {request, None}:
                    arrived.wait()  # a preview's failure is not the ranking's
                    arrived.clear()
                if request not in ranked:
                    why = failed.get(request) or failed.get(None)
                    raise RuntimeError(f"the engine did not rank: {why}")
                chosen = _next_boxes(ranked[request], boxes, args.boxes)
            # the labeller sets the threshold slider where the overlay matches their labels
            threshold = best_scores(probability, truth, supervised).threshold
            for y0, x0, y1, x1 in chosen:
                effort += (y1 - y0) * (x1 - x0)
                wrong = (probability[y0:y1, x0:x1] >= threshold) != truth[y0:y1, x0:x1]
                effort_accept += int(wrong.sum())
            boxes += chosen
            for box in _label(ink, supervised, truth, chosen):
                engine.update_labels(*box)
    return rounds


def _predict(engine, settings, segment, papyrus) -> np.ndarray:
    """The whole segment's prediction with the weights trained so far (the engine is idle)."""
    from inkloop.engine import predictor_for

    predictor = predictor_for(settings, engine.trainer)
    return predictor.predict_region(segment, (0, 0, *segment.shape[1:]), papyrus)


def _label(ink, supervised, truth, boxes) -> list:
    """Label ``boxes`` from the truth; the updates as update_labels arguments."""
    updates = []
    for y0, x0, y1, x1 in boxes:
        ink[y0:y1, x0:x1] = np.where(truth[y0:y1, x0:x1], 255, 0)
        supervised[y0:y1, x0:x1] = True
        updates.append(
            (ink[y0:y1, x0:x1].copy(), supervised[y0:y1, x0:x1].copy(), (y0, x0, y1, x1))
        )
    return updates


def _next_boxes(ranked, taken, count: int) -> list:
    from inkloop.uncertainty import next_box

    chosen = []
    for _ in range(count):
        box = next_box(ranked, taken + chosen, may_cover=0.0)  # each pixel labelled once
        if box is None:
            break
        chosen.append(box)
    return chosen


def _most_wrong(probability, truth, open_area) -> list:
    """(mean |p - truth|, box) of the BOX² boxes on a half-box grid that are mostly
    ``open_area`` (unlabelled papyrus), most wrong first: what a labeller who knew the truth
    would label next."""
    from inkloop.uncertainty import box_means

    error = np.abs(probability - truth)
    boxes = box_means(error, (0, 0), open_area, BOX, stride=BOX // 2)
    return sorted(boxes, key=lambda item: -item[0])


def _random_box(papyrus, supervised, rng) -> tuple:
    """A random BOX² box of mostly unlabelled papyrus."""
    height, width = papyrus.shape
    while True:
        y, x = int(rng.integers(0, height - BOX + 1)), int(rng.integers(0, width - BOX + 1))
        if (papyrus & ~supervised)[y : y + BOX, x : x + BOX].mean() >= 0.5:
            return y, x, y + BOX, x + BOX


def _box_on(points, rng, shape) -> tuple:
    y, x = points[rng.integers(len(points))]
    y0 = int(np.clip(y - BOX // 2, 0, shape[0] - BOX))
    x0 = int(np.clip(x - BOX // 2, 0, shape[1] - BOX))
    return y0, x0, y0 + BOX, x0 + BOX


def _summary(runs: dict) -> dict:
    """Per strategy and round the median over seeds, and the issue's three checks."""
    table = {}
    for strategy, seeds in runs.items():
        table[strategy] = [
            {key: float(np.median([seed[r][key] for seed in seeds])) for key in seeds[0][r]}
            for r in range(len(seeds[0]))
        ]
        table[strategy + "_runs"] = [[r["f05"] for r in seed] for seed in seeds]
    table["accept_then_correct"] = [
        {**row, "effort": row["effort_accept"]} for row in table["next"]
    ]
    next_rows = table["next"]
    table["checks"] = {
        **_against_random(next_rows, table["random"]),
        "accept_effort_share_of_next": next_rows[-1]["effort_accept"]
        / max(next_rows[-1]["effort"], 1),
    }
    if "oracle" in runs:
        table["oracle_checks"] = _against_random(table["oracle"], table["random"])
    return table


def _against_random(rows, random_rows) -> dict:
    """Whether ``rows`` (median per round) are at least random's after every round, and the
    boxes they needed to reach random's final F0.5."""
    final = random_rows[-1]["f05"]
    reached = next((r["boxes"] for r in rows if r["f05"] >= final), None)
    return {
        "at_least_random_every_round": all(
            row["f05"] >= r["f05"] for row, r in zip(rows, random_rows, strict=True)
        ),
        "boxes_to_reach_random_final": reached,
        "random_boxes_at_final": random_rows[-1]["boxes"],
        "share_of_random_boxes": None if reached is None else reached / random_rows[-1]["boxes"],
    }


if __name__ == "__main__":
    main()
