"""The Segment section's z-windows: fitting one to a stack, and saying in words what it reads."""

from __future__ import annotations

import dataclasses

from inkloop.compose import Composition

RESOLUTIONS = {1: "full", 2: "half", 4: "quarter"}  # Composition.scale -> as shown


def fit(
    layers: int,
    mode: str,
    z_start,
    z_count,
    mean_k: int,
    reverse: bool,
    scale: int = Composition.scale,
) -> Composition:
    """A Composition of these fields whose window fits ``layers`` layers: the count and the
    mean size shrink to the stack, mean windows keep whole groups, the start moves inside."""
    mean_k = min(mean_k, layers)
    if z_count is not None:
        z_count = min(z_count, layers)
        if mode == "mean":
            z_count = max(z_count - z_count % mean_k, mean_k)
    fitted = Composition(mode, None, z_count, mean_k, reverse, scale)
    if z_start is None:
        return fitted
    span = fitted.resolve(layers).z_count
    return dataclasses.replace(fitted, z_start=min(max(z_start, 0), layers - span))


def window_summary(resolved: Composition, layers: int, notes: list[str]) -> str:
    """E.g. "reads layers 24–39 of 65 (centred) · 16 channels at full resolution"."""
    indices = resolved.layer_indices(layers)
    notes = [*notes, "reversed"] if resolved.reverse else notes
    where = f" ({', '.join(notes)})" if notes else ""
    return (
        f"reads layers {indices.min()}–{indices.max()} of {layers}{where}"
        f" · {resolved.in_channels} channels at {RESOLUTIONS[resolved.scale]} resolution"
    )


READ_AS_STORED = (
    "trained on a stack stored back to front; reads this one as stored (tick Reverse if it is too)"
)


def model_summary(
    window: Composition | None, moved_to: int | None, layers: int, trained_reversed: bool = False
) -> str:
    """What a loaded model reads: its ``window`` on this stack (None before the engine has
    built the model), as trained or ``moved_to`` a first layer; that it reads this stack as
    stored where it was trained on one stored back to front (``trained_reversed``)."""
    if window is not None:
        how = "as trained" if moved_to is None else "moved"
        said = f"the model {window_summary(window, layers, [how])}"
        return f"{said} · {READ_AS_STORED}" if trained_reversed and not window.reverse else said
    if moved_to is None:
        return "the model reads the layers it was trained on"
    return f"the model reads from layer {moved_to} of {layers} (moved)"
