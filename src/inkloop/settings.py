"""What a run is set up with: model, training, augmentations and engine settings.

Plain frozen dataclasses without torch, so the napari process can hold and edit them (it never
imports torch: docs/architecture §3). Building a model, trainer or predictor from them is the
engine's and the trainer's job. ``to_dict``/``from_dict`` write them into checkpoints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from inkloop.compose import Z_MARGIN, Composition

# Prediction tiles of TILE model pixels overlap by OVERLAP: a stride of 512 fits large segments
# with 13% extra pixels, and blends without seams.
TILE, OVERLAP = 544, 32
# Image pixels per side of a whole-segment block: 4 tiles of a half-resolution model, so the
# engine, which applies commands between blocks, keeps each wait to a few seconds on a CPU.
BLOCK = 2048
# Patches per training step when the config leaves it to the device (`batch_size_for`).
CPU_BATCH, CUDA_BATCH = 8, 32


#: layers in each run the z-stem reads (`inkloop.zstem`)
Z_STEM_RUN = 3
#: the encoder name that lets the device choose (`inkloop.model.default_encoder`)
AUTO_ENCODER = "auto"
#: light encoders the Model panel offers; any other smp encoder or tu-<timm model> may be typed
LIGHT_ENCODERS = ("resnet18", "tu-resnet10t", "resnet34", "efficientnet-b0", "mobilenet_v2")
#: output strides the CLI and the Model panel offer (`ModelConfig.output_stride`)
OUTPUT_STRIDES = (1, 2, 4, 8)
#: encoder stages the CLI and the Model panel offer (`ModelConfig.with_depth`); three lost on
#: real CT (docs/quality.md, "A shallower encoder") and rule out an output stride of 8
ENCODER_DEPTHS = (4, 5)
#: the UNet decoder's width after each encoder stage at the deepest the CLI offers, deepest
#: first; a shallower model has the last of them (`ModelConfig.with_depth`)
DECODER_WIDTHS = (128, 64, 32, 16, 16)


@dataclass(frozen=True)
class ModelConfig:
    """An smp UNet: encoder, decoder widths, input channels. Always random init (no network).

    ``z_stem`` > 0 puts a z-stem of that many features before the UNet (`inkloop.zstem`):
    shared features of every run of ``Z_STEM_RUN`` layers, pooled over z. It needs z-ordered
    channels, so a ``raw+diff`` composition or fewer than ``Z_STEM_RUN`` channels go without.
    The default encoder, ``auto``, is resnet18 on a GPU or a CPU with native bf16 and the
    lighter tu-resnet10t on other CPUs (`inkloop.model.default_encoder`); with the slim decoder
    the one it picks predicts a 1024² viewport in under a second on two CPU cores (README).

    ``decoder_channels`` has a width per encoder stage, as in smp: four by default, so the
    encoder stops at 1/16 resolution (`with_depth`; resnet18's fifth stage holds two thirds of
    its weights and, on two CPU cores, 40% of a step; older checkpoints have five, and load
    with them). ``output_stride`` > 1 leaves out the last
    log2(``output_stride``) decoder blocks and upsamples the logits of the last one kept
    (`inkloop.coarse`): 4 by default, 1 in checkpoints from before it.
    """

    encoder: str = AUTO_ENCODER
    decoder_channels: tuple[int, ...] = DECODER_WIDTHS[1:]  # depth 4
    in_channels: int = 16
    z_stem: int = 0
    output_stride: int = 4

    def __post_init__(self) -> None:
        stride = self.output_stride
        if stride < 1 or stride & (stride - 1) or stride >= 2 ** len(self.decoder_channels):
            raise ValueError(
                f"the output stride is a power of two below 2^{len(self.decoder_channels)} "
                f"(one decoder block kept at least), not {stride}"
            )
        if self.z_stem < 0:
            raise ValueError("the z-stem's width is a count of features: 0 (none) or more")
        if self.z_stem and self.in_channels < Z_STEM_RUN:
            raise ValueError(
                f"the z-stem reads runs of {Z_STEM_RUN} layers; this model has "
                f"{self.in_channels} input channels"
            )

    @property
    def decoder_blocks(self) -> int:
        """The decoder blocks the model runs: one per encoder stage, less one per halving of
        the output's resolution."""
        return len(self.decoder_channels) - (self.output_stride.bit_length() - 1)

    @property
    def encoder_depth(self) -> int:
        """The encoder stages the UNet uses (smp's ``encoder_depth``): one per decoder width."""
        return len(self.decoder_channels)

    def with_depth(self, depth: int, output_stride: int | None = None) -> ModelConfig:
        """This config with ``depth`` encoder stages and the `DECODER_WIDTHS` that go with
        them (its own widths where it has that depth already), and ``output_stride`` if given:
        both at once, as a stride may fit one depth only (16 needs five stages)."""
        if not 1 <= depth <= len(DECODER_WIDTHS):
            raise ValueError(f"the encoder depth is 1 to {len(DECODER_WIDTHS)}, not {depth}")
        widths = DECODER_WIDTHS[len(DECODER_WIDTHS) - depth :]
        return replace(
            self,
            decoder_channels=self.decoder_channels if depth == self.encoder_depth else widths,
            output_stride=self.output_stride if output_stride is None else output_stride,
        )

    def to_dict(self) -> dict:
        return {**asdict(self), "decoder_channels": list(self.decoder_channels)}

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        return cls(
            data["encoder"],
            tuple(data["decoder_channels"]),
            int(data["in_channels"]),
            int(data.get("z_stem", 0)),  # checkpoints from before the z-stem have none
            int(data.get("output_stride", 1)),  # those from before the coarse output: 1
        )


@dataclass(frozen=True)
class Augmentations:
    """Each augmentation is off at 0 / False. Probabilities are per sample."""

    flips: bool = True
    rot90: bool = True
    brightness_contrast: float = 0.2  # max relative change of gain and offset
    blur: float = 0.2  # probability of a Gaussian blur (sigma 0.5-1.5 px)
    noise: float = 0.04  # max std of Gaussian noise (inputs are 0..1), added to half the samples
    dropout: float = 0.3  # probability of blanking 1-3 rectangles of 1/8-1/4 of the patch
    z_jitter: int = Z_MARGIN  # layers the z-window may shift each way
    order_jitter: float = 0.1  # probability per layer of swapping with its neighbour
    reversal: float = 0.0  # probability of reading the stack back to front

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Augmentations:
        return cls(**_known(cls, data))


NO_AUGMENTATION = Augmentations(  # every field at False / 0
    **{field.name: type(field.default)() for field in fields(Augmentations)}
)


@dataclass(frozen=True)
class TrainConfig:
    """How to train. ``max_steps``/``max_seconds`` end a run (None: until stopped); the cosine
    schedule follows whichever limit is nearer and falls back to constant without one."""

    # model pixels (x Composition.scale image pixels); small batches of small patches make
    # the most optimiser steps per CPU second, which is what a short budget needs (docs/quality.md)
    patch_size: int = 64
    batch_size: int | None = None  # None: by the device (`batch_size_for`)
    lr: float = 1e-3
    weight_decay: float = 1e-2
    warmup_steps: int = 30
    schedule: str = "cosine"  # or "constant"
    max_steps: int | None = None
    max_seconds: float | None = None
    label_smoothing: float = 0.2
    dice_weight: float = 1.0
    ink_share: float = 0.5
    # predictions use an average of the weights: 0.99 ~ the last 100 steps, 0 = the last step
    ema: float = 0.99
    augment: Augmentations = field(default_factory=Augmentations)
    device: str = "auto"
    amp: bool = True  # mixed precision where the hardware has it (`inkloop.model.autocast`)
    threads: int | None = None  # torch CPU threads; leave a core free when a GUI is live
    loader_threads: int = 1
    # batch worker processes, None: `inkloop.train.auto_workers` (none on a CPU, some on a GPU)
    loader_workers: int | None = None
    # the model's forward and backward as CUDA graphs (a CUDA device only; not yet measured)
    cuda_graphs: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.patch_size < 32 or self.patch_size % 32:
            raise ValueError(f"patch size {self.patch_size} must be a multiple of 32 (32, 64, …)")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch size {self.batch_size} must be at least 1")
        if not self.lr > 0:
            raise ValueError(f"learning rate {self.lr} must be above 0")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"step limit {self.max_steps} must be at least 1 (or none)")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ValueError(f"time limit {self.max_seconds} s must be above 0 (or none)")
        if not 0 <= self.ema < 1:
            raise ValueError(f"weight average decay {self.ema} must be in 0..1 (0 turns it off)")
        if self.loader_workers is not None and self.loader_workers < 0:
            raise ValueError(f"loader workers {self.loader_workers} must be 0 or more (or none)")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"unknown schedule {self.schedule!r}: use cosine or constant")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        augment = Augmentations.from_dict(data.get("augment", {}))
        return cls(**{**_known(cls, data), "augment": augment})

    def with_recipe_of(self, trained: TrainConfig) -> TrainConfig:
        """``trained``'s recipe (patch size, rate, batch, seed, loss, augmentations, ...) with
        this config's budget and machine settings (`RUN_ONLY`): a continued run's config."""
        return replace(trained, **{name: getattr(self, name) for name in RUN_ONLY})

    def recipe_changes(self) -> dict:
        """The recipe's fields (not `RUN_ONLY`) that are not the defaults, an augmentation's
        named ``augment.<name>``."""
        plain, changes = TrainConfig(), {}
        for name, value in vars(self).items():
            if name == "augment":
                changes |= {f"augment.{key}": setting for key, setting in vars(value).items()
                            if setting != getattr(plain.augment, key)}  # fmt: skip
            elif name not in RUN_ONLY and value != getattr(plain, name):
                changes[name] = value
        return changes


def recipe_words(changes: dict) -> str:
    """Recipe fields and values (`TrainConfig.recipe_changes`) as a user reads them:
    "patch size 96, lr 0.0003, batch size auto"."""
    return ", ".join(
        f"{name.replace('_', ' ')} {'auto' if value is None else value}"
        for name, value in changes.items()
    )


#: TrainConfig fields that are a run's budget or its machine's, not the recipe a checkpoint
#: hands on to a run continuing it (`TrainConfig.with_recipe_of`)
RUN_ONLY = ("max_steps", "max_seconds", "device", "amp", "threads", "loader_threads",
            "loader_workers", "cuda_graphs")  # fmt: skip


@dataclass(frozen=True)
class EngineSettings:
    """Everything a session needs besides the segment and the labels.

    With ``init`` (a checkpoint path) the model, composition and normalisation percentiles
    come from the checkpoint and ``composition``/``model`` are ignored; the checkpoint's
    window reads the layers it was trained on, or starts at ``init_z_start`` of this stack
    (`inkloop.predict.model_window`).
    """

    composition: Composition = field(default_factory=Composition)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    init: Path | None = None
    init_z_start: int | None = None
    validation: tuple[int, int, int, int] | None = None  # y0, x0, y1, x1: scored, never trained on
    validate_every: int = 50  # steps
    autosave: Path | None = None  # checkpoint written every `autosave_every` s and at the end
    autosave_every: float = 120.0
    provenance: dict = field(default_factory=dict)  # extra facts for the checkpoint
    tile: int = TILE  # prediction tile size in pixels (see Predictor)
    # the most of the engine's time a preview takes from running training (see PreviewSchedule)
    preview_share: float = 0.15
    # pixels per side of a whole-segment prediction's blocks: commands wait for one at most
    block: int = BLOCK


def batch_size_for(device: str) -> int:
    """Patches per step for a ``device`` type ("cpu", "cuda", …) when the config says None.

    A CPU step costs in proportion to its patches, so small batches make the most steps per
    second. A CUDA step of this small model costs the same at 8 patches as at 32 (launch-bound:
    docs/gpu_check_20261204.json), so 32 learns more per second: on the real-CT protocol, the
    ~800 steps an H200 makes in 30 s reach median F0.5 0.44 and 0.60 at 32 against 0.35 and
    0.53 at 8 (docs/quality.md, "What a GPU's 30 s buys, screened on the CPU"). MPS is
    unmeasured and keeps the CPU's.
    """
    return CUDA_BATCH if device.split(":")[0] == "cuda" else CPU_BATCH


def _known(cls, data: dict) -> dict:
    """The entries of ``data`` that ``cls`` has fields for (a newer inkloop may add some)."""
    names = {f.name for f in fields(cls)}
    return {key: value for key, value in data.items() if key in names}
