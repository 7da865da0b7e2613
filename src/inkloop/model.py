"""The lightweight smp UNet: building it, the device it runs on, its precision.

Its checkpoints live in `inkloop.checkpoint`."""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from inkloop.compose import Composition
from inkloop.settings import AUTO_ENCODER, Z_STEM_RUN, ModelConfig

if TYPE_CHECKING:
    from inkloop.checkpoint import Checkpoint


class ModelSettingsError(ValueError):
    """Model settings that cannot build or train a model here: an encoder smp does not know or
    cannot make a UNet of, CUDA graphs off a CUDA device."""


def build_model(config: ModelConfig, device="cpu"):
    """A randomly initialised smp UNet with one output channel (ink logits) at
    ``config.output_stride`` (`inkloop.coarse`), behind a z-stem when ``config.z_stem`` asks
    for one; an ``auto`` encoder is the one `default_encoder` picks for ``device``."""
    import segmentation_models_pytorch as smp

    from inkloop.coarse import coarsen_output
    from inkloop.shallow import drop_unused_stages

    config = resolve_encoder(config, device)
    in_channels = 2 * config.z_stem if config.z_stem else config.in_channels
    check_encoder(config.encoder, depth=config.encoder_depth, in_channels=in_channels)
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
    (AVX2 only) tu-resnet10t (half the weights, a narrower stem) learns more per second: on
    the real-CT protocol it won every 60 s pair by 0.10-0.16 at four stages, and at 300 s
    resnet18 gained one fold and lost the other (docs/quality.md, "A lighter encoder where
    steps are dear" and "resnet18 again on the AVX2 kind").
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


def check_encoder(
    name: str,
    *,
    depth: int = ModelConfig().encoder_depth,
    in_channels: int = ModelConfig.in_channels,
) -> None:
    """smp encoders by name, any timm model smp can make a UNet of ``depth`` stages of as
    ``tu-<name>``, or ``auto``; a ModelSettingsError that suggests the nearest names, or says
    why the timm model cannot be a UNet's, otherwise."""
    import segmentation_models_pytorch as smp
    import timm

    smp_names = smp.encoders.get_encoder_names()
    if name == AUTO_ENCODER or name in smp_names:
        return
    if name.startswith("tu-") and timm.is_model(name[3:]):
        _check_pyramid(name, depth, in_channels)
        return
    if not name.startswith("tu-") and timm.is_model(name):
        close = [f"tu-{name}"]  # a timm model, named without the prefix smp wants
    else:
        known = [*smp_names, *(f"tu-{model}" for model in timm.list_models())]
        close = difflib.get_close_matches(name, known, n=4, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise ModelSettingsError(
        f"unknown encoder {name!r}; {hint}(any smp encoder, or tu-<timm model>)"
    )


@functools.cache  # per process: a model is built again for every prediction
def _check_pyramid(name: str, depth: int, in_channels: int) -> None:
    """ModelSettingsError if smp cannot make a UNet of ``depth`` stages of the timm encoder
    ``name``, found as `build_model` would find it: the encoder built, then run as
    `drop_unused_stages` runs it. On the meta device, which computes shapes only: no memory,
    a tenth of a second; what fails there fails on a real device too (every timm family
    tried, all of whose failures were the shapes')."""
    import segmentation_models_pytorch as smp
    import torch

    from inkloop.shallow import drop_unused_stages

    try:
        with torch.device("meta"):
            encoder = smp.encoders.get_encoder(
                name, in_channels=in_channels, depth=depth, weights=None
            )
            drop_unused_stages(encoder, in_channels, depth)
    except NotImplementedError:  # (a RuntimeError) an op the meta device lacks: the probe's
        return  # limit, not the encoder's; the real build, which follows, tells
    except ValueError as error:  # smp: "Unsupported model downsampling pattern."
        why = f"it has no feature pyramid of stages at scales 2, 4, 8... (smp: {error})"
    except IndexError:  # timm: a feature stage past its last asked for (NesT has three)
        why = f"it has fewer than the {depth} feature stages of a UNet of depth {depth}"
    except (AssertionError, RuntimeError) as error:
        # timm asserts the one input size it takes (Swin, NesT) or sizes its windows divide
        # (MaxViT), and tables of a fixed size fail to broadcast (CoAtNet, Hiera): a UNet is
        # fed patches of any size
        why = f"it takes only some input sizes ({error})"
    else:
        return
    raise ModelSettingsError(
        f"encoder {name!r} cannot be a UNet's: {why}; use a convolutional one, e.g. tu-resnet10t"
    )


def check_cuda_graphs(device) -> None:
    """ModelSettingsError unless ``device`` (a torch.device) is a CUDA GPU: CUDA graphs need
    one."""
    if device.type != "cuda":
        raise ModelSettingsError(f"CUDA graphs need a CUDA device; this trains on {device}")


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
        raise ValueError(f"device {name!r} asked for, but torch sees no CUDA GPU here")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise ValueError(f"device {name!r} asked for, but torch sees {count} CUDA GPU(s) here")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r} asked for, but this torch has no MPS support here")
    return device


def mixed_precision(device, enabled: bool = True):
    """The autocast dtype on ``device``: on CUDA bf16 where the GPU computes it natively
    (`cuda_has_bf16`), else fp16; on a CPU bf16 where it computes bf16 natively
    (`cpu_has_bf16`); None (float32) elsewhere."""
    import torch

    if enabled and device.type == "cuda":
        return torch.bfloat16 if cuda_has_bf16(device) else torch.float16
    if enabled and device.type == "cpu" and cpu_has_bf16():
        return torch.bfloat16
    return None


def autocast(device, enabled: bool = True):
    """Mixed precision in `mixed_precision`'s dtype; a no-op where that is float32."""
    import torch

    dtype = mixed_precision(device, enabled)
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def cuda_has_bf16(device) -> bool:
    """Whether the CUDA GPU ``device`` has bf16 instructions: compute capability 8.0 (Ampere)
    and up, or any ROCm GPU. torch's ``is_bf16_supported`` also says yes for older GPUs (T4,
    V100) that only emulate it, and asks about the current GPU rather than ``device``."""
    import torch

    return bool(torch.version.hip) or torch.cuda.get_device_capability(device) >= (8, 0)


BF16_CPU_PROBES = ("avx512_bf16", "amx_tile")  # torch.cpu._is_<kind>_supported


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether this CPU has bf16 instructions (AVX512-BF16 or AMX), as torch's own CPU probe
    says on any OS; from Linux's /proc/cpuinfo where a torch lacks that (private) probe. There
    a training step of the default model takes ~20% less time in bf16 (8 x 64², 2 cores: 65
    against 82 ms); without them torch emulates bf16, twelve times slower (an AVX2-only AMD
    EPYC: 4.8 s against 0.41 s)."""
    import torch

    probes = [getattr(torch.cpu, f"_is_{kind}_supported", None) for kind in BF16_CPU_PROBES]
    if all(probes):
        return any(probe() for probe in probes)
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return re.search(r"^flags\b.*\b(avx512_bf16|amx_bf16)\b", cpuinfo, re.MULTILINE) is not None
