"""Whose an error is: the user's to fix, told in one line, or a bug, told with its traceback
for the report. One rule for the engine's log (`inkloop.engine._events.log_failure`) and
the `inkloop` command (`inkloop.cli.main`)."""

from __future__ import annotations

import dis
import errno
import os

# a disk full, over quota, read-only or not the user's to write: theirs to fix, not a bug
DISK_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES})
_PACKAGE = os.path.dirname(__file__) + os.sep


class TrainingDivergedError(FloatingPointError):
    """Training whose loss or weights are no longer finite: the user's to fix (a lower
    learning rate), said in one line; a FloatingPointError, as it was before it had a class."""


def users_error(error: BaseException, *, command: bool = False) -> bool:
    """Whether ``error`` is the user's to fix (their labels, settings, files or disk), not a
    bug: an error of a class inkloop defines for them (a ValueError: SegmentError, LabelError,
    CheckpointError, ModelSettingsError, the engine's RequestError...; and
    TrainingDivergedError), a missing file, or a disk full, read-only or not theirs to write.

    In the `inkloop` command (``command``) also a ValueError or RuntimeError that inkloop's
    own code raised (`raised_by_inkloop`), since every check there is of the user's arguments
    and files, and any OSError or MemoryError: what the system refused the user at their
    machine (a file, the network, memory). The engine checks its callers' requests with
    RequestError; another error its code raises is its own bug. A ValueError or RuntimeError
    from inside numpy or torch is a bug everywhere."""
    if isinstance(error, OSError) and (
        isinstance(error, FileNotFoundError) or error.errno in DISK_ERRORS
    ):
        return True
    if isinstance(error, TrainingDivergedError):
        return True
    if isinstance(error, ValueError) and any(
        kind.__module__.startswith("inkloop.") for kind in type(error).__mro__
    ):
        return True
    if not command:
        return False
    if isinstance(error, (OSError, MemoryError)):
        return True
    return isinstance(error, (ValueError, RuntimeError)) and raised_by_inkloop(error)


def raised_by_inkloop(error: BaseException) -> bool:
    """Whether a raise statement in inkloop's code raised ``error`` (where it was first
    raised: a re-raise keeps that place), not a library or a call into C from inkloop's code
    (numpy's and torch's errors about shapes come that way)."""
    where = error.__traceback__
    if where is None:
        return False
    while where.tb_next is not None:
        where = where.tb_next
    code = where.tb_frame.f_code
    if not code.co_filename.startswith(_PACKAGE):
        return False
    done = (i.opname for i in dis.get_instructions(code) if i.offset == where.tb_lasti)
    return next(done, None) == "RAISE_VARARGS"
