"""What the training behind a model held out of a segment's labels, as its rounds tell
(`inkloop.rounds` re-exports these, their first home)."""

from __future__ import annotations

from pathlib import Path

from inkloop._checkpoint_round import rounds_of_run
from inkloop._notify import notify

# held out by a training no round describes: nothing any round can vouch for
UNRECORDED = "trained since its last round"
# what the dock and `inkloop train --init` say of a model whose checkpoint does not record
# what its training held out (`held_out_by_checkpoint` gives UNRECORDED)
NOT_RECORDED = (
    "does not record what its training held out of this segment's labels (its checkpoint "
    "names no segment, or goes on from training on this segment whose region no checkpoint "
    "keeps): the validation region's F0.5 may read high"
)


def entries_naming(history: list, checkpoint: str | Path) -> list:
    """The entries of ``history`` (rounds, `RunStart` lines) that name the model file
    ``checkpoint``, by name (the folder may have moved), oldest first."""
    name = Path(checkpoint).name
    return [e for e in history if e.checkpoint and Path(e.checkpoint).name == name]


def held_out_behind(history: list, checkpoint: str | Path) -> tuple:
    """What the training behind the model file ``checkpoint`` held out, from the newest entry
    of ``history`` (`read_history`) naming that file: ``(box,)``, ``(None,)`` where nothing
    was held out, ``(UNRECORDED,)`` where a run that writes the file began after its newest
    round (napari quit or crashed mid-run), or ``()`` where unknown (nothing names it, or its
    round predates `Round.validation_region`)."""
    from inkloop.rounds import RunStart  # which imports this module

    named = entries_naming(history, checkpoint)
    if named and isinstance(named[-1], RunStart):
        return (UNRECORDED,)
    region = named[-1].validation_region if named else None
    if region is None:
        return ()
    return (tuple(region) if region else None,)


def held_out_by_run(
    history: list, init, validation, init_record: tuple = (UNRECORDED,)
) -> tuple[int, int, int, int] | None:
    """What a run from the model file ``init`` (None: a fresh model) holding out ``validation``
    held out in all: that region, narrowed to what ``init``'s training held out, as ``init``
    itself records it (``init_record``: `held_out_by_checkpoint`) where that knows; else as the
    newest entry of ``history`` naming its file says (`held_out_behind`: a model from before
    run ids, or whose run's rounds moved); else nothing is vouched for."""
    return held_out_throughout((*held_out_by_init(history, init, init_record), validation))


def held_out_by_init(history: list, init, init_record: tuple = (UNRECORDED,)) -> tuple:
    """What the training behind the model file ``init`` (None: a fresh model) held out, as
    `held_out_by_run` takes it: ``init_record`` where that knows, else the newest entry of
    ``history`` naming its file, else ``init_record``; UNRECORDED in it: not known."""
    if init is None:
        return ()
    if init_record != (UNRECORDED,):  # its own record: no other file's round passes for it
        return init_record
    return held_out_behind(history, init) or init_record


def held_out_by_checkpoint(provenance: dict, segment: str) -> tuple:
    """What the training behind a checkpoint held out of the labels of the segment named
    ``segment``, by the checkpoint's own records: ``()`` where none of it trained on that
    segment; where its last run did, what the round of that run says (`held_out_by_its_run`),
    else, if only its last run did, its ``labels.validation``: ``(box,)``, or ``(None,)`` for
    nothing; else ``(UNRECORDED,)``: an earlier run on it, whose region no checkpoint keeps,
    or a segment or region it does not record."""
    segments, link = [provenance.get("segment")], provenance.get("init")
    while isinstance(link, dict):  # the runs it continued from (`init_lineage`)
        segments.append(link.get("segment"))
        link = link.get("init")
    if segments[0] == segment and (by_round := held_out_by_its_run(provenance)):
        return by_round
    if None in segments or segment in segments[1:]:
        return (UNRECORDED,)
    if segments[0] != segment:
        return ()
    return held_out_by_last_run(provenance, segment) or (UNRECORDED,)


def held_out_by_last_run(provenance: dict, segment: str) -> tuple:
    """What the last run behind a checkpoint held out of the labels of the segment named
    ``segment``, as the round of its run says (`held_out_by_its_run`), else its own
    ``labels.validation`` (``labels.holdout`` before 2026-11-27): ``(box,)``, ``(None,)``
    for nothing; ``()`` where its last run trained on another segment or neither records
    it. Earlier runs are left out: the dock
    judges by this alone the segment's own model that no round vouches for, as before
    rounds recorded a region (its earlier runs, the dock's, held out the region they had)."""
    if provenance.get("segment") != segment:
        return ()
    if by_round := held_out_by_its_run(provenance):
        return by_round
    labels = provenance.get("labels") or {}
    # "holdout": its name in checkpoints written before 2026-11-27
    key = next((k for k in ("validation", "holdout") if k in labels), None)
    if key is None:
        return ()
    return (tuple(labels[key]) if labels[key] else None,)


def held_out_by_its_run(provenance: dict) -> tuple:
    """What the training behind a checkpoint held out of its segment's labels, as the latest
    round of its run (``provenance["run"]``, `rounds_of_run`) in the rounds file it names
    says: ``(box,)``, ``(None,)`` for nothing, ``()`` where no round of that run says (or it
    has no run id). Found by run id, never by file name: an archived copy is not given the
    round of a later run that reused its name. Each round of a run records the run's one
    region (its engine's), so the latest says it at whichever step the checkpoint was saved."""
    from inkloop.rounds import read_history

    run, where = provenance.get("run"), provenance.get("rounds_file")
    if not run or not where:
        return ()
    try:
        rounds = rounds_of_run(read_history(where), run)
    except OSError as error:  # another user's folder, say: the run goes on, told so
        notify(f"{where}: cannot be read ({error}): the model's round is not known")
        return ()
    region = rounds[-1].validation_region if rounds else None
    if region is None:
        return ()
    return (tuple(region) if region else None,)


def held_out_throughout(regions: tuple) -> tuple[int, int, int, int] | None:
    """The pixels inside every one of ``regions`` (boxes; None or UNRECORDED: nothing held
    out), so held out of every training the regions belong to; None if none are."""
    boxes = regions or (None,)
    if any(box is None or box == UNRECORDED for box in boxes):
        return None
    y0, x0 = max(b[0] for b in boxes), max(b[1] for b in boxes)
    y1, x1 = min(b[2] for b in boxes), min(b[3] for b in boxes)
    return (y0, x0, y1, x1) if y0 < y1 and x0 < x1 else None
