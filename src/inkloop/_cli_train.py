"""`inkloop train`: finetune a model on a segment's labels, headless, into a checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

from inkloop._cli_model import add_model_options, composition, model_config, refuse_with_init
from inkloop._cli_train_held_out import (
    held_out_region,
    held_out_with_init,
    held_out_words,
    own_labels,
    validation_option,
)
from inkloop._cli_train_labels import THRESHOLD, train_labels
from inkloop.io import segment_location
from inkloop.settings import (
    CPU_BATCH,
    CUDA_BATCH,
    RUN_ONLY,
    EngineSettings,
    TrainConfig,
    recipe_words,
)

CHECKPOINTS = "with --init, the checkpoint's"  # the recipe options' default when continuing
RECIPE_OPTIONS = ("patch_size", "batch_size", "lr", "seed")  # TrainConfig fields, None: not given


def add_train(commands) -> None:
    """Add the `train` sub-command to the `inkloop` parser."""
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
    train.add_argument(
        "--prediction-threshold",
        type=float,
        metavar="P",
        help=f"probability (0..1) from which a prediction pixel is ink (default {THRESHOLD})",
    )
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
    train.add_argument(
        "--out",
        type=Path,
        required=True,
        help=f"checkpoint file to write: every {EngineSettings.autosave_every / 60:g} minutes "
        "while training and at the end, so that a run killed part way leaves its last "
        "weights, which --init OUT --out OUT continues",
    )
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="replace --out if it exists (not needed when --out is the --init checkpoint); "
        "the model there is kept beside it (model.saved-<its date>.pt for model.pt) as "
        "the run first saves",
    )
    train.add_argument(
        "--init",
        type=Path,
        help="checkpoint to continue finetuning, with its training recipe (patch size, learning "
        "rate, batch size, seed, loss, augmentations) unless an option says otherwise; the "
        "optimiser's moments and the learning-rate schedule start again, warm-up included, "
        "and the run draws new patches",
    )
    train.add_argument(
        "--max-seconds",
        type=float,
        help="limit on the seconds spent in training steps (default 300 when no --max-steps "
        "is given; with both, whichever comes first); start-up, validation (every "
        f"{EngineSettings.validate_every} steps) and the final save come on top",
    )
    train.add_argument("--max-steps", type=int, help="optimiser step limit")
    train.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 or mps")
    add_model_options(train)
    train.add_argument(
        "--patch-size",
        type=int,
        help=f"model pixels, a multiple of 32 (default {TrainConfig.patch_size}; {CHECKPOINTS})",
    )
    train.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help=f"patches a step (default: {CUDA_BATCH} on a CUDA GPU, {CPU_BATCH} elsewhere; "
        f"{CHECKPOINTS})",
    )
    train.add_argument(
        "--loader-workers",
        type=int,
        metavar="N",
        help="processes that make the batches (0: one thread; default: none on a CPU, up to 4 "
        "on a GPU, as the cores allow)",
    )
    train.add_argument(
        "--lr", type=float, help=f"peak learning rate (default {TrainConfig.lr}; {CHECKPOINTS})"
    )
    train.add_argument(
        "--validation",
        metavar="Y0:Y1,X0:X1",
        type=validation_option,
        help="hold these labels out of training and report F0.5 on them (default: the "
        "validation region the dock keeps for the segment, if any; none: hold nothing out)",
    )
    train.add_argument(
        "--seed",
        type=int,
        help=f"initial weights and patches drawn (default {TrainConfig.seed}; {CHECKPOINTS})",
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
    from inkloop._headless_train import continue_or_overwrite, with_mask_decoded
    from inkloop._overwrite import check_out
    from inkloop.checkpoint import load_checkpoint
    from inkloop.headless import continues_in_place, train_to_file
    from inkloop.io import open_segment

    _absolute_paths(args)
    _refuse_prediction_options(args)
    if args.init is not None:
        refuse_with_init(args)
    segment = open_segment(args.segment)
    continuing = continues_in_place(args.init, args.out)
    read = ("labels", "supervision", "labels_from_prediction", "init")
    inputs = {"--" + name.replace("_", "-"): getattr(args, name) for name in read}
    # now, with every file the run reads, not after the labels are loaded
    overwrite = args.overwrite or continuing
    check_out(
        args.out, [segment], inputs, overwrite=overwrite, way_on=continue_or_overwrite(args.out)
    )
    # read before the labels are decoded (seconds for a large segment): refused at once
    init = None if args.init is None else load_checkpoint(args.init)
    args.validation = held_out_region(args.validation, segment, own_labels(args, segment))
    segment = with_mask_decoded(segment)  # once: the labels and the engine take it
    ink, supervised, sources, rounds, accepted = train_labels(args, segment)
    held = held_out_with_init(args, segment, init, rounds)
    summary = train_to_file(
        segment,
        ink,
        supervised,
        _settings(args, {**sources, "rounds_file": str(rounds)}, init),
        args.out,
        rounds=rounds,
        accepted_pixels=accepted,
        progress=not args.quiet,
        overwrite=args.overwrite,
    )
    if "validation" in summary:  # scored: on labels held out of all its training, or not
        summary["validation"]["held_out"] = held_out_words(args.validation, held)
    print(json.dumps(summary))
    return 130 if summary["interrupted"] else 0


def _refuse_prediction_options(args) -> None:
    """ValueError naming the options that only shape labels from a prediction, given without
    one (they would be ignored without a word)."""
    given = {"--prediction-threshold": args.prediction_threshold is not None,
             "--prediction-hard": args.prediction_hard}  # fmt: skip
    named = [option for option, set_ in given.items() if set_]
    if named and args.labels_from_prediction is None:
        raise ValueError(f"{', '.join(named)}: only with --labels-from-prediction")


def _settings(args, provenance: dict, init):
    """The engine's settings from the options (``init``: the --init Checkpoint, read)."""
    from inkloop.settings import EngineSettings

    return EngineSettings(
        composition=composition(args),
        model=model_config(args),
        train=_train_config(args, init),
        init=args.init,
        init_z_start=args.z_start if args.init else None,  # moves the model's own window
        validation=args.validation,
        provenance=provenance,
    )


def _train_config(args, init) -> TrainConfig:
    """The options' TrainConfig; with the --init Checkpoint ``init``, its recipe where no
    option is given (said in one line where it is not the plain defaults)."""
    from dataclasses import replace

    from inkloop._notify import notify

    given = {k: v for k, v in vars(args).items() if k in RECIPE_OPTIONS and v is not None}
    limited = args.max_seconds is not None or args.max_steps is not None
    config = TrainConfig(
        loader_workers=args.loader_workers,
        cuda_graphs=args.cuda_graphs,
        max_steps=args.max_steps,
        max_seconds=args.max_seconds if limited else 300.0,
        device=args.device,
        amp=not args.full_precision,
        **given,
    )
    if init is None:
        return config
    recipe = init.recipe
    taken = {k: v for k, v in recipe.recipe_changes().items() if k not in given}
    said = [f"continuing with its training recipe: {recipe_words(taken)}"] if taken else []
    if init.train is None and (defaults := _unrecorded_recipe(given)):
        older = (
            "its checkpoint, from before inkloop recorded training recipes, records only its "
            "patch size"
        )
        said.append(f"{older}: {defaults} are today's defaults")
    if said:
        notify(f"--init {args.init.name}: {'; '.join(said)}")
    return config.with_recipe_of(replace(recipe, **given))


def _unrecorded_recipe(given: dict) -> str:
    """The recipe settings an --init checkpoint from before `Checkpoint.train` lacks (all but
    its patch size) that no option in ``given`` sets, as a user reads them."""
    from dataclasses import fields

    kept = (*RUN_ONLY, "patch_size", *given)
    names = [f.name for f in fields(TrainConfig) if f.name not in kept]
    return ", ".join("augmentations" if n == "augment" else n.replace("_", " ") for n in names)


def more_segments_error(segment, more: list[str]) -> str:
    """What `inkloop train` says of the segments ``more`` given after ``segment``."""
    first = getattr(segment, "name", segment)
    return (
        f"one segment a run, not {1 + len(more)} ({first}, {', '.join(more)}): to train on "
        f"several, train on {first}, then continue segment by segment with --init, e.g. "
        f"inkloop train {more[0]} --init <the first run's --out> --out <a new model>.pt"
    )


def _absolute_paths(args) -> None:
    """The paths given, made absolute: the checkpoint and its round record them, and
    `inkloop info` run from another folder must still find them."""
    for name in ("segment", "labels", "labels_from_prediction", "supervision", "out", "init"):
        value = getattr(args, name)
        if isinstance(value, Path):  # not a segment's URL
            setattr(args, name, value.expanduser().absolute())
