"""The segment's own model (``<id>_inkloop_model.pt`` beside its labels), which the dock
continues from at a reopen: whether it can be read, and what its training held out. Without
torch: the checkpoint's zip directory and the rounds file are all that is read."""

from __future__ import annotations

from napari.utils.notifications import show_warning

from inkloop.checkpoint import kept_model_path, unreadable_checkpoint
from inkloop.io import rounds_path
from inkloop.rounds import held_out_behind, read_rounds


def readable_own_model(own, name: str) -> bool:
    """Whether segment ``name``'s own model ``own`` can be read; if not, the user hears once
    that a fresh one is trained instead, and where the file is (kept)."""
    problem = unreadable_checkpoint(own)
    if problem is not None:
        show_warning(
            f"Ink Loop: the model trained on {name} before cannot be read ({own}: {problem}): "
            f"a fresh one will be trained, and at its first save the file is kept beside it "
            f"as {kept_model_path(own).name}"
        )
    return problem is None


def own_model_held_out(segment, own) -> tuple:
    """What the training behind ``segment``'s own model ``own`` held out, as its newest round
    recorded it (`held_out_behind`: () where no round says)."""
    return held_out_behind(read_rounds(rounds_path(segment)), own)
