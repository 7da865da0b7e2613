"""The segment's own model (``<id>_inkloop_model.pt`` beside its labels), which the dock
continues from at a reopen: whether it can be read, and what its training held out (from the
rounds file, where the dock records each run's start). Without torch: the checkpoint's zip
directory and the rounds file are all that is read."""

from __future__ import annotations

import logging

from inkloop._napari._say import say_warning
from inkloop.checkpoint import unreadable_checkpoint
from inkloop.io import rounds_path
from inkloop.io._sidefiles import kept_copy_path
from inkloop.rounds import append_run_start, held_out_behind, read_history

log = logging.getLogger(__name__)


def readable_own_model(own, name: str) -> bool:
    """Whether segment ``name``'s own model ``own`` can be read; if not, the user hears once
    that a fresh one is trained instead, and where the file is (kept)."""
    problem = unreadable_checkpoint(own)
    if problem is not None:
        say_warning(
            f"the model trained on {name} before cannot be read ({own}: {problem}): "
            f"a fresh one will be trained, and at its first save the file is kept beside it "
            f"as {kept_copy_path(own).name}"
        )
    return problem is None


def own_model_held_out(segment, own) -> tuple:
    """What the training behind ``segment``'s own model ``own`` held out, as the rounds file
    says (`held_out_behind`: () where nothing says, UNRECORDED where a run that wrote it
    recorded no round). By its file name, not its run id (`held_out_by_its_run`): the id is
    inside the checkpoint, which torch reads, and the napari process never imports torch."""
    return held_out_behind(read_history(rounds_path(segment)), own)


def record_run_start(loop) -> None:
    """Record in the rounds file of ``loop``'s segment that a run writing its autosave (the
    own model) begins (`append_run_start`), on the label worker, in order with the rounds: if
    napari quits or crashes before the run's round, the file then reads as trained since."""
    autosave, where = loop.settings.autosave, rounds_path(loop.labels.segment)
    if autosave is not None:
        loop.labels.worker.submit(
            lambda _codes: append_run_start(where, autosave),
            done=lambda writing: _run_start_written(writing, where),
        )


def _run_start_written(writing, where) -> None:
    error = writing.exception()
    if isinstance(error, OSError):  # a full disk, a folder that cannot be written
        log.error("recording a run's start failed", exc_info=error)
        say_warning(
            f"this run's start was not recorded in {where} ({error}): should napari "
            "end before the run does, a later session takes the model for that of its last round"
        )
    elif error is not None:
        raise error  # a bug: napari shows it whole
