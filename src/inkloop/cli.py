"""The `inkloop` command: synth, train, predict, evaluate (info and check in `_cli_inspect`,
demo in `_cli_demo`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from inkloop._cli_demo import add_demo
from inkloop._cli_engine import add_engine
from inkloop._cli_inspect import add_inspect
from inkloop._cli_predict import add_predict, parse_region
from inkloop.compose import MODES, SCALES, Composition
from inkloop.io import segment_location
from inkloop.settings import Z_STEM_RUN, ModelConfig, TrainConfig
from inkloop.synthetic import INK_CONTRAST


def main(argv: list[str] | None = None) -> int:
    """Run the `inkloop` command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        status = args.run(args)
        sys.stdout.flush()  # a reader that left shows here, not as a traceback at exit
        return status
    except BrokenPipeError:  # the reader left early (`| head`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # as Python's docs do
        return 1
    except (OSError, ValueError, RuntimeError) as error:  # bad input, failed run: one line
        print(f"inkloop {args.command}: error: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inkloop", description="Human-in-the-loop ink detection for scroll segments."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_inspect(commands)

    synth = commands.add_parser("synth", help="write a synthetic segment with known ink")
    synth.add_argument("out_dir", type=Path, help="segment folder to create")
    synth.add_argument("--height", type=int, default=1024, help="pixels (default %(default)s)")
    synth.add_argument("--width", type=int, default=1024, help="pixels (default %(default)s)")
    synth.add_argument("--layers", type=int, default=65, help="(default %(default)s)")
    synth.add_argument("--seed", type=int, default=0, help="(default %(default)s)")
    synth.add_argument("--name", help="segment id used in file names (default: folder name)")
    synth.add_argument("--reverse", action="store_true", help="store the layers back to front")
    synth.add_argument("--dtype", choices=["uint16", "uint8"], default="uint16")
    synth.add_argument(
        "--compression",
        choices=["none", "zlib", "zstd", "lzw"],
        default="none",
        help="TIFF compression of the layers (real segments are mostly uncompressed)",
    )
    synth.add_argument(
        "--ink-contrast",
        type=float,
        default=INK_CONTRAST,
        help=f"ink density over papyrus (default {INK_CONTRAST}: faint, as in real scans)",
    )
    synth.add_argument(
        "--demo-strokes",
        action="store_true",
        help="save the true ink as <id>_truth.png and the demo's example strokes as the labels "
        "(how the bundled sample is made)",
    )
    synth.set_defaults(run=_synth)

    _add_train(commands)
    add_predict(commands)

    add_demo(commands)
    add_engine(commands)
    return parser


def _add_train(commands) -> None:
    train = commands.add_parser(
        "train",
        help="finetune a model on a segment's labels and write a checkpoint",
        description="Train headless; Ctrl+C stops and still writes the last good weights.",
    )
    train.add_argument("segment", type=segment_location, help="anything `inkloop info` reads")
    source = train.add_mutually_exclusive_group()
    source.add_argument(
        "--labels",
        type=Path,
        help="ink labels PNG/TIFF, 255 = ink, grey = soft "
        "(default: the segment's own *_inklabels.png)",
    )
    source.add_argument(
        "--labels-from-prediction",
        type=Path,
        metavar="PREDICTION",
        help="start from a prediction image (e.g. a community model's PNG): ink where it is "
        "at or above --prediction-threshold, no ink below, on every papyrus pixel",
    )
    train.add_argument("--prediction-threshold", type=float, default=0.5, metavar="P")
    train.add_argument(
        "--prediction-hard",
        action="store_true",
        help="label full-strength ink above the threshold (default: the probability, soft)",
    )
    train.add_argument(
        "--supervision",
        type=Path,
        help="mask of labelled pixels, 255 = labelled "
        "(default: every pixel inside the papyrus mask)",
    )
    train.add_argument("--out", type=Path, required=True, help="checkpoint file to write")
    train.add_argument("--init", type=Path, help="checkpoint to continue finetuning")
    train.add_argument(
        "--max-seconds",
        type=float,
        help="training time limit (default 300 when no --max-steps is given)",
    )
    train.add_argument("--max-steps", type=int, help="optimiser step limit")
    train.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 or mps")
    train.add_argument("--z-start", type=int, help="first layer of the window (default: centred)")
    train.add_argument(
        "--z-count",
        type=int,
        help="layers in the window (default 16; on a stack shallower than 24, all but 4 "
        "each side, at least half)",
    )
    train.add_argument("--reverse", action="store_true", help="the layers are stored back to front")
    train.add_argument(
        "--composition",
        choices=MODES,
        default="raw",
        help="model channels: raw layers, means, |differences| or raw+diff",
    )
    train.add_argument(
        "--mean-k", type=int, default=3, help="layers per mean (default %(default)s)"
    )
    train.add_argument(
        "--scale",
        type=int,
        choices=SCALES,
        default=Composition.scale,
        help="image pixels per model pixel (2: the model sees half resolution)",
    )
    train.add_argument(
        "--encoder",
        default=ModelConfig.encoder,
        metavar="NAME",
        help="the UNet's encoder: any smp encoder, or tu-<timm model>; auto (the default) is "
        "resnet18 on a GPU or a CPU with bf16, tu-resnet10t on other CPUs",
    )
    train.add_argument(
        "--z-stem",
        type=int,
        default=ModelConfig.z_stem,
        metavar="WIDTH",
        help=f"features of a z-stem before the UNet, shared over every run of {Z_STEM_RUN} "
        "layers and pooled over z (0: none; default %(default)s)",
    )
    train.add_argument(
        "--patch-size",
        type=int,
        default=TrainConfig.patch_size,
        help="model pixels, a multiple of 32 (default %(default)s)",
    )
    train.add_argument(
        "--batch-size",
        type=int,
        default=TrainConfig.batch_size,
        help="patches a step (default %(default)s)",
    )
    train.add_argument(
        "--loader-workers",
        type=int,
        metavar="N",
        help="processes that make the batches (0: one thread; default: none on a CPU, up to 4 "
        "on a GPU, as the cores allow)",
    )
    train.add_argument(
        "--lr", type=float, default=TrainConfig.lr, help="peak learning rate (default %(default)s)"
    )
    train.add_argument(
        "--validation",
        metavar="Y0:Y1,X0:X1",
        type=parse_region,
        help="hold these labels out of training and report F0.5 on them",
    )
    train.add_argument(
        "--seed",
        type=int,
        default=0,
        help="initial weights and patches drawn (default %(default)s)",
    )
    train.add_argument(
        "--cuda-graphs",
        action="store_true",
        help="record the model's forward and backward as CUDA graphs and replay them each "
        "step (a CUDA device only; experimental: fewer launches for small batches)",
    )
    train.add_argument(
        "--full-precision",
        action="store_true",
        help="train in float32 (default: mixed precision: bf16 or fp16 on a GPU, bf16 on a "
        "CPU with bf16 instructions)",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_train)


def _train(args) -> int:
    from inkloop.headless import train_to_file
    from inkloop.io import labels_from_prediction, load_labels, open_segment, rounds_path_for
    from inkloop.settings import EngineSettings

    segment = open_segment(args.segment)
    if args.labels_from_prediction is not None:
        if args.supervision is not None:
            raise ValueError("--labels-from-prediction labels all papyrus: drop --supervision")
        ink, supervised, sources = labels_from_prediction(
            segment,
            args.labels_from_prediction,
            args.prediction_threshold,
            soft=not args.prediction_hard,
        )
        labels_file, accepted = args.labels_from_prediction, int(supervised.sum())
    else:
        ink, supervised, sources = load_labels(segment, args.labels, args.supervision)
        labels_file, accepted = Path(sources["labels_file"]), 0
    rounds = rounds_path_for(labels_file)  # beside the labels, as the dock keeps them
    limited = args.max_seconds is not None or args.max_steps is not None
    max_seconds = args.max_seconds if limited else 300.0
    settings = EngineSettings(
        composition=Composition(
            args.composition, args.z_start, args.z_count, args.mean_k, args.reverse, args.scale
        ),
        model=ModelConfig(encoder=args.encoder, z_stem=args.z_stem),
        train=TrainConfig(
            patch_size=args.patch_size,
            batch_size=args.batch_size,
            loader_workers=args.loader_workers,
            cuda_graphs=args.cuda_graphs,
            lr=args.lr,
            max_steps=args.max_steps,
            max_seconds=max_seconds,
            device=args.device,
            amp=not args.full_precision,
            seed=args.seed,
        ),
        init=args.init,
        validation=args.validation,
        provenance={**sources, "rounds_file": str(rounds)},
    )
    summary = train_to_file(
        segment,
        ink,
        supervised,
        settings,
        args.out,
        rounds=rounds,
        accepted_pixels=accepted,
        progress=not args.quiet,
    )
    print(json.dumps(summary))
    return 130 if summary["interrupted"] else 0


def _synth(args) -> int:
    from inkloop.synthetic import write_segment

    if args.out_dir.is_dir() and any(args.out_dir.iterdir()):  # never mix two segments' files
        raise ValueError(f"{args.out_dir}: folder is not empty; synth writes a new segment")
    out = write_segment(
        args.out_dir,
        args.height,
        args.width,
        args.layers,
        args.seed,
        name=args.name,
        reverse=args.reverse,
        dtype=args.dtype,
        compression=None if args.compression == "none" else args.compression,
        ink_contrast=args.ink_contrast,
        truth_as_labels=not args.demo_strokes,
    )
    if args.demo_strokes:
        from inkloop.demo import write_demo_labels

        write_demo_labels(out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
