"""What a checkpoint records of the run that made its weights (`RunRecord`)."""

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

    def provenance(self) -> dict:
        """What a checkpoint saved of this run records of it."""
        return {"run": self.id}
