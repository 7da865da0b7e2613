"""Pre-flight checks of a segment's stack: where the papyrus surface is, which z-window to
read, and whether the layers run the wrong way round for a model.

The scroll community found that reading a segment's layers in the wrong order changes the
ink a model finds by an order of magnitude, so a model's answer forward and reversed is the
check that matters; the intensity curve says where the sheet is. Torch-free, except through
the predictors passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inkloop._coarse_level import level_blocks, profile_level
from inkloop._image_windows import papyrus_corners, sampled_pixels

REVERSED_RATIO = 3.0  # reversed must find this many times the ink of forward to say so
LITTLE_INK = 0.002  # share of papyrus above p = 0.5 below which a reading finds "no ink"


@dataclass(frozen=True)
class LayerProfile:
    """Mean intensity of each layer inside the papyrus, from a sample of patches."""

    means: tuple[float, ...]

    def surface(self) -> float | None:
        """The layer at the sheet's centre: the centroid of the hump around the brightest
        layer (of the lightly smoothed curve), where it stands above half its height. None if
        the brightest layer is the first or the last: the curve has no peak inside the stack
        (a crop that lies within the sheet, or a stack that misses it), and a centroid of the
        curve's two rising ends would name a layer between them, where it is darkest."""
        means, smooth = np.asarray(self.means), self._smoothed()
        peak = self._peak()
        if peak is None or peak in (0, len(means) - 1):
            return None
        high = smooth >= (smooth.min() + smooth[peak]) / 2
        low, top = peak, peak
        while low > 0 and high[low - 1]:
            low -= 1
        while top < len(means) - 1 and high[top + 1]:
            top += 1
        weights = means[low : top + 1] - means.min()
        return float((weights * np.arange(low, top + 1)).sum() / weights.sum())

    def _smoothed(self) -> np.ndarray:
        return np.convolve(np.pad(self.means, 1, mode="edge"), [0.25, 0.5, 0.25], "valid")

    def _peak(self) -> int | None:
        """The brightest layer of the smoothed curve; None for a flat one."""
        smooth = self._smoothed()
        return None if smooth.max() == smooth.min() else int(smooth.argmax())

    def window(self, count: int) -> tuple[int, int]:
        """(z_start, z_count): ``count`` layers centred on the surface, inside the stack
        (centred on the stack where the curve shows no surface)."""
        count = min(count, len(self.means))
        surface = self.surface()
        if surface is None:
            return (len(self.means) - count) // 2, count
        start = round(surface - (count - 1) / 2)
        return min(max(start, 0), len(self.means) - count), count

    def described(self) -> str:
        """Where the papyrus is, in words."""
        surface = self.surface()
        if surface is not None:
            return f"the papyrus is densest around layer {surface:.1f}"
        peak = self._peak()
        if peak is None:
            return "every layer is as bright as the next: no surface to centre on"
        end = "first" if peak == 0 else "last"
        return (
            f"no layer inside the stack is the brightest (the {end} one is): the stack may "
            "lie within the sheet, so the window stays centred"
        )


@dataclass(frozen=True)
class Orientation:
    """Share of sampled papyrus a model calls ink (p > 0.5), layers forward and reversed."""

    forward: float
    reversed: float

    def verdict(self) -> str:
        """One line the user can act on."""
        forward, backward = self.forward, self.reversed
        if max(forward, backward) < LITTLE_INK:
            return "the model finds almost no ink either way round: no verdict on the order"
        if backward >= REVERSED_RATIO * max(forward, LITTLE_INK):
            return (
                "layers look reversed: train with them reversed (the model finds far more ink "
                "that way; tick reverse in the dock's Segment section, or `inkloop train "
                "--reverse`)"
            )
        if forward >= REVERSED_RATIO * max(backward, LITTLE_INK):
            return "layer order looks right"
        return "layer order is unclear: the model finds similar ink both ways"


def layer_profile(segment, mask=None, *, patches: int = 16, size: int = 256, seed: int = 0):
    """The `LayerProfile` of ``segment`` from ``patches`` random ``size``² patches of papyrus,
    read on its coarsest pyramid level still `PROFILE_SIDE` px across (`profile_level`): a
    layer's mean needs no full resolution, and a remote segment's full level may be a GB."""
    rng = np.random.default_rng(seed)
    corners = papyrus_corners(segment.shape[1:], mask, rng, patches, size)
    level, factor = profile_level(segment)
    shape, size = level.shape[1:], -(-size // factor)
    if mask is not None and factor > 1:  # the papyrus pixel at each level pixel's corner
        mask = mask[::factor, ::factor][: shape[0], : shape[1]]
    corners = [(y // factor, x // factor) for y, x in corners]
    sums, count = np.zeros(segment.shape[0]), 0
    for (y, x), block in zip(corners, level_blocks(level, corners, size), strict=True):
        inside = sampled_pixels(shape, mask, y, x, size)
        sums += block.astype(np.float64)[:, inside].sum(axis=1)
        count += int(inside.sum())
    if count == 0:
        raise ValueError(f"{segment.name}: no papyrus pixels to sample (empty mask?)")
    return LayerProfile(tuple(float(v) for v in sums / count))


def orientation(predictor, segment, mask=None, *, tiles: int = 8, seed: int = 0):
    """The `Orientation` of ``segment`` for ``predictor``'s model: the ink it finds on
    ``tiles`` random tiles of papyrus with its composition and with ``reverse`` flipped."""
    from dataclasses import replace

    from inkloop.predict import Predictor

    flipped = replace(predictor.composition, reverse=not predictor.composition.reverse)
    tile = predictor.tile // predictor.scale  # Predictor takes model pixels
    backward = Predictor(
        predictor.model,
        flipped,
        predictor.normalisation,
        tile=tile,
        logit_offset=predictor.logit_offset,
    )
    rng = np.random.default_rng(seed)
    corners = papyrus_corners(segment.shape[1:], mask, rng, tiles, predictor.tile)
    if not corners:
        raise ValueError(f"{segment.name}: no papyrus to check the layer order on")
    return Orientation(*(_ink_share(p, segment, mask, corners) for p in (predictor, backward)))


def _ink_share(predictor, segment, mask, corners) -> float:
    """Share of the papyrus in the tiles at ``corners`` that ``predictor`` calls ink."""
    inked = papyrus = 0
    for (y, x), probability in zip(corners, predictor.tiles(segment, corners), strict=True):
        size = probability.shape[0]
        inside = sampled_pixels(segment.shape[1:], mask, y, x, size)
        inked += int(np.count_nonzero((probability > 0.5) & inside))
        papyrus += int(inside.sum())
    return inked / max(papyrus, 1)


def check_segment(path, model=None, *, device: str = "auto") -> dict:
    """`inkloop check`: the segment's layer profile and suggested z-window, and with a
    checkpoint ``model`` its orientation; ``lines`` says it for a person. Windows are said
    in stored layers (``window`` is their first and count); ``z_start`` is what `--z-start`
    takes for them, a position in the reversed stack where the reader reverses it."""
    from inkloop.compose import Composition
    from inkloop.io import open_segment

    segment = open_segment(path)
    layers = segment.shape[0]
    mask = None if segment.mask is None else np.asarray(segment.mask)
    profile = layer_profile(segment, mask)
    report = {"segment": segment.name, "layers": layers, "profile": profile.means}
    surface = profile.surface()
    report["surface"] = None if surface is None else round(surface, 1)
    lines = [f"{segment.name}: {layers} layers; {profile.described()}"]
    used, reader = Composition().resolve(layers), "training's default window (centred)"
    if model is not None:
        used, reader = _check_model(model, segment, mask, profile, device, report, lines)
    start, count = profile.window(used.z_count)
    report["window"] = [start, count]
    report["z_start"] = z_start_of(start, count, layers, used.reverse)
    suggested = _layers(segment, start, count)
    lines.append(f"suggested z-window: {suggested} ({_options(report, model)})")
    read = int(used.layer_indices(layers).min())
    if start != read:  # nothing takes the suggestion on its own: say what is read instead
        lines[-1] += f"; {reader} is {_layers(segment, read, count)}"
    report["lines"] = lines
    return report


def z_start_of(start: int, count: int, layers: int, reverse: bool) -> int:
    """What `--z-start` (or the dock's First layer) takes for the window of ``count`` stored
    layers from ``start``: a reversed reader counts its positions from the last layer."""
    return layers - count - start if reverse else start


def _options(report: dict, model) -> str:
    """The flags that read the suggested window: with a model only predict's --z-start can
    move it (the count is the model's); without one, training's, either way round."""
    start, (stored, count) = report["z_start"], report["window"]
    if model is not None:
        return f"predict --z-start {start}"
    backward = z_start_of(stored, count, report["layers"], reverse=True)
    return f"--z-start {start} --z-count {count}; with --reverse: --z-start {backward}"


def _layers(segment, start: int, count: int) -> str:
    """Stored layers start.. in words, with their file numbers where those differ."""
    end, numbers = start + count - 1, segment.layer_numbers
    text = f"layers {start}..{end}"
    if len(numbers) == segment.shape[0] and (numbers[start], numbers[end]) != (start, end):
        text += f" (files {numbers[start]}..{numbers[end]})"
    return text


def _check_model(model, segment, mask, profile, device, report, lines):
    """The model's orientation on ``segment``, read at the layers it was trained on, or where
    the stack lacks them (predict refuses it and sends the user here) at the suggested window
    of its size; returns the window it read (resolved) and its name."""
    from inkloop.checkpoint import load_checkpoint
    from inkloop.predict import Predictor, model_window
    from inkloop.predict._window import read_reversed

    checkpoint = load_checkpoint(model)
    try:
        window, reader = model_window(checkpoint, segment), "the model's window"
    except ValueError as error:
        composition = checkpoint.composition
        start, count = profile.window(composition.z_count)
        start = z_start_of(start, count, segment.shape[0], read_reversed(checkpoint, segment))
        window, reader = model_window(checkpoint, segment, start), "the suggested window"
        lines.append(f"{error}; checked here at the suggested window")
    predictor = Predictor.from_checkpoint(
        checkpoint, segment, device=device, mask=mask, z_start=window.z_start
    )
    result = orientation(predictor, segment, mask)
    report.update(forward_ink=result.forward, reversed_ink=result.reversed)
    report["verdict"] = result.verdict()
    lines.append(
        f"the model calls {result.forward:.1%} of sampled papyrus ink with the layers as "
        f"they are, {result.reversed:.1%} reversed: {report['verdict']}"
    )
    return window, reader
