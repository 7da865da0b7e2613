"""What a checkpoint records of the run that made its weights (`RunRecord`), and of the
labels it trained on (`labels_record`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from inkloop._software import software_versions


@dataclass
class RunRecord:
    """One run of a `Trainer` (from `Trainer.new_run`; before the first, its weights as
    built). Its ``id`` goes into every checkpoint saved of it (``provenance["run"]``) and
    into the run's round, so that `inkloop info` finds a checkpoint's own round by it, however
    the file was renamed or copied (`inkloop._checkpoint_round`). ``batch_sizes``: [steps,
    size] as it began and at each out-of-memory halving, the size of the batches after that
    many steps."""

    batch_sizes: list[list[int]]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    trained_labels: dict | None = None  # `labels_record` as the run ended; None: under way
    cut_short: bool | None = None  # stopped before its limit; None: under way (or no run)

    @classmethod
    def starting(cls, step: int, batch_size: int) -> RunRecord:
        """The record of a run that begins after ``step`` steps, with batches of
        ``batch_size``."""
        return cls([[step, batch_size]])

    def halved(self, step: int, batch_size: int) -> None:
        """After ``step`` steps, out of memory: batches of ``batch_size`` from now on."""
        self.batch_sizes.append([step, batch_size])

    def end(self, labels, *, cut_short: bool) -> None:
        """The run ended, before its limit (``cut_short``: Stop, Ctrl+C, SIGTERM, a failed
        step) or at it. Keep the facts of its ``labels`` (a LabelStore) as they are now,
        which the checkpoints saved of its weights from now on record, not labels painted
        after its last step, which no step trained on."""
        self.trained_labels, self.cut_short = labels_record(labels), cut_short

    def provenance(self, trained_on: dict) -> dict:
        """What a checkpoint saved of this run records of it: its id, ``trained_on`` (what
        the Trainer says of the device, ...) with whether it was cut short, the software it
        ran on, and once it ended the labels it trained on (over the checkpoint's
        ``labels``)."""
        ended = {} if self.trained_labels is None else {"labels": self.trained_labels}
        trained_on = {**trained_on, "batch_sizes": self.batch_sizes, "cut_short": self.cut_short}
        return {"run": self.id, **ended, "trained_on": trained_on, "software": software_versions()}


def labels_record(labels) -> dict:
    """What a checkpoint records of ``labels`` (a LabelStore): their counts and hash."""
    return {**labels.summary(), "hash": labels.labels_hash()}
