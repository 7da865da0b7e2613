"""Parts of `inkloop.headless.train_to_file`: its stop on Ctrl+C, what it may replace, its
autosaves and save, what its saves record of the run, and the mask its labels and engine
share."""

from __future__ import annotations

import dataclasses
import glob
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from inkloop.engine import CheckpointSaved
from inkloop.rounds import UNRECORDED
from inkloop.settings import EngineSettings

RESCUE_STEM_CHARS = 40  # of ``out``'s name kept in the rescue copy's, to tell it by


def stop_on_ctrl_c(engine, out: Path, report, scored: bool) -> None:
    """Stop after this step. Where the stop scores the validation region (a prediction of it:
    a minute for 4096² on a CPU), the weights are saved first, as a batch system's SIGKILL
    follows its SIGTERM within seconds (SLURM: 30 s), and saved again with the score after;
    not before the first step, whose untrained weights are no checkpoint (nothing is written)."""
    report.summary["interrupted"] = True
    if not report.run_steps:  # a step computing ends first; one awaiting its batch does not
        report.say(
            f"stopping: no step has ended yet, so {out} is written only if the one under way "
            "does (Ctrl+C twice more: quit at once)"
        )
    elif scored:
        report.say(f"stopping: {out} saved now, the validation region scored next")
        engine.save(out)
    else:
        report.say(
            f"stopping after this step to save {out} (Ctrl+C twice more: quit at once, "
            "leaving this run's last autosave)"
        )
    engine.stop()
    engine.wait()


def continues_in_place(init, out: Path) -> bool:
    """Whether training from the ``init`` checkpoint (or None) into ``out`` continues it in
    place: replacing that file needs no leave to overwrite."""
    from inkloop.checkpoint import same_file

    return init is not None and same_file(init, out)


def continue_or_overwrite(out: Path) -> str:
    """`check_out`'s ``way_on`` for a model: a run killed part way leaves its last autosave
    at ``out``, which training can continue."""
    return (
        f"continue training it with --init {out} --out {out} (a run stopped part way leaves "
        "its last autosave there), or "
    )


def autosaving(settings: EngineSettings, out: Path) -> EngineSettings:
    """``settings`` that autosave the run to ``out`` every `autosave_every` s and at its end
    (unless they autosave elsewhere), so that a run killed at hour 9 leaves its weights. A
    run that made no step writes nothing (`Training.autosave`). Parts that killed writes
    left beside ``out`` are swept first (`remove_left_parts`)."""
    from inkloop.io._write import remove_left_parts

    remove_left_parts([out])
    if settings.autosave is not None:  # the engine never writes ``out`` before the end
        return settings
    return dataclasses.replace(settings, autosave=out)


def say_last_autosave(out: Path, report, saves: list) -> None:
    """After a run that ended in an error or a third Ctrl+C, not its final save (the engine's
    close autosaved it all the same): where ``out`` holds this run's last autosave, that is
    said. A model set aside there is back, or said where it is (`write_keeping`)."""
    autosaved = [save for save in saves if save.path == str(out)]
    if autosaved:
        report.say(f"{out} holds this run's last autosave (step {autosaved[-1].step})")


def save_or_keep(engine, out: Path, report, saves: list | tuple = ()) -> None:
    """Write the checkpoint to ``out`` (unless the last of ``saves``, CheckpointSaved events,
    wrote it at the run's last step: its end's autosave); where that fails (a full disk,
    say), to the temporary folder instead, so that the run's weights are not lost. Where
    that fails too (weights that diverged), ``out`` holds this run's last autosave, if one
    wrote it: its step is kept as the summary's ``checkpoint_step``."""
    last = saves[-1] if saves else None
    if last is not None and last.path == str(out) and last.step == report.summary["steps"]:
        return
    report.summary.pop("checkpoint", None)  # an earlier autosave's: it is not this end's
    engine.save(out)
    engine.wait()
    if "checkpoint" not in report.summary:
        engine.save(_rescue_path(out))
        engine.wait()
    autosaved = [save.step for save in saves if save.path == str(out)]
    if "checkpoint" not in report.summary and autosaved:
        report.summary.update(checkpoint=str(out), checkpoint_step=autosaved[-1])


def where_weights_are(out: Path, summary: dict) -> list[str]:
    """What a failed run's error adds about its weights: where they went, if not to
    ``out``, or which step of the run ``out`` holds, if not its last."""
    saved = summary.get("checkpoint", str(out))
    if saved != str(out):
        return [f"the weights are in {saved}"]
    if "checkpoint_step" in summary:
        return [f"{out} holds this run's last autosave (step {summary['checkpoint_step']})"]
    return []


def _rescue_path(out: Path) -> Path:
    """Where `save_or_keep` keeps the weights that ``out`` could not take: a new name in the
    temporary folder, short whatever ``out``'s (whose length may be why it failed)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    stem = f"inkloop-{out.stem[:RESCUE_STEM_CHARS]}-{os.getpid()}-{stamp}"
    taken = Path(tempfile.gettempdir()).glob(f"{glob.escape(stem)}*.pt")
    count = sum(1 for _ in taken)  # two rescues in one second: -2, -3...
    return Path(tempfile.gettempdir()) / (f"{stem}-{count + 1}.pt" if count else f"{stem}.pt")


def record_round(
    path: Path,
    ink,
    supervised,
    report,
    accepted_pixels: int,
    settings: EngineSettings,
    run=None,
    init_record: tuple = (UNRECORDED,),
) -> int | None:
    """Append the round of the run whose checkpoint recorded ``run`` (`run_facts`) to
    ``path`` (`inkloop.rounds.append_run_round`; ``init_record``: what ``settings.init``
    records it held out); its number, or None (told on stderr) if the file cannot be
    written: the checkpoint is saved anyway."""
    from inkloop.rounds import append_run_round

    facts = (report.summary, accepted_pixels, settings.init, settings.validation, run, init_record)
    try:
        round_ = append_run_round(path, ink, supervised, *facts)
    except OSError as error:
        print(f"the round was not recorded in {path}: {error}", file=sys.stderr)
        return None
    return round_.number


def heard_save(event, saves: list) -> None:
    """Keep each CheckpointSaved in ``saves``: where it wrote, at which step, and what it
    records of its run (`CheckpointSaved.run`)."""
    if isinstance(event, CheckpointSaved):
        saves.append(event)


def with_mask_decoded(segment):
    """``segment`` with its papyrus mask decoded once, for the labels and the engine both: a
    segment's lazy mask is decoded afresh each time it is read (3 s and 600 MB a time at
    20000 x 30000). Where the mask is the supervision, the labels hold that very array (no
    copy), so it is for runs whose labels stay as read, as `inkloop train`'s do."""
    if segment.mask is None or isinstance(segment.mask, np.ndarray):
        return segment
    return dataclasses.replace(segment, mask=np.asarray(segment.mask))
