"""What the training behind a model held out of a segment's labels, as its rounds tell
(`inkloop.rounds` re-exports these, their first home)."""

from __future__ import annotations

from pathlib import Path

# held out by a training no round describes: nothing any round can vouch for
UNRECORDED = "trained since its last round"


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
    held out in all: that region, narrowed to what ``history`` says ``init``'s training did,
    or where no round of it says, to ``init_record``, what ``init`` itself records
    (`held_out_by_checkpoint`; by default unknown: nothing is vouched for)."""
    earlier = held_out_behind(history, init) if init is not None else ()
    if init is not None and not earlier:
        earlier = init_record
    return held_out_throughout((*earlier, validation))


def held_out_by_checkpoint(provenance: dict, segment: str) -> tuple:
    """What the training behind a checkpoint held out of the labels of the segment named
    ``segment``, by the checkpoint's own ``provenance``: ``()`` where none of it trained on
    that segment; ``(box,)``, or ``(None,)`` for nothing, where only its last run did (its
    ``labels.validation``); else ``(UNRECORDED,)``: an earlier run on it, whose region no
    checkpoint keeps, or a segment or region it does not record."""
    segments, link = [provenance.get("segment")], provenance.get("init")
    while isinstance(link, dict):  # the runs it continued from (`init_lineage`)
        segments.append(link.get("segment"))
        link = link.get("init")
    if None in segments or segment in segments[1:]:
        return (UNRECORDED,)
    if segments[0] != segment:
        return ()
    labels = provenance.get("labels") or {}
    if "validation" not in labels:
        return (UNRECORDED,)
    return (tuple(labels["validation"]) if labels["validation"] else None,)


def held_out_throughout(regions: tuple) -> tuple[int, int, int, int] | None:
    """The pixels inside every one of ``regions`` (boxes; None or UNRECORDED: nothing held
    out), so held out of every training the regions belong to; None if none are."""
    boxes = regions or (None,)
    if any(box is None or box == UNRECORDED for box in boxes):
        return None
    y0, x0 = max(b[0] for b in boxes), max(b[1] for b in boxes)
    y1, x1 = min(b[2] for b in boxes), min(b[3] for b in boxes)
    return (y0, x0, y1, x1) if y0 < y1 and x0 < x1 else None
