"""A batch's jobs and what became of each: written, skipped (complete, or another run
writes it) or failed; and the check of a segment's mask before any job is made."""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from inkloop._errors import users_error
from inkloop._notify import notify
from inkloop.io import shown_location, stray_side_files_hint
from inkloop.predict._output_claim import ClaimedError

EXISTS = "exists, skipped (--overwrite to redo)"


@dataclass(frozen=True)
class Job:
    """One segment and the file its prediction goes to (None: the segment was refused before
    its output was named); ``keep_existing``: an output that is complete when the job's turn
    comes (another run wrote it) is skipped, not replaced."""

    segment: Path | str  # a URL stays text
    out: Path | None
    keep_existing: bool = False


@dataclass
class Outcome:
    """What a batch did: the outputs written and skipped, and the segments that failed
    (segment, out, error), each said on stderr as it happens (`notify`); ``began``: a
    segment's prediction began (before, an error refuses the run: nothing was made)."""

    written: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    began: bool = False

    def begin(self) -> None:
        """Note that a segment's prediction began."""
        self.began = True

    def summary(self) -> dict:
        """Written and skipped (paths as text) and failed, as the JSON summary lists them."""
        written, skipped = ([str(p) for p in paths] for paths in (self.written, self.skipped))
        return {"written": written, "skipped": skipped, "failed": self.failed}

    def skip(self, out: Path, why: str = EXISTS) -> None:
        self.skipped.append(out)
        _say(f"{out} {why}")

    def fail(self, job: Job, error: BaseException) -> None:
        """Record and say that ``job`` failed with ``error`` (with its traceback where it
        is a bug in inkloop, for the report)."""
        where = shown_location(job.segment)
        named = str(error).startswith((f"{where}: ", f"{where}/", f"{where}{os.sep}"))
        said = str(error) if named else f"{where}: {error}"  # named: a file of it, say
        if not users_error(error, command=True):
            traceback.print_exception(type(error), error, error.__traceback__)
        out = None if job.out is None else str(job.out)
        self.failed.append({"segment": where, "out": out, "error": said})
        lost = "not predicted" if job.out is None else f"{job.out.name} not written"
        _say(f"{said} ({lost}; going on with the other segments)")


def taken_meanwhile(job: Job, error: BaseException | None = None) -> str | None:
    """Why ``job`` is skipped though its turn came, or None: its output was written, or is
    being written, by another run since the batch was planned (``error``: what the job raised,
    if anything)."""
    if not job.keep_existing:
        return None
    if isinstance(error, ClaimedError):
        return "is being written by another run, skipped"
    if job.out.exists():
        return "was written by another run meanwhile, skipped"
    return None


def check_mask(segment) -> None:
    """Refuse now, from its header, a mask of another size than the layers (it is checked
    again when decoded, block by block), and say where the folder holds a mask named for
    another id (a renamed folder): without one, every pixel is predicted, the air included."""
    path = segment.files.get("mask")
    if path is not None:
        segment.check_side_image(path)
        return
    hint = stray_side_files_hint(segment)
    if hint:
        notify(
            f"{segment.name} has no papyrus mask: every pixel is predicted, the air around the "
            f"papyrus included ({hint})"
        )


def run_in_turn(jobs: list[Job], predict, outcome: Outcome, *, keep_going: bool = False) -> None:
    """``predict(job)`` (the path written) for each job in turn, in this process, into
    ``outcome``. An error stops the batch, unless ``keep_going``: then the job fails (its
    staged output removed) and the next one runs."""
    for job in jobs:
        try:
            why = taken_meanwhile(job)
            if why is None:
                outcome.written.append(predict(job))
                continue
        except Exception as error:
            why = taken_meanwhile(job, error)
            if why is None and not keep_going:
                raise
            if why is None:
                outcome.fail(job, error)
                continue
        outcome.skip(job.out, why)


def _say(message: str) -> None:
    """``message`` on stderr (`notify`), above a progress bar rather than through it."""
    from tqdm import tqdm

    with tqdm.external_write_mode(file=sys.stderr):
        notify(message)
