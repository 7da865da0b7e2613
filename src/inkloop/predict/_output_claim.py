"""The claim on writing a prediction output, and what a run killed while it held one left
beside the output: its staged blocks, which the next run into that output removes."""

from __future__ import annotations

import os
from pathlib import Path

from inkloop._locks import LOCKS, try_lock
from inkloop._notify import notify
from inkloop.predict._placing import beside, remove


class ClaimedError(ValueError):
    """Another run is writing this output now (it holds the output's claim)."""


class Claim:
    """An exclusive lock on writing ``out`` (``.NAME.lock`` beside it), which the system lets
    go of when the process ends, however it ends: a second run into the same output is
    refused, where it would delete the first one's staged blocks. POSIX only."""

    def __init__(self, out: Path) -> None:
        self.path, self.file = beside(out, "lock"), None
        if not LOCKS:  # Windows: no claim
            return
        self.file = open(self.path, "a")  # noqa: SIM115 (held until release)
        if not try_lock(self.file):
            self.file.close()
            raise ClaimedError(f"{out}: another prediction is writing it now")

    def release(self) -> None:
        if self.file is not None and not self.file.closed:
            self.path.unlink(missing_ok=True)
            self.file.close()


def remove_left_staging(staging: Path) -> None:
    """Remove what an interrupted run staged (a live one holds the claim), saying so."""
    if staging.is_dir():
        found = sum(name != "zarr.json" for *_, names in os.walk(staging) for name in names)
        blocks = f"{found} block{'s' * (found != 1)}"
        notify(
            f"an interrupted run's staging {staging} ({blocks}) is removed; its blocks are "
            "computed again"
        )
    remove(staging)
