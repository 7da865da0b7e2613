"""Which of a segment's layers a trained model reads, and in which order.

A checkpoint's z-window is a position in the stack it was trained on, read in that stack's
order: back to front (``Composition.reverse``) where the user said the training segment is
stored so, which puts its window in depth order. Whether another stack is stored back to
front is a fact of that stack, not of the model: it is read as stored unless the user says
otherwise (`read_reversed`), and the training segment itself keeps the order it was trained
with.

Segments are often downloaded as a subset of their layers (layers 15..50 of the 65, say), so
the same position in another segment's stack can be other layers, or off its end. The
checkpoint therefore also records the file numbers of the layers it read
(`Checkpoint.layers`), and prediction finds those layers again by number in a stack read in
the order the model was trained with; a user moves the window with ``z_start``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from inkloop.compose import Composition
from inkloop.io._errors import SegmentError

MOVE_WINDOW = (  # the way out where a model's window is not in a stack
    "choose where its window starts (`--z-start` of `inkloop train` or `predict`, a position "
    "0.. in the stack, or First layer in the dock's Segment section; `inkloop check` "
    "suggests one)"
)


class WindowNotInStackError(SegmentError):
    """A model's window on layers a stack lacks, which First layer (`--z-start`) moves."""


def read_reversed(checkpoint, segment, reverse: bool | None = None) -> bool:
    """Whether ``checkpoint``'s window reads ``segment`` back to front: as the user says
    (``reverse``), else as trained on the segment it was trained on (its provenance names
    it; a checkpoint that names none is taken to be on it), else as stored."""
    if reverse is not None:
        return reverse
    trained_on = checkpoint.provenance.get("segment")
    return checkpoint.composition.reverse and trained_on in (None, segment.name)


def model_window(
    checkpoint, segment, z_start: int | None = None, reverse: bool | None = None
) -> Composition:
    """``checkpoint``'s composition with its window placed on ``segment``, read back to front
    where `read_reversed` says: at ``z_start`` if given, else on the layers it was trained on,
    found by their file numbers where the stack is read in the order it was trained with (by
    position elsewhere, and for checkpoints that did not record them). ValueError if the
    segment lacks them, or has fewer layers than the model reads."""
    trained = checkpoint.composition
    composition = dataclasses.replace(trained, reverse=read_reversed(checkpoint, segment, reverse))
    say_read_as_stored(checkpoint, composition, segment)
    layers = segment.shape[0]
    if composition.z_count > layers:  # no window fits: --z-start cannot help
        raise ValueError(
            f"the model reads {composition.z_count} layers and {segment.name} has {layers}: "
            "it cannot be used on this segment"
        )
    if z_start is not None:
        return placed(dataclasses.replace(composition, z_start=z_start), segment)
    numbers, here = tuple(checkpoint.layers), composition.file_layers(segment)
    # file numbers run the other way in a stack stored the other way round: there the
    # window's position in depth order is what carries over
    if composition.reverse != trained.reverse or not numbers or not here or here == numbers:
        return _placed_as_trained(composition, segment)
    for start in range(layers - composition.z_count + 1):  # the trained layers, moved
        moved = dataclasses.replace(composition, z_start=start)
        if moved.file_layers(segment) == numbers:
            return moved
    have = f"{layers} layers ({segment.layer_numbers[0]}..{segment.layer_numbers[-1]})"
    raise WindowNotInStackError(
        f"the model was trained on layers {numbers[0]}..{numbers[-1]} (file numbers) but "
        f"{segment.name} has {have}; {MOVE_WINDOW}"
    )


def _placed_as_trained(composition: Composition, segment) -> Composition:
    """`placed`, for the window at the position the model was trained on: off the stack
    (an old checkpoint's, which records no file numbers), with how to move it."""
    try:
        return placed(composition, segment)
    except ValueError as error:
        raise WindowNotInStackError(f"{error}; {MOVE_WINDOW}") from None


def say_read_as_stored(checkpoint, window: Composition, segment) -> None:
    """Warn (`notify`) where a model trained on a stack stored back to front reads
    ``segment`` (by ``window``) as stored: right only if ``segment`` is stored front to back,
    which inkloop cannot tell."""
    if checkpoint.composition.reverse and not window.reverse:
        from inkloop._notify import notify

        model = checkpoint.source.name if checkpoint.source else "the model"
        notify(
            f"{model} was trained on a stack stored back to front and reads {segment.name} "
            f"as stored; if {segment.name} is stored back to front too, predict it with "
            f"`inkloop predict --reverse`, train on it with `inkloop train --init {model} "
            "--reverse`, or tick Reverse under Model input in the dock's Segment section"
        )


def window_read(window: Composition, segment, model, z_start: int | None) -> str:
    """'SEGMENT from layers a..b of its N (...)', as stored: a reversed window runs down;
    ``model``: the checkpoint's file."""
    positions, files = window.layer_indices(segment.shape[0]), window.file_layers(segment)
    text = f"{segment.name} from layers {positions[0]}..{positions[-1]} of its {segment.shape[0]}"
    if files and (files[0], files[-1]) != (positions[0], positions[-1]):
        text += f" (files {files[0]}..{files[-1]})"
    if z_start is None:
        return f"{text}, the layers {Path(model).name} was trained on"
    return f"{text}, moved there by --z-start"


def placed(composition: Composition, segment) -> Composition:
    """``composition`` resolved on ``segment``'s stack; a window off it is refused with the
    file numbers of its layers where they are not its positions (files 20..27 of a download
    are positions 0..7, and a window is placed by position)."""
    try:
        return composition.resolve(segment.shape[0])
    except ValueError as error:
        numbers = list(segment.layer_numbers)
        if not numbers or numbers == list(range(len(numbers))):
            raise
        note = f"positions, of files numbered {numbers[0]}..{numbers[-1]}"
        raise ValueError(f"{error} ({note})") from None


def trained_start(checkpoint, segment, reverse: bool | None = None) -> int | None:
    """Where the window of the layers ``checkpoint`` was trained on starts in ``segment``'s
    stack read as `model_window` reads it; None where the stack lacks them."""
    try:
        return model_window(checkpoint, segment, reverse=reverse).z_start
    except ValueError:
        return None
