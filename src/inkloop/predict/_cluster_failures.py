"""What a batch on a dask.distributed cluster says when the cluster, not a segment, failed:
a worker that cannot see a file this machine sees, a scheduler that went away, workers that
all left (or never came), workers killed running a block (`WorkersKilledError`), and
failures that every segment would meet (`run_wide`)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging

from inkloop.io import SegmentError

_SEE_THE_FILES = "the workers must see the segments and the model at the same paths as this machine"
_CONNECTION_LOST = "scheduler-connection-lost"  # distributed's reason for the futures it cancels
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})  # every output would meet it


class SchedulerLostError(RuntimeError):
    """The client lost its scheduler: every block not yet stored is gone with it."""

    def __init__(self, address: str) -> None:
        super().__init__(
            f"lost the scheduler {address}; finished files stay, a rerun resumes (a dask "
            "worker stops with its scheduler: start both again)"
        )


class WorkersGoneError(RuntimeError):
    """No worker was left to run the blocks not yet stored (``had_workers``: some had been
    there) for ``waited`` seconds (None: as long as the scheduler's no-workers-timeout)."""

    def __init__(self, address: str, had_workers: bool, waited: float | None) -> None:
        within = "in its no-workers-timeout" if waited is None else f"in {waited:.0f} s"
        gone = (
            f"every worker left the scheduler {address} and none came back {within}"
            if had_workers
            else f"no worker joined the scheduler {address} {within} (dask worker {address})"
        )
        super().__init__(f"{gone}; finished files stay, a rerun resumes")


class WorkersKilledError(RuntimeError):
    """Workers died running a block (``died``: dask's KilledWorker; one after another where
    the scheduler tries a block again) of each of ``segments``: that segment's failure, or
    where it ``stops`` the batch, said so."""

    def __init__(self, segments: list[str], died, memory_limits: dict, stops: bool) -> None:
        once = died.allowed_failures == 0  # the scheduler gave the block up at its first death
        one = once and len(segments) == 1  # else several deaths: one after another, or apart
        if len(segments) == 1:
            where = f"{segments[0]}: {'a worker' if once else 'workers'} died running its block"
        else:
            where = f"workers died running blocks of {' and of '.join(segments)}"
        where += f" (dask task {died.task}){'' if once else ', one after another'}"
        end = "; finished files stay, a rerun resumes" if stops else ""
        super().__init__(f"{where}: {_likely_cause(memory_limits, one)}{end}")


class OutputsDiskError(OSError):
    """The workers could not write the outputs' folder: full, over a quota or a size limit."""

    def __init__(self, code: int, folder, why: str) -> None:
        super().__init__(code, why)
        self.said = f"{folder}: {why} (the workers write the outputs there): free room there; "
        self.said += "finished files stay, a rerun resumes"

    def __str__(self) -> str:
        return self.said


def run_wide(mark, folder) -> Exception | None:
    """The error that stops the batch, ``keep_going`` or not, where a chunk's future came back
    with ``mark`` (its exc_info) for a cause every segment would meet: the outputs'
    ``folder`` full; else None."""
    error = mark[1] if isinstance(mark, tuple) else None
    if isinstance(error, OSError) and error.errno in _DISK_FULL:
        return OutputsDiskError(error.errno, folder, error.strerror or str(error))
    return None


def killed_worker(mark):
    """The KilledWorker a chunk's future came back with (``mark``: its exc_info), else None."""
    from distributed import KilledWorker

    error = mark[1] if isinstance(mark, tuple) else None
    return error if isinstance(error, KilledWorker) else None


def _likely_cause(memory_limits: dict, one: bool) -> str:
    """Why workers most often die, by their ``memory_limits`` (by address; 0 or None: none);
    said of the worker that died where ``one`` did."""
    from dask.utils import format_bytes

    from inkloop.settings import BLOCK

    whose = "its" if one else "their"
    logs, say = (f"{whose} log", "says") if one else (f"{whose} logs", "say")
    limits = sorted({limit or 0 for limit in memory_limits.values()})
    if limits == [0]:
        have = "it has" if one else "they have"
        kernel = "its machine's kernel log" if one else "their machines' kernel logs"
        return (
            f"{have} no memory limit, so the system's out-of-memory killer or a crash "
            f"({logs}, and {kernel}, say which)"
        )
    said = ", ".join(format_bytes(limit) if limit else "no limit" for limit in limits)
    said = f"each worker may use {said}" if limits else "see each worker's --memory-limit"
    return (
        f"if {logs} {say} 'exceeded 95% memory budget', {whose} memory limit ({said}): "
        f"give each worker more memory (a {BLOCK}² block needs about 1 GB a thread, more with a "
        f"large model) or fewer threads; else a crash running that block (see {logs})"
    )


def workers_gone(mark) -> bool:
    """Whether a chunk's future came back with ``mark`` (its exc_info) because its scheduler
    had no worker to run it for its no-workers-timeout (set where it was started)."""
    from distributed.scheduler import NoWorkerError

    return isinstance(mark, tuple) and isinstance(mark[1], NoWorkerError)


def named_worker(address: str, name) -> str:
    """A worker as the user knows it: its name (``dask worker --name``) and address."""
    return address if name in (None, "", address) else f"{name} ({address})"


def scheduler_lost(client, mark) -> bool:
    """Whether a chunk's future came back with ``mark`` because the connection to the
    scheduler closed (distributed cancels every future then), not through its segment."""
    if not isinstance(mark, BaseException):  # stored (its mark) or failed (its exc_info)
        return False
    return getattr(mark, "reason", None) == _CONNECTION_LOST or client.status != "running"


@contextlib.contextmanager
def lost_quietly():
    """Within it, distributed's client does not log the connection it lost, nor its attempts
    to reconnect, cut short when it closes (tracebacks of CommClosedError, CancelledError):
    `SchedulerLostError` says it in one line."""
    from distributed.comm import CommClosedError

    def not_about_the_connection(record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, CommClosedError | asyncio.CancelledError):
            return False
        return not str(record.msg).startswith("Failed to reconnect")

    log = logging.getLogger("distributed.client")
    log.addFilter(not_about_the_connection)
    try:
        yield
    finally:
        log.removeFilter(not_about_the_connection)


def as_seen_by_worker(client, key, error: BaseException) -> BaseException:
    """``error`` as the chunk ``key``'s task raised it on a worker: one saying that a file
    is missing there (this machine opened it) names the worker and that it must see them."""
    # io says "PATH: no such image file" (a mask), "PATH: no such file or folder"
    missing = isinstance(error, FileNotFoundError) or (
        isinstance(error, SegmentError) and ": no such " in str(error)
    )
    if not missing:
        return error
    seen = f"on {_blamed_worker(client, key)}: {error} ({_SEE_THE_FILES})"
    # of its kind still: the user's to fix (`inkloop._errors.users_error`), not a bug
    return SegmentError(seen) if isinstance(error, SegmentError) else FileNotFoundError(seen)


def _blamed_worker(client, key) -> str:
    """'worker NAME (ADDRESS)' where the task behind the chunk ``key`` failed, as its
    scheduler recorded it; 'a worker' where it cannot tell."""

    def erred_on(key, dask_scheduler) -> list[tuple[str, str]]:  # runs on the scheduler
        task = dask_scheduler.tasks.get(key)
        failed = task.exception_blame or task if task is not None else None
        addresses = sorted(getattr(failed, "erred_on", None) or ())
        named = {a: str(getattr(dask_scheduler.workers.get(a), "name", a)) for a in addresses}
        return list(named.items())

    try:  # erred_on is nested: it travels by value, to a scheduler that may lack inkloop
        workers = client.run_on_scheduler(erred_on, key)
    except Exception as error:  # the name is a courtesy: the error itself is said anyway
        logging.getLogger(__name__).warning("could not ask which worker failed: %s", error)
        workers = []
    if not workers:
        return "a worker"
    return ", ".join(f"worker {named_worker(a, n)}" for a, n in workers)
