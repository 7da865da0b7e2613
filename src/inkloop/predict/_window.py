"""Which of a segment's layers a trained model reads.

A checkpoint's z-window is a position in the stack it was trained on. Segments are often
downloaded as a subset of their layers (layers 15..50 of the 65, say), so the same position
in another segment's stack can be other layers, or off its end. The checkpoint therefore also
records the file numbers of the layers it read (`Checkpoint.layers`), and prediction finds
those layers again by number; a user moves the window with ``z_start``.
"""

from __future__ import annotations

import dataclasses

from inkloop.compose import Composition


def model_window(checkpoint, segment, z_start: int | None = None) -> Composition:
    """``checkpoint``'s composition with its window placed on ``segment``: at ``z_start`` if
    given, else on the layers it was trained on, found by their file numbers (by position for
    checkpoints that did not record them). ValueError if the segment lacks them, or has
    fewer layers than the model reads."""
    composition, layers = checkpoint.composition, segment.shape[0]
    if composition.z_count > layers:  # no window fits: --z-start cannot help
        raise ValueError(
            f"the model reads {composition.z_count} layers and {segment.name} has {layers}: "
            "it cannot be used on this segment"
        )
    if z_start is not None:
        return placed(dataclasses.replace(composition, z_start=z_start), segment)
    trained, here = tuple(checkpoint.layers), composition.file_layers(segment)
    if not trained or not here or here == trained:
        return placed(composition, segment)  # refuses a window off the stack
    for start in range(layers - composition.z_count + 1):  # the trained layers, moved
        moved = dataclasses.replace(composition, z_start=start)
        if moved.file_layers(segment) == trained:
            return moved
    numbers = segment.layer_numbers
    have = f"{layers} layers ({numbers[0]}..{numbers[-1]})"
    raise ValueError(
        f"the model was trained on layers {trained[0]}..{trained[-1]} (file numbers) but "
        f"{segment.name} has {have}; choose where its window starts (`--z-start` of "
        "`inkloop train` or `predict`, a position 0.. in the stack, or First layer in the "
        "dock's Segment section; `inkloop check` suggests one)"
    )


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


def trained_start(checkpoint, segment) -> int | None:
    """Where the window of the layers ``checkpoint`` was trained on starts in ``segment``'s
    stack (as `model_window` finds it); None where the stack lacks them."""
    try:
        return model_window(checkpoint, segment).z_start
    except ValueError:
        return None
