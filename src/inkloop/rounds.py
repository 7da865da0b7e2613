"""Rounds of labelling and training, kept beside the labels as ``<id>_rounds.jsonl``.

A round is recorded at each Stop and each checkpoint save: what the labels held, how much of
them the user accepted from the model, how far training got and how well it scored. One JSON
object per line; each append rewrites the file under a temporary name and renames it into
place, so a crash leaves the old file or the new one, never half a line. Appends hold a lock
file beside it (``.<file name>.lock``), so that processes appending at once (the dock and
``inkloop train``) neither lose each other's rounds nor number two rounds alike.

The dock also writes a `RunStart` line as a run that rewrites a model file begins: where no
round follows it (napari quit or crashed), that file holds weights no round describes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from inkloop._lineage import continued_from
from inkloop._locks import locked
from inkloop._notify import notify
from inkloop._rounds_held_out import (  # noqa: F401 (their home was here)
    UNRECORDED,
    entries_naming,
    held_out_behind,
    held_out_by_checkpoint,
    held_out_by_run,
    held_out_throughout,
)
from inkloop._rounds_labels import label_counts, labels_hash
from inkloop.io import atomic_path


@dataclass(frozen=True)
class Round:
    """One round: label counts, the labels' hash, and the model trained on them."""

    number: int
    time: str  # ISO 8601, UTC
    ink_pixels: int
    no_ink_pixels: int
    accepted_pixels: int  # labels accepting the model's prediction changed, net of undo
    steps: int
    validation_f05: float | None
    checkpoint: str | None
    labels_hash: str
    # [y0, x0, y1, x1]: the pixels whose labels the training behind ``checkpoint`` held out
    # (its run's validation region, narrowed to those of the runs it went on from, where the
    # recorder knew them); []: none held out; None: unknown (a round from before this field)
    validation_region: list[int] | None = None
    init: dict | None = None  # what it continued from (`init_lineage`); None: fresh, or unknown
    run: str | None = None  # the id of the run behind ``checkpoint`` (`run_facts`); None: unknown
    cut_short: bool | None = None  # that run stopped before its limit; None: unknown
    trained_seconds: float | None = None  # how long that run trained; None: unknown
    # [y0, x0, y1, x1]: the validation region ``validation_f05`` was scored on (scores on two
    # regions are not one series); None: not scored, or unknown (a round from before this field)
    scored_region: list[int] | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RunStart:
    """A run that writes the model file ``checkpoint`` began at ``time`` (ISO 8601, UTC): until
    a round naming that file follows, the file may hold weights no round describes."""

    time: str
    checkpoint: str

    def to_dict(self) -> dict:
        return {"run_started": self.time, "checkpoint": self.checkpoint}


def new_round(
    number: int,
    ink: np.ndarray,
    supervised: np.ndarray,
    *,
    accepted_pixels: int,
    steps: int,
    validation_f05: float | None,
    checkpoint: str | Path | None,
    validation_region: Sequence[int] | None = None,
    init: dict | None = None,
    run: dict | None = None,
    scored_region: Sequence[int] | None = None,
) -> Round:
    """The round ``number`` for these labels, timed now; ``validation_region`` (y0, x0, y1,
    x1) is what the training behind ``checkpoint`` held out (None: nothing), ``scored_region``
    the region ``validation_f05`` was scored on (None: not scored), ``init`` what it
    continued from (`inkloop._lineage.init_lineage`; None: a fresh model), ``run`` what the
    checkpoint records of the run that made it (`run_facts`; None: not known). Where that
    holds the labels the run trained on, they are the round's, not ``ink`` and ``supervised``
    (which may then be None)."""
    trained = (run or {}).get("labels")
    if trained:
        ink_pixels, labelled_pixels = trained["ink_pixels"], trained["supervised_pixels"]
    else:
        ink_pixels, labelled_pixels = label_counts(ink, supervised)
    return Round(
        number=number,
        time=datetime.now(UTC).isoformat(timespec="seconds"),
        ink_pixels=ink_pixels,
        no_ink_pixels=labelled_pixels - ink_pixels,
        accepted_pixels=int(accepted_pixels),
        steps=int(steps),
        validation_f05=None if validation_f05 is None else round(float(validation_f05), 4),
        checkpoint=None if checkpoint is None else str(checkpoint),
        labels_hash=trained["hash"] if trained else labels_hash(ink, supervised),
        validation_region=[] if validation_region is None else [int(v) for v in validation_region],
        init=init,
        run=(run or {}).get("run"),
        cut_short=(run or {}).get("cut_short"),
        trained_seconds=(run or {}).get("trained_seconds"),
        scored_region=None if scored_region is None else [int(v) for v in scored_region],
    )


def read_rounds(path: str | Path) -> list[Round]:
    """The rounds in ``path`` (none if it does not exist); a line that is not a round (a JSON
    object with every field, validation_region and init None where missing, its counts
    integers, its region and init well formed) is skipped and said (`notify`), so one bad
    line never hides the others. `RunStart` lines are left out (`read_history`)."""
    return [entry for entry in read_history(path) if isinstance(entry, Round)]


def read_history(path: str | Path) -> list[Round | RunStart]:
    """The rounds and `RunStart` lines in ``path``, in order (`read_rounds`)."""
    path = Path(path)
    return _parse_lines(path.read_text(), path) if path.exists() else []


def _parse_lines(text: str, path: Path) -> list[Round | RunStart]:
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entries.append(_entry(json.loads(line)))
        except (ValueError, TypeError) as error:
            notify(f"{path} line {number} is not a round ({error}): skipped")
    return entries


def _entry(data) -> Round | RunStart:
    """The round or `RunStart` a line's JSON ``data`` holds; TypeError if it holds neither."""
    if not isinstance(data, dict):
        raise TypeError(f"JSON {type(data).__name__}, not an object")
    if "run_started" in data:
        start = RunStart(data["run_started"], data.get("checkpoint"))
        if not all(isinstance(value, str) for value in (start.time, start.checkpoint)):
            raise TypeError("a run's start needs its time and checkpoint")
        return start
    names = {f.name for f in fields(Round)}
    round_ = Round(**{k: v for k, v in data.items() if k in names})
    counts = [f.name for f in fields(Round) if f.type == "int"]
    if any(type(getattr(round_, name)) is not int for name in counts):
        raise TypeError(f"{', '.join(counts)} must be integers")
    if not _is_region(round_.validation_region) or not isinstance(round_.init, (dict, type(None))):
        raise TypeError("validation_region must be null, [] or 4 integers; init null or an object")
    scored = round_.scored_region
    if scored is not None and (scored == [] or not _is_region(scored)):
        raise TypeError("scored_region must be null or 4 integers")
    if not isinstance(round_.run, (str, type(None))):
        raise TypeError("run must be null or a string")
    if not isinstance(round_.cut_short, (bool, type(None))):
        raise TypeError("cut_short must be null or true or false")
    return round_


def _is_region(region) -> bool:
    """Whether ``region`` is a recorded validation region: None, [] or 4 integers."""
    ints = isinstance(region, list) and all(type(value) is int for value in region)
    return region is None or (ints and len(region) in (0, 4))


def append_run_round(
    path: str | Path,
    ink,
    supervised,
    summary: dict,
    accepted_pixels: int,
    init,
    validation,
    run: dict | None = None,
    init_record: tuple = (UNRECORDED,),
) -> Round:
    """Append the round of a headless run (the summary of `inkloop.headless.train_to_file`)
    to ``path``: its validation F0.5 (and the region ``validation`` it was scored on) only if
    scored at its last step, what it held out
    (`held_out_by_run`, with ``init_record``) and continued from (`continued_from`), and
    ``run``, what its checkpoint records of the run (`run_facts`). OSError if it cannot be
    written."""
    scored = summary.get("validation") or {}
    f05 = scored.get("f05") if scored.get("step") == summary["steps"] else None
    round_ = new_round(
        0,  # append_round numbers it
        ink,
        supervised,
        accepted_pixels=accepted_pixels,
        steps=summary["steps"],
        validation_f05=f05,
        checkpoint=summary["checkpoint"],
        validation_region=held_out_by_run(read_history(path), init, validation, init_record),
        init=continued_from(init),
        run=run,
        scored_region=None if f05 is None else validation,
    )
    return append_round(path, round_)  # numbered as written, under the file's lock


def next_number(rounds: list[Round]) -> int:
    """The number of the round after ``rounds``: one past the highest, so that a line skipped
    as unreadable never makes two rounds of one number."""
    return max((round_.number for round_ in rounds), default=0) + 1


def append_round(path: str | Path, round_: Round) -> Round:
    """Add ``round_`` to ``path`` atomically (temporary file, fsync, rename), numbered as the
    file's next round (`next_number`) when it is written, whatever number it came with: read
    and rewritten under the file's lock, so another process's round is never lost or given
    the same number. Returns the round as written."""
    return _append(path, lambda earlier: replace(round_, number=next_number(earlier)))


def append_run_start(path: str | Path, checkpoint: str | Path) -> RunStart:
    """Add to ``path`` (as `append_round` adds a round) that a run writing the model file
    ``checkpoint`` begins now; returns it."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return _append(path, lambda _earlier: RunStart(now, str(checkpoint)))


def _append(path: str | Path, entry_after):
    """Append ``entry_after(the file's rounds)`` to the file ``path`` under its lock, atomically;
    returns the entry."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path.with_name(f".{path.name}.lock")):
        old = path.read_bytes() if path.exists() else b""
        earlier = _parse_lines(old.decode(errors="replace"), path)
        entry = entry_after([e for e in earlier if isinstance(e, Round)])
        if old and not old.endswith(b"\n"):
            old += b"\n"
        line = json.dumps(entry.to_dict()).encode() + b"\n"
        with atomic_path(path) as tmp, open(tmp, "wb") as file:
            file.write(old + line)  # atomic_path syncs it before the rename
    return entry
