"""What a checkpoint records of the run that made its weights (`RunRecord`), and of the
labels it trained on (`labels_record`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass
class RunRecord:
    """One run of a `Trainer` (from `Trainer.new_run`; before the first, its weights as
    built). Its ``id`` goes into every checkpoint saved of it (``provenance["run"]``) and
    into the run's round, so that `inkloop info` finds a checkpoint's own round by it, however
    the file was renamed or copied (`inkloop._checkpoint_round`)."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    trained_labels: dict | None = None  # `labels_record` as the run ended; None: under way

    def end(self, labels) -> None:
        """The run ended: keep the facts of its ``labels`` (a LabelStore) as they are now,
        which the checkpoints saved of its weights from now on record, not labels painted
        after its last step, which no step trained on."""
        self.trained_labels = labels_record(labels)

    def provenance(self) -> dict:
        """What a checkpoint saved of this run records of it (over the checkpoint's
        ``labels`` once it ended)."""
        ended = {} if self.trained_labels is None else {"labels": self.trained_labels}
        return {"run": self.id, **ended}


def labels_record(labels) -> dict:
    """What a checkpoint records of ``labels`` (a LabelStore): their counts and hash."""
    return {**labels.summary(), "hash": labels.labels_hash()}
