"""Parts of `inkloop.headless.train_to_file`: its stop on Ctrl+C, what it may replace, its
save, what its saves record of the run, and the mask its labels and engine share."""

from __future__ import annotations

import dataclasses
import glob
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from inkloop.engine import CheckpointSaved

RESCUE_STEM_CHARS = 40  # of ``out``'s name kept in the rescue copy's, to tell it by


def stop_on_ctrl_c(engine, out: Path, report, scored: bool) -> None:
    """Stop after this step. Where the stop scores the validation region (a prediction of it:
    a minute for 4096² on a CPU), the weights are saved first, as a batch system's SIGKILL
    follows its SIGTERM within seconds (SLURM: 30 s), and saved again with the score after."""
    report.summary["interrupted"] = True
    if scored:
        report.say(f"stopping: {out} saved now, the validation region scored next")
        engine.save(out)
    else:
        report.say(f"stopping after this step to save {out} (Ctrl+C twice more: no save)")
    engine.stop()
    engine.wait()


def continues_in_place(init, out: Path) -> bool:
    """Whether training from the ``init`` checkpoint (or None) into ``out`` continues it in
    place: replacing that file needs no leave to overwrite."""
    from inkloop.checkpoint import same_file

    return init is not None and same_file(init, out)


def save_or_keep(engine, out: Path, report) -> None:
    """Write the checkpoint to ``out``; where that fails (a full disk, say), to the temporary
    folder instead, so that the run's weights are not lost with the error."""
    engine.save(out)
    engine.wait()
    if "checkpoint" not in report.summary:
        engine.save(_rescue_path(out))
        engine.wait()


def _rescue_path(out: Path) -> Path:
    """Where `save_or_keep` keeps the weights that ``out`` could not take: a new name in the
    temporary folder, short whatever ``out``'s (whose length may be why it failed)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    stem = f"inkloop-{out.stem[:RESCUE_STEM_CHARS]}-{os.getpid()}-{stamp}"
    taken = Path(tempfile.gettempdir()).glob(f"{glob.escape(stem)}*.pt")
    count = sum(1 for _ in taken)  # two rescues in one second: -2, -3...
    return Path(tempfile.gettempdir()) / (f"{stem}-{count + 1}.pt" if count else f"{stem}.pt")


def heard_save(event, saves: list) -> None:
    """Keep in ``saves`` what a checkpoint saved records of its run (`CheckpointSaved.run`)."""
    if isinstance(event, CheckpointSaved):
        saves.append(event.run)


def with_mask_decoded(segment):
    """``segment`` with its papyrus mask decoded once, for the labels and the engine both: a
    segment's lazy mask is decoded afresh each time it is read (3 s and 600 MB a time at
    20000 x 30000). Where the mask is the supervision, the labels hold that very array (no
    copy), so it is for runs whose labels stay as read, as `inkloop train`'s do."""
    if segment.mask is None or isinstance(segment.mask, np.ndarray):
        return segment
    return dataclasses.replace(segment, mask=np.asarray(segment.mask))
