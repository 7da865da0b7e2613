"""A checkpoint's round: what a round records of the run behind a checkpoint (`run_facts`),
and the round a checkpoint was recorded in, for `inkloop info` (`round_of`)."""

from __future__ import annotations

from pathlib import Path


def run_facts(provenance: dict) -> dict:
    """What a round records of the run behind a checkpoint, from the checkpoint's
    ``provenance`` (`inkloop.train._run_record.RunRecord`): the run's id, by which
    `inkloop info` tells the checkpoint's round from another run's, the labels it trained on
    (counts and hash), whether it was cut short and how long it trained."""
    trained_on = provenance.get("trained_on") or {}
    return {
        "run": provenance.get("run"),
        "labels": provenance.get("labels"),
        "cut_short": trained_on.get("cut_short"),
        "trained_seconds": trained_on.get("trained_seconds"),
    }


def round_of(checkpoint, path: Path) -> dict | None:
    """The recorded round of the run that made ``checkpoint`` (read from ``path``): the
    latest whose run id is the checkpoint's (`inkloop.train._run_record.RunRecord`), at its
    step or before (a dock letting go of a run records the last step it heard); none if no
    round has that id, whatever the rounds of other runs name. A checkpoint from before run
    ids were kept is matched by `_named_round`. Looked for in the rounds file named at
    training, then beside the checkpoint (the folder moved, or copied to another machine:
    `rounds_files`)."""
    from inkloop.rounds import read_history

    run = checkpoint.provenance.get("run")
    for rounds_file in rounds_files(checkpoint.provenance, path):
        history = read_history(rounds_file)
        if run is None:
            chosen = _named_round(history, checkpoint, path)
        else:
            chosen = rounds_of_run(history, run, checkpoint.step)
        if chosen:
            return chosen[-1].to_dict()
    return None


def rounds_of_run(history: list, run: str, step: int | None = None) -> list:
    """The rounds of ``history`` (`read_history`) recorded of the run whose id is ``run``,
    at ``step`` or before (None: at any step), oldest first: a checkpoint's own rounds, by
    its ``provenance["run"]``, whatever file names they give."""
    from inkloop.rounds import Round

    of_run = (r for r in history if isinstance(r, Round) and r.run == run)
    return [r for r in of_run if step is None or r.steps <= step]


def _named_round(history: list, checkpoint, path: Path) -> list:
    """For a checkpoint without a run id, the rounds that may be its own, oldest first: of
    its labels, those naming this file at its step or before, unless a run writing the file
    began after them (`RunStart`: no round followed, as napari quit or crashed, and that run
    trained it further); else those at its step (a copy renamed). A round of other steps is
    another checkpoint's."""
    from inkloop._rounds_held_out import entries_naming
    from inkloop.rounds import Round, RunStart

    labels_hash = checkpoint.provenance.get("labels", {}).get("hash")
    if not labels_hash:
        return []
    rounds = [r for r in history if isinstance(r, Round) and r.labels_hash == labels_hash]
    named = entries_naming(history, path)
    starts = [i for i, entry in enumerate(named) if isinstance(entry, RunStart)]
    since = named[starts[-1] + 1 :] if starts else named  # since a run that wrote it began
    chosen = [r for r in rounds if r in since and r.steps <= checkpoint.step]
    return chosen or [r for r in rounds if r.steps == checkpoint.step]


def rounds_files(provenance: dict, path: Path) -> list[Path]:
    """Where the rounds of the checkpoint at ``path`` may be: the file its training named,
    then beside the checkpoint that file's name and its segment's ``<id>_rounds.jsonl``."""
    from inkloop.io._sidefiles import rounds_path, segment_named

    named = Path(provenance["rounds_file"]) if provenance.get("rounds_file") else None
    beside = path.expanduser().absolute().parent
    files = [named, named and beside / named.name]
    if segment := provenance.get("segment"):
        files.append(rounds_path(segment_named(Path(segment).name, beside)))
    return list(dict.fromkeys(f for f in files if f is not None))
