"""The lightweight smp UNet and its checkpoints (weights + everything needed to predict)."""

from __future__ import annotations

import contextlib
import difflib
import functools
import os
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from inkloop.compose import Composition, Normalisation
from inkloop.io import atomic_path
from inkloop.settings import AUTO_ENCODER, Z_STEM_RUN, ModelConfig, TrainConfig

CHECKPOINT_FORMAT = "inkloop-checkpoint"
CHECKPOINT_VERSION = 1


def build_model(config: ModelConfig, device="cpu"):
    """A randomly initialised smp UNet with one output channel (ink logits) at
    ``config.output_stride`` (`inkloop.coarse`), behind a z-stem when ``config.z_stem`` asks
    for one; an ``auto`` encoder is the one `default_encoder` picks for ``device``."""
    import segmentation_models_pytorch as smp

    from inkloop.coarse import coarsen_output
    from inkloop.shallow import drop_unused_stages

    config = resolve_encoder(config, device)
    check_encoder(config.encoder)
    in_channels = 2 * config.z_stem if config.z_stem else config.in_channels
    unet = smp.Unet(
        encoder_name=config.encoder,
        encoder_weights=None,
        encoder_depth=config.encoder_depth,
        decoder_channels=list(config.decoder_channels),
        in_channels=in_channels,
        classes=1,
    )
    drop_unused_stages(unet.encoder, in_channels, config.encoder_depth)
    unet = coarsen_output(unet, config)
    if not config.z_stem:
        return unet
    from inkloop.zstem import ZStem, ZStemUnet

    return ZStemUnet(ZStem(config.z_stem, Z_STEM_RUN), unet)


def model_for(
    composition: Composition,
    model_config: ModelConfig | None,
    init: Checkpoint | None,
    device="cpu",
):
    """The config and model that read ``composition``: ``init``'s (a Checkpoint) when given,
    else a new one of ``model_config`` (default: the default model) with its input channels
    (and without a z-stem where the channels are not z-ordered layers), its encoder resolved
    for ``device`` so that checkpoints name the one they hold."""
    channels = composition.in_channels
    if init is not None:
        if init.model.in_channels != channels:
            raise ValueError(
                f"the initial model reads {init.model.in_channels} channels but this "
                f"composition makes {channels}; use the checkpoint's composition"
            )
        return init.model, init.build()
    config = model_config or ModelConfig()
    z_ordered = composition.mode != "raw+diff" and channels >= Z_STEM_RUN
    config = replace(config, in_channels=channels, z_stem=config.z_stem if z_ordered else 0)
    config = resolve_encoder(config, device)
    return config, build_model(config)


def default_encoder(device="cpu") -> str:
    """The encoder an ``auto`` model gets on ``device`` (a torch.device or its name).

    resnet18 where a training step is cheap: a GPU, or a CPU with native bf16. On other CPUs
    (AVX2 only) a resnet18 step takes ~5x longer, and tu-resnet10t (half the weights, a
    narrower stem) learns more per second: on the real-CT protocol at 300 s, median F0.5
    0.43 and 0.61 against 0.31 and 0.45, and a 1024² viewport in 0.76 s against 1.09 s
    (docs/quality.md, "A lighter encoder where steps are dear").
    """
    kind = device if isinstance(device, str) else device.type
    if kind.split(":")[0] == "cpu" and not cpu_has_bf16():
        return "tu-resnet10t"
    return "resnet18"


def resolve_encoder(config: ModelConfig, device="cpu") -> ModelConfig:
    """``config`` with an ``auto`` encoder replaced by `default_encoder` for ``device``."""
    if config.encoder != AUTO_ENCODER:
        return config
    return replace(config, encoder=default_encoder(device))


def check_encoder(name: str) -> None:
    """smp encoders by name, any timm model as ``tu-<name>``, or ``auto``; a ValueError that
    suggests the nearest names otherwise."""
    import segmentation_models_pytorch as smp
    import timm

    smp_names = smp.encoders.get_encoder_names()
    if name == AUTO_ENCODER or name in smp_names:
        return
    if name.startswith("tu-") and timm.is_model(name[3:]):
        return
    known = [*smp_names, *(f"tu-{model}" for model in timm.list_models())]
    close = difflib.get_close_matches(name, known, n=4, cutoff=0.6)
    if not name.startswith("tu-") and timm.is_model(name):
        close = [f"tu-{name}"]  # a timm model, named without the prefix smp wants
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise ValueError(f"unknown encoder {name!r}; {hint}(any smp encoder, or tu-<timm model>)")


def pick_device(name: str = "auto"):
    """torch.device for ``auto`` (CUDA, then MPS, then CPU) or an explicit name."""
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:  # torch's message lists every backend it was ever built for
        raise ValueError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but torch sees no CUDA GPU here")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("--device mps asked for, but this torch has no MPS support here")
    return device


@contextlib.contextmanager
def all_cores():
    """torch on every CPU core for a moment: the engine otherwise leaves one to a GUI, but a
    user who just clicked or panned waits for the next tile while the GUI idles."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(before, os.cpu_count() or 1))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def mixed_precision(device, enabled: bool = True):
    """The autocast dtype on ``device``: on CUDA bf16 where the GPU has it, else fp16; on a CPU
    bf16 where it computes bf16 natively (`cpu_has_bf16`); None (float32) elsewhere."""
    import torch

    if enabled and device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if enabled and device.type == "cpu" and cpu_has_bf16():
        return torch.bfloat16
    return None


def autocast(device, enabled: bool = True):
    """Mixed precision in `mixed_precision`'s dtype; a no-op where that is float32."""
    import torch

    dtype = mixed_precision(device, enabled)
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether this CPU has bf16 instructions (AVX512-BF16 or AMX; read from Linux's
    /proc/cpuinfo, as torch has no public test). There a training step of the default model
    takes ~20% less time in bf16 (8 x 64², 2 cores: 65 against 82 ms); without them torch
    emulates bf16, twelve times slower (an AVX2-only AMD EPYC: 4.8 s against 0.41 s)."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return re.search(r"^flags\b.*\b(avx512_bf16|amx_bf16)\b", cpuinfo, re.MULTILINE) is not None


@dataclass(frozen=True)
class Checkpoint:
    """Weights with the full recipe to predict: composition, normalisation, patch size, model;
    and how they were trained (``train``: the TrainConfig, None in checkpoints from before
    inkloop recorded it).

    ``normalisation`` is the range measured on the training segment (prediction on another
    segment measures its own with the same percentiles); ``provenance`` summarises the labels.
    """

    model: ModelConfig
    composition: Composition
    normalisation: Normalisation
    patch_size: int
    step: int
    state_dict: dict = field(repr=False)
    provenance: dict = field(default_factory=dict)
    train: TrainConfig | None = None
    logit_offset: float = 0.0  # subtracted from the logits: see Trainer.logit_offset
    layers: tuple[int, ...] = ()  # file numbers of the window's layers (`model_window`)

    def build(self):
        """The model with these weights, in eval mode, on the CPU."""
        model = build_model(self.model)
        model.load_state_dict(self.state_dict)
        return model.eval()


def save_checkpoint(path: str | Path, checkpoint: Checkpoint) -> Path:
    """Write the checkpoint as one file, atomically (a crash never leaves half a file)."""
    import torch

    path = Path(path).expanduser()
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "saved": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "model": checkpoint.model.to_dict(),
        "composition": checkpoint.composition.to_dict(),
        "normalisation": checkpoint.normalisation.to_dict(),
        "patch_size": checkpoint.patch_size,
        "step": checkpoint.step,
        "provenance": checkpoint.provenance,
        "train": None if checkpoint.train is None else checkpoint.train.to_dict(),
        "logit_offset": checkpoint.logit_offset,
        "layers": list(checkpoint.layers),
        "state_dict": {k: v.detach().cpu() for k, v in checkpoint.state_dict.items()},
    }
    with atomic_path(path) as temp, open(temp, "wb") as stream:
        torch.save(payload, stream)
    return path


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint written by `save_checkpoint` (weights only: no code is unpickled)."""
    import torch

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        # torch's own message is a pickle opcode or a page of advice: say what it means
        problem = (
            "it holds pickled objects, which inkloop never loads"
            if "Unsupported global" in str(error)
            else "not a PyTorch file, or cut short"
        )
        raise ValueError(f"{path}: not a readable inkloop checkpoint ({problem})") from error
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not an inkloop checkpoint")
    if payload["version"] > CHECKPOINT_VERSION:
        raise ValueError(f"{path}: checkpoint version {payload['version']} is newer than inkloop")
    return Checkpoint(
        model=ModelConfig.from_dict(payload["model"]),
        # checkpoints from before `scale` existed were trained at full resolution
        composition=Composition(**{"scale": 1, **payload["composition"]}),
        normalisation=Normalisation.from_dict(payload["normalisation"]),
        patch_size=int(payload["patch_size"]),
        step=int(payload["step"]),
        state_dict=payload["state_dict"],
        provenance=payload["provenance"],
        train=TrainConfig.from_dict(payload["train"]) if payload.get("train") else None,
        logit_offset=float(payload.get("logit_offset", 0.0)),  # 0 before calibration existed
        layers=tuple(int(n) for n in payload.get("layers", ())),  # () before they were kept
    )


def describe_checkpoint(path: str | Path) -> dict:
    """What a checkpoint holds, JSON-ready (for `inkloop info MODEL.pt`)."""
    checkpoint = load_checkpoint(path)
    parameters = sum(int(tensor.numel()) for tensor in checkpoint.state_dict.values())
    return {
        "path": str(Path(path).expanduser()),
        "step": checkpoint.step,
        "model": {**checkpoint.model.to_dict(), "parameters": parameters},
        "composition": checkpoint.composition.to_dict(),
        "normalisation": checkpoint.normalisation.to_dict(),
        "patch_size": checkpoint.patch_size,
        "logit_offset": checkpoint.logit_offset,
        "layers": list(checkpoint.layers),
        "train": None if checkpoint.train is None else checkpoint.train.to_dict(),
        "provenance": checkpoint.provenance,
        "round": _round_of(checkpoint.provenance),
    }


def _round_of(provenance: dict) -> dict | None:
    """The recorded round whose labels this checkpoint was trained on (the latest of them)."""
    from inkloop.rounds import read_rounds

    labels_hash = provenance.get("labels", {}).get("hash")
    if not labels_hash or not provenance.get("rounds_file"):
        return None
    rounds = [r for r in read_rounds(provenance["rounds_file"]) if r.labels_hash == labels_hash]
    return rounds[-1].to_dict() if rounds else None
