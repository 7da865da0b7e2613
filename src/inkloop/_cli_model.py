"""`inkloop train`'s model and z-window options: the model's shape and what it reads, all
of which a checkpoint given with --init brings itself."""

from __future__ import annotations

from inkloop.compose import MODES, SCALES, Composition
from inkloop.settings import ENCODER_DEPTHS, OUTPUT_STRIDES, Z_STEM_RUN, ModelConfig

#: the model and window options, with the defaults they take when not given
MODEL_OPTIONS = {
    "z_start": None, "z_count": None, "reverse": Composition.reverse,
    "composition": Composition.mode, "mean_k": Composition.mean_k, "scale": Composition.scale,
    "encoder": ModelConfig.encoder, "z_stem": ModelConfig.z_stem,
    "output_stride": ModelConfig.output_stride, "encoder_depth": ModelConfig().encoder_depth,
}  # fmt: skip
OF_THE_STACK = ("z_start", "reverse")  # options that still apply with --init


def add_model_options(train) -> None:
    """Add the model and window options to the `train` parser."""
    train.add_argument(
        "--z-start",
        type=int,
        help="first layer of the window, a position in the stack (default: centred; with "
        "--init: the layers the model was trained on, found by their file numbers)",
    )
    train.add_argument(
        "--z-count",
        type=int,
        help="layers in the window (default 16; on a stack shallower than 24, all but 4 "
        "each side, at least half)",
    )
    # the model and window options default to None, so that one given with --init (which
    # brings its own) is refused even when it names the default: `_given` fills them
    train.add_argument(
        "--reverse",
        action="store_true",
        default=None,
        help="the layers are stored back to front (with --init: this segment's, whatever the "
        "model was trained on)",
    )
    train.add_argument(
        "--composition",
        choices=MODES,
        help=f"model channels: raw layers, means, |differences| or raw+diff (default "
        f"{Composition.mode})",
    )
    train.add_argument("--mean-k", type=int, help=f"layers per mean (default {Composition.mean_k})")
    train.add_argument(
        "--scale",
        type=int,
        choices=SCALES,
        help=f"image pixels per model pixel (2: the model sees half resolution; default "
        f"{Composition.scale})",
    )
    train.add_argument(
        "--encoder",
        metavar="NAME",
        help="the UNet's encoder: any smp encoder, or tu-<timm model>; auto (the default) is "
        "resnet18 on a GPU or a CPU with bf16, tu-resnet10t on other CPUs",
    )
    train.add_argument(
        "--z-stem",
        type=int,
        metavar="WIDTH",
        help=f"features of a z-stem before the UNet, shared over every run of {Z_STEM_RUN} "
        f"layers and pooled over z (0: none; default {ModelConfig.z_stem})",
    )
    train.add_argument(
        "--encoder-depth",
        type=int,
        choices=ENCODER_DEPTHS,
        help="encoder stages the UNet uses, each halving the resolution (default "
        f"{ModelConfig().encoder_depth}); fewer make a cheaper step",
    )
    train.add_argument(
        "--output-stride",
        type=int,
        choices=OUTPUT_STRIDES,
        help="model pixels (image pixels at full resolution) per side of each predicted logit, "
        f"upsampled bilinearly (1: a UNet to full resolution; default {ModelConfig.output_stride})",
    )


def refuse_with_init(args) -> None:
    """ValueError naming the model and window options given with --init, which brings its
    own (they would be ignored without a word)."""
    # --z-start moves the checkpoint's window and --reverse says how this stack is stored
    given = [n for n in MODEL_OPTIONS if n not in OF_THE_STACK and getattr(args, n) is not None]
    if given:
        options = ", ".join("--" + name.replace("_", "-") for name in given)
        raise ValueError(
            f"--init {args.init} brings its own model and z-window: leave out {options}"
        )


def composition(args) -> Composition:
    """The model's input as the options ask; with --init, --z-start moves the checkpoint's
    own window instead (`EngineSettings.init_z_start`)."""
    return Composition(
        _given(args, "composition"),
        None if args.init else args.z_start,
        args.z_count,
        _given(args, "mean_k"),
        _given(args, "reverse"),
        _given(args, "scale"),
    )


def model_config(args) -> ModelConfig:
    """The model as the options ask."""
    return ModelConfig(
        encoder=_given(args, "encoder"),
        z_stem=_given(args, "z_stem"),
        output_stride=_given(args, "output_stride"),
    ).with_depth(_given(args, "encoder_depth"))


def _given(args, name: str):
    value = getattr(args, name)
    return MODEL_OPTIONS[name] if value is None else value
