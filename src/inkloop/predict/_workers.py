"""What `inkloop predict --scheduler` asks of a cluster's workers: each of them, present
as the run starts or joining later, with this inkloop version and a torch (`check_workers`,
`WorkersWatch`); while chunks wait, a worker within a bounded time (`WorkersWatch`): an
adaptive cluster starts its workers only once tasks wait, so none is needed at connect; that
they end the stores of an output given up before it is removed (`cancel_and_wait`); and, as
the run ends, that they forget what they kept for it (`forget_the_run`)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import inkloop
from inkloop._notify import notify
from inkloop.predict._cluster_failures import WorkersGoneError, named_worker

log = logging.getLogger(__name__)
# chunks wait this long for a worker (a nanny restarts a lost worker in seconds; an
# adaptive cluster starts its first ones once tasks wait)
NO_WORKERS_TIMEOUT_S = 300.0
# how often a run waiting on its chunks looks at the cluster's workers
WATCH_EVERY_S = 2.0
# a worker refused mid-run: dask cannot keep a run's tasks off it without restricting every
# task to the workers probed, which an adaptive cluster (none at connect) cannot start
_STOPS_THE_RUN = (
    "; it joined while the run went on, which stops here: finished files stay, a rerun "
    "resumes (with that worker stopped or given this inkloop)"
)
# how often, and how long, a run giving up outputs waits for their cancelled stores still
# running (`cancel_and_wait`); a store task only adds up its block's sums (the model's
# passes are tasks of their own) and writes them, but a batch system's SIGKILL may follow
# its SIGTERM within 30 s
WAIT_FOR_STORES_S = 0.2
STORES_WAITED_S = 10.0
# a worker's states of a task it still runs (a cancelled one runs to its end)
_RUNNING_STATES = frozenset({"executing", "long-running", "cancelled", "resumed"})


def check_workers(client, scheduler: str, workers: list[str] | None = None) -> dict:
    """RuntimeError in one line naming each worker of ``scheduler`` (those given, else every
    one there now: none is fine) without inkloop, with another inkloop version or without
    torch: such a worker fails every task it is given, and another version computes other
    pixels than the provenance says. Workers with another torch release are told, not
    refused. Returns what the scheduler knows of each worker there, by address."""
    answers = client.run(_versions_probe(), workers=workers, on_error="return")
    present = client.scheduler_info(n_workers=-1)["workers"]
    names = {address: info.get("name") for address, info in present.items()}
    refused = {
        named_worker(address, names.get(address)): what
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
    return present


class WorkersWatch:
    """What a run waiting on its chunks looks at, every `WATCH_EVERY_S` and as results come
    (`look`): a worker that joined since is probed (`check_workers`) before its results are
    taken; no worker there for `NO_WORKERS_TIMEOUT_S` stops the run (`WorkersGoneError`).
    It asks the scheduler, and sets nothing there: a shared one is left as it was."""

    def __init__(self, client, scheduler: str):
        self.client, self.scheduler = client, scheduler
        self.address = client.scheduler.address  # as it was: a lost client may forget it
        self.probed: set[str] = set()
        self.memory_limits: dict[str, int | None] = {}  # of each worker seen, for messages
        self.had_workers = False
        self.alone_since: float | None = None
        self.next_look = 0.0
        self.looked = False  # once: the workers probed later joined the run

    def look(self, at_once: bool = False) -> None:
        """Probe the workers that joined, and raise `WorkersGoneError` once there was no
        worker for `NO_WORKERS_TIMEOUT_S`; at most every `WATCH_EVERY_S` unless ``at_once``
        (results came: a worker that joined is probed before they are taken)."""
        now = time.monotonic()
        if self.client.status != "running":  # lost: its futures say so (`SchedulerLostError`)
            return
        if now < self.next_look and not at_once:
            return
        self.next_look = now + WATCH_EVERY_S
        try:
            present = set(self.client.nthreads())
        except OSError:  # the connection closed: as above
            return
        if joined := sorted(present - self.probed):
            try:
                known = check_workers(self.client, self.scheduler, joined)
            except RuntimeError as refused:
                if not self.looked:  # there as the run began: refused as at connect
                    raise
                raise RuntimeError(f"{refused}{_STOPS_THE_RUN}") from None
            limits = {a: known[a].get("memory_limit") for a in joined if a in known}
            self.memory_limits.update(limits)
            self.probed.update(joined)
        self.looked = True
        if present:
            self.had_workers, self.alone_since = True, None
        elif self.alone_since is None:
            self.alone_since = now
        elif now - self.alone_since >= NO_WORKERS_TIMEOUT_S:
            raise WorkersGoneError(self.address, self.had_workers, NO_WORKERS_TIMEOUT_S)


@dataclass
class RunKeeps:
    """What a run's blocks keep on the workers that run them: its segments' decoded masks
    (by their lazy masks' names, `_segment._MASKS`) and its models (by weights file and
    stamp, `_travel._MODELS`)."""

    masks: set[str] = field(default_factory=set)
    models: set[tuple[str, tuple[int, int]]] = field(default_factory=set)


def forget_the_run(client, kept: RunKeeps) -> None:
    """Have each worker drop what inkloop keeps there for this run's blocks (``kept``). A
    shared cluster's workers outlive the run, and held them (up to 2 x 600 MB and a model
    each) against other jobs' memory; nothing else is touched, another inkloop run's masks
    and models neither."""
    try:
        client.run(_forget, sorted(kept.masks), sorted(kept.models), on_error="ignore")
    except Exception as error:  # their memory is not worth the run's outcome
        log.warning("the workers may keep the run's masks and models: %s", error)


def _forget(masks: list[str], models: list) -> None:
    """On a worker (which has this inkloop: `check_workers`), on its event loop: so no lock
    is waited on (a dict's pop is atomic; a block of the run still decoding puts back at
    most one entry)."""
    from inkloop.predict import _segment, _travel

    for name in masks:
        _segment._MASKS.pop(name, None)
    for path, stamp in models:
        _travel._MODELS.pop((path, tuple(stamp)), None)


def cancel_and_wait(client, futures: list) -> None:
    """Cancel ``futures`` (chunks' stores) and return once no worker still runs one, or
    after `STORES_WAITED_S`. A cancel does not stop a task already running: it would write
    its chunk into the staged output being removed, or make that anew. Workers that cannot
    be asked are not waited for (a lost scheduler's stop with it), nor past the time left
    (a broadcast waits on every worker: a stopped one never answers)."""
    names = sorted({_name(future.key) for future in futures})
    client.cancel(futures)
    until = time.monotonic() + STORES_WAITED_S
    while names and (left := until - time.monotonic()) > 0:
        try:
            running = client.run(_running, names, on_error="return", callback_timeout=left)
        except Exception:  # the scheduler went away, or a worker did not answer in time
            return
        if not any(isinstance(keys, list) and keys for keys in running.values()):
            return
        time.sleep(WAIT_FOR_STORES_S)


def _running(names: list[str], dask_worker=None) -> list:
    """On a worker: the keys of the tasks it still runs, cancelled or not, that store the
    chunks ``names``: dask fuses a store into the tasks before it, named ``…-NAME``."""
    return [
        key
        for key, task in dask_worker.state.tasks.items()
        if task.state in _RUNNING_STATES and _name(key).endswith(tuple(names))
    ]


def _name(key) -> str:
    return str(key[0] if isinstance(key, tuple) else key)


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
        f"{named_worker(address, names.get(address))} has torch {answer['torch']}"
        for address, answer in answers.items()
        if _release(answer["torch"]) != _release(here)
    )
    if other:
        notify(f"{'; '.join(other)}, this machine {here}: predictions may differ slightly")


def _release(torch_version: str) -> str:
    return torch_version.split("+", 1)[0]
