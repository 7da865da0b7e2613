"""Ink quality on real scroll CT: inkloop's defaults against the plain loop a user would write.

    python benchmarks/bench_quality.py [--seconds 300 60] [--seeds 0 1 2] [--device cpu]
        [--train-options "--batch-size 32"] [--train-options=--full-precision]
        [--variant "r10t=--encoder tu-resnet10t" ...]

The dev protocol of ../shared/real_dev/README.md: two folds (train on the left half's labels,
score the right half; and the mirror), the reference map > 127 as ink, best-threshold F0.5
(0.05 … 0.95) on the scored half. inkloop runs as users run it (`inkloop train` then
`inkloop predict`, defaults); the peer is the README's afternoon loop, written here: an smp
Unet (resnet18, random init, all layers as channels, z-scored with the crop's mean and std),
random 128² patches anywhere in the labelled half, batch 16, flips, 0.5 Dice + 0.5 SoftBCE
(label smoothing 0.25), AdamW at a constant 1e-3, one forward pass over the crop. Runs
interleave (seed, fold, inkloop, its variants, peer) so the machine's drift hits all alike;
a ``--variant NAME=OPTIONS`` is inkloop with those `inkloop train` options added, reported as
a loop of its own (a change of a default, measured against the defaults in the same hour). Then the
synthetic segment of bench_train (labels on its top-left quarter, scored on the rest) with the
defaults, at each budget. Prints one JSON object: per budget and fold, each loop's median and
worst F0.5 and the ratio of medians, every run's steps and samples/s, and the synthetic F0.5.
The real part is skipped, saying so, when the crop is absent.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _loop_cases import REAL_DEV
from _machine import machine

FOLDS = {"train_left": 0, "train_right": 1}  # which half trains
LOOPS = ("inkloop", "peer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[300.0, 60.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cache", type=Path, default=Path(".bench_cache"))
    parser.add_argument("--no-synthetic", action="store_true", help="the real crop only")
    parser.add_argument(
        "--loops",
        nargs="+",
        choices=LOOPS,
        default=list(LOOPS),
        help="which loops run (the peer's figures do not change with inkloop's defaults)",
    )
    parser.add_argument(
        "--train-options",
        default="",
        help="extra `inkloop train` options, to measure a change of a default before making it "
        "(one flag alone needs the = form: --train-options=--full-precision)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        type=_variant,
        metavar="NAME=OPTIONS",
        help="also run inkloop with these `inkloop train` options, interleaved, as loop NAME",
    )
    args = parser.parse_args()
    import segmentation_models_pytorch  # noqa: F401  (docs/architecture §3: before the rest of torch)

    result = {"device": args.device, "machine": machine()}
    if args.train_options:
        result["train_options"] = args.train_options
    if REAL_DEV.is_dir():
        result["budgets"] = _real(args)
    else:
        result["skipped"] = f"the real crop: {REAL_DEV} is not here"
    if not args.no_synthetic:
        from bench_train import synthetic_quality, synthetic_segment

        segment = synthetic_segment(args.cache)
        result["synthetic"] = {
            f"f05_{seconds:g}s": synthetic_quality(segment, seconds, args.device)
            for seconds in args.seconds
        }
    print(json.dumps(result, indent=2))


def _real(args) -> dict:
    """The dev protocol on the real crop: {budget: per-fold summary with every run}."""
    from inkloop.io import read_image

    reference = read_image(REAL_DEV / f"{REAL_DEV.name}_reference.png", grey=True) > 127
    budgets = {}
    with tempfile.TemporaryDirectory(prefix="inkloop-quality-") as scratch:
        for seconds in args.seconds:
            runs = _budget(seconds, reference, Path(scratch), args)
            budgets[f"{seconds:g}s"] = _summary(runs, [loop for loop, _ in _loops(args)])
    return budgets


def _budget(seconds: float, reference, work: Path, args) -> list[dict]:
    """Every run at one budget, each also printed to stderr as it ends."""
    runs = []
    for seed in args.seeds:
        for fold, half in FOLDS.items():
            train, scored = _halves(reference.shape, half)
            labels = _write_labels(work / f"{fold}_ink.png", reference, train)
            for loop, options in _loops(args):
                case = (labels, reference, train, seconds, seed, args, work)
                if loop == "peer":
                    probability, stats = _peer(*case)
                else:
                    probability, stats = _inkloop(*case, options)
                scores = _scores(probability, reference, scored)
                runs.append({"loop": loop, "fold": fold, "seed": seed, **scores, **stats})
                print(json.dumps(runs[-1]), file=sys.stderr)
    return runs


def _variant(text: str) -> tuple[str, str]:
    name, equals, options = text.partition("=")
    if not equals or not name or name in LOOPS:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=OPTIONS (NAME not in {LOOPS})")
    return name, options


def _loops(args) -> list[tuple[str, str]]:
    """(loop, its extra train options) in the order each seed and fold runs them."""
    loops = [("inkloop", "")] if "inkloop" in args.loops else []
    loops += args.variant
    return loops + ([("peer", "")] if "peer" in args.loops else [])


def _halves(shape, half: int) -> tuple[np.ndarray, np.ndarray]:
    train = np.zeros(shape, bool)
    middle = shape[1] // 2
    train[:, :middle] = True
    if half:
        train = ~train
    return train, ~train


def _write_labels(path: Path, reference: np.ndarray, train: np.ndarray) -> Path:
    from inkloop.io import write_label_files

    write_label_files(path, np.where(reference & train, 255, 0).astype(np.uint8), train)
    return path


def _scores(probability: np.ndarray, reference: np.ndarray, scored: np.ndarray) -> dict:
    """Best-threshold F0.5, and at p = 0.5 (where the dock's soft overlay starts to show ink)."""
    from inkloop.metrics import best_scores, scores

    best, half = best_scores(probability, reference, scored), scores(probability, reference, scored)
    return {
        "f05": round(float(best.f05), 4),
        "threshold": round(float(best.threshold), 2),
        "f05_at_0.5": round(float(half.f05), 4),
        "recall_at_0.5": round(float(half.recall), 4),
    }


def _inkloop(labels: Path, reference, train, seconds, seed, args, work: Path, options=""):
    """`inkloop train` + `inkloop predict` with their defaults (``--train-options`` and a
    variant's ``options`` added), as a user runs them."""
    from inkloop.io import read_image, supervision_path_for

    model, out = work / "model.pt", work / "prediction.png"
    cli = [sys.executable, "-m", "inkloop.cli"]
    train_run = _run(
        [*cli, "train", str(REAL_DEV), "--labels", str(labels),
         "--supervision", str(supervision_path_for(labels)), "--out", str(model), "--overwrite",
         "--max-seconds", str(seconds), "--device", args.device, "--seed", str(seed), "--quiet",
         *shlex.split(args.train_options), *shlex.split(options)],
    )  # fmt: skip
    summary = json.loads(train_run.stdout.strip().splitlines()[-1])
    _run(
        [*cli, "predict", str(REAL_DEV), "--model", str(model), "--out", str(out), "--overwrite",
         "--device", args.device, "--quiet"],
    )  # fmt: skip
    probability = read_image(out, grey=True) / 255
    facts = ("steps", "samples_per_s", "batch_size", "encoder", "precision", "loader")
    return probability, {key: summary.get(key) for key in facts}


def _run(command: list[str]) -> subprocess.CompletedProcess:
    """``command`` with its output captured; on failure its stderr goes to ours first (the
    CalledProcessError alone names the command, not why it failed)."""
    try:
        return subprocess.run(command, capture_output=True, text=True, check=True)
    except subprocess.CalledProcessError as error:
        sys.stderr.write(error.stderr)
        why = " | ".join(error.stderr.strip().splitlines()[-3:])
        raise SystemExit(f"inkloop {command[3]} failed (exit {error.returncode}): {why}") from None


def _peer(labels, reference, train, seconds, seed, args, work):
    """The afternoon loop of the dev README, on the same labels and budget."""
    import segmentation_models_pytorch as smp
    import torch

    from inkloop.io import open_segment

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    device = torch.device("cuda" if args.device == "cuda" else "cpu")
    volume = np.asarray(open_segment(REAL_DEV).volume, np.float32)
    volume = (volume - volume.mean()) / volume.std()
    model = smp.Unet("resnet18", encoder_weights=None, in_channels=volume.shape[0], classes=1)
    model = model.to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)
    dice = smp.losses.DiceLoss("binary", from_logits=True)
    bce = smp.losses.SoftBCEWithLogitsLoss(smooth_factor=0.25)
    columns = np.flatnonzero(train[0])
    steps, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        inputs, targets = _peer_batch(volume, reference, columns, rng)
        inputs, targets = torch.from_numpy(inputs).to(device), torch.from_numpy(targets).to(device)
        logits = model(inputs)
        loss = 0.5 * dice(logits, targets) + 0.5 * bce(logits, targets)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        steps += 1
    elapsed = time.perf_counter() - began
    model.eval()
    height, width = reference.shape
    padded = np.pad(volume, ((0, 0), (0, -height % 32), (0, -width % 32)), mode="reflect")
    with torch.inference_mode():
        logits = model(torch.from_numpy(padded[None]).to(device))[0, 0, :height, :width]
    probability = torch.sigmoid(logits).cpu().numpy()
    return probability, {"steps": steps, "samples_per_s": round(16 * steps / elapsed, 2)}


def _peer_batch(volume, reference, columns, rng, size: int = 128, batch: int = 16):
    """Random 128² patches anywhere in the labelled half, random flips."""
    _, height, _ = volume.shape
    inputs, targets = [], []
    for _ in range(batch):
        y = int(rng.integers(0, height - size + 1))
        x = int(rng.integers(columns[0], columns[-1] - size + 2))
        patch = volume[:, y : y + size, x : x + size]
        target = reference[y : y + size, x : x + size][None].astype(np.float32)
        for axis in (-1, -2):
            if rng.random() < 0.5:
                patch, target = np.flip(patch, axis), np.flip(target, axis)
        inputs.append(patch)
        targets.append(target)
    return np.ascontiguousarray(inputs), np.ascontiguousarray(targets)


def _summary(runs: list[dict], loops) -> dict:
    summary = {"runs": runs}
    for fold in FOLDS:
        scores = {
            loop: [r["f05"] for r in runs if r["fold"] == fold and r["loop"] == loop]
            for loop in loops
        }
        fold_summary = {
            f"{loop}_{figure}": round(float(function(values)), 4)
            for loop, values in scores.items()
            if values
            for figure, function in (("median", np.median), ("worst", np.min))
        }
        peer, own = fold_summary.get("peer_median"), fold_summary.get("inkloop_median")
        fold_summary["ratio"] = round(own / peer, 3) if peer and own else None
        variants = [loop for loop in loops if loop not in LOOPS and scores[loop]]
        for loop in variants if peer else ():  # against the same peer
            fold_summary[f"{loop}_ratio"] = round(fold_summary[f"{loop}_median"] / peer, 3)
        summary[fold] = fold_summary
    return summary


if __name__ == "__main__":
    main()
