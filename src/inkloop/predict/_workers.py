"""What `inkloop predict --scheduler` asks of a cluster's workers before any work: at least
one of them, each with this inkloop version and a torch (`check_workers`); and, during the
run, that tasks left without any worker fail instead of waiting for ever
(`no_workers_timeout`)."""

from __future__ import annotations

import logging
from contextlib import contextmanager

import inkloop
from inkloop._notify import notify

log = logging.getLogger(__name__)
# a dask scheduler's workers may still be starting when inkloop connects
WORKERS_WAIT_S = 60.0
# tasks with no worker left fail after this (a nanny restarts a lost worker in seconds)
NO_WORKERS_TIMEOUT_S = 300.0


def check_workers(client, scheduler: str) -> None:
    """Wait (`WORKERS_WAIT_S`) for a worker of ``scheduler``, then RuntimeError in one line
    naming each worker without inkloop, with another inkloop version or without torch: such
    a worker fails every task it is given, and another version computes other pixels than
    the provenance says. Workers with another torch release are told, not refused."""
    try:
        client.wait_for_workers(1, timeout=WORKERS_WAIT_S)
    except TimeoutError:
        raise RuntimeError(
            f"--scheduler {scheduler}: no worker joined it in {WORKERS_WAIT_S:.0f} s; "
            f"start some (dask worker {scheduler}) and run again"
        ) from None
    answers = client.run(_versions_probe(), on_error="return")
    workers = client.scheduler_info()["workers"]
    names = {address: info.get("name") for address, info in workers.items()}
    refused = {
        _named(address, names.get(address)): what
        for address, answer in sorted(answers.items())
        if (what := _unfit(answer)) is not None
    }
    if refused:
        listed = "; ".join(f"{worker} {what}" for worker, what in refused.items())
        raise RuntimeError(
            f"--scheduler {scheduler}: {listed}: every worker needs inkloop "
            f"{inkloop.__version__} (this machine's) and torch"
        )
    _tell_other_torch(answers, names)


def _versions_probe():
    """The function `check_workers` runs on each worker. Made in here, it belongs to no
    module, so dask's cloudpickle sends its code: a worker with any inkloop, or none, can
    load and run it (one of inkloop's module functions would need inkloop to load)."""

    def versions() -> dict:
        from importlib.metadata import PackageNotFoundError, version

        try:
            import inkloop
        except ModuleNotFoundError:
            found = None
        else:
            found = inkloop.__version__
        try:
            torch = version("torch")
        except PackageNotFoundError:
            torch = None
        return {"inkloop": found, "torch": torch}

    return versions


def _unfit(answer) -> str | None:
    """Why a worker that answered ``answer`` (the probe's result or the error it raised)
    cannot run this inkloop's tasks; None if it can."""
    if isinstance(answer, Exception):
        return f"could not answer which inkloop it has ({type(answer).__name__}: {answer})"
    if answer["inkloop"] is None:
        return "has no inkloop"
    if answer["inkloop"] != inkloop.__version__:
        return f"has inkloop {answer['inkloop']}"
    if answer["torch"] is None:
        return "has no torch"
    return None


def _tell_other_torch(answers: dict, names: dict) -> None:
    """Notify once which workers have another torch release than this machine (a CUDA or
    CPU build of the same release, ``+cu121``, is the same): their numbers may differ in
    the last bits, which the outputs' provenance does not record."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        here = version("torch")
    except PackageNotFoundError:  # this machine reads the checkpoint with torch: not reached
        return
    other = sorted(
        f"{_named(address, names.get(address))} has torch {answer['torch']}"
        for address, answer in answers.items()
        if _release(answer["torch"]) != _release(here)
    )
    if other:
        notify(f"{'; '.join(other)}, this machine {here}: predictions may differ slightly")


def _release(torch_version: str) -> str:
    return torch_version.split("+", 1)[0]


def _named(address: str, name) -> str:
    """A worker as the user knows it: its name (``dask worker --name``) and address."""
    return address if name in (None, "", address) else f"{name} ({address})"


@contextmanager
def no_workers_timeout(client):
    """Within it, a task the scheduler cannot give to any worker (all of them left) fails
    after `NO_WORKERS_TIMEOUT_S`, where the scheduler sets no such limit itself. dask's
    ``distributed.scheduler.no-workers-timeout`` is read once, where the scheduler starts
    (for a ``tcp://`` one, in another process): this sets its value on the running
    scheduler, and puts the unset value back at the end."""
    try:  # set here only where unset: a value the scheduler was started with stays
        set_here = client.run_on_scheduler(_swap_timeout(), None, NO_WORKERS_TIMEOUT_S) is None
    except Exception as error:  # an older distributed, say: the run goes on without it
        log.warning("could not set the scheduler's no-workers-timeout: %s", error)
        set_here = False
    try:
        yield
    finally:
        if set_here and client.status == "running":
            _restore_timeout(client)


def _restore_timeout(client) -> None:
    try:
        client.run_on_scheduler(_swap_timeout(), NO_WORKERS_TIMEOUT_S, None)
    except Exception as error:
        log.warning("could not unset the scheduler's no-workers-timeout: %s", error)


def _swap_timeout():
    """A function of no module (see `_versions_probe`: the scheduler need not have inkloop)
    that sets the scheduler's no-workers timeout to ``new`` where it is ``old``."""

    def swap(old, new, dask_scheduler):
        was = dask_scheduler.no_workers_timeout
        if was == old:
            dask_scheduler.no_workers_timeout = new
        return was

    return swap
