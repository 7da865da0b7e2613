"""Many segments, one model: every block of every segment on a dask.distributed cluster.

All segments' blocks are submitted at once, so workers never idle at a segment's end, the
segments roughly in their order (`_staged`'s priority; not strictly with --tta or several
threads a worker); each segment's file is finished (pyramid, move into place) as soon as
its last block is stored, so a run stopped part way keeps most of those finished.
A worker that dies costs its blocks, which the scheduler computes again elsewhere; a stored
chunk written twice holds the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from inkloop._notify import notify
from inkloop.io import open_segment, prediction_kind, shown_location
from inkloop.predict._cluster_failures import (
    SchedulerLostError,
    WorkersGoneError,
    WorkersKilledError,
    as_seen_by_worker,
    killed_worker,
    run_wide,
    scheduler_lost,
    workers_gone,
)
from inkloop.predict._outcome import Job, Outcome, taken_meanwhile
from inkloop.predict._outputs import PredictionFile
from inkloop.predict._predictor import Predictor
from inkloop.predict._provenance import model_identity, prediction_record
from inkloop.predict._segment import predict_segment
from inkloop.predict._workers import RunKeeps, WorkersWatch, cancel_and_wait, forget_the_run

STOPPING = "stopping: removing the unfinished outputs and closing the workers"


def predict_jobs(
    model: Path,
    jobs: list[Job],
    client,
    *,
    device="auto",
    tta=False,
    z_start=None,
    reverse=None,
    progress=True,
    keep_going: bool = False,
    outcome: Outcome | None = None,
):
    """Predict every job with the checkpoint ``model`` on the dask.distributed ``client``
    (whose workers read ``model`` and the segments, and write the outputs: a shared file
    system); returns the written paths in the order they finished (also in ``outcome``, with
    the skipped and failed ones). An error names its segment and stops the batch; finished
    files stay. With ``keep_going`` a failed segment is given up alone (its blocks cancelled,
    its staged output removed) and the others go on. A lost scheduler, or workers all gone,
    stop the batch in one line (`SchedulerLostError`, `WorkersGoneError`), ``keep_going``
    or not, as do a full disk (`run_wide`) and a second worker's death failing another
    segment (`_killed`); workers that join are checked (`WorkersWatch`). ``z_start`` moves the
    model's window, ``reverse`` says the segments are stored back to front (`model_window`)."""
    from inkloop.checkpoint import load_checkpoint

    checkpoint, weights = load_checkpoint(model), Path(model).resolve()
    outcome = Outcome() if outcome is None else outcome
    pending: dict[Job, tuple[PredictionFile, dict]] = {}  # its chunks' futures by key
    watch = WorkersWatch(client, client.scheduler.address)
    watch.look()  # the workers there now, probed: workers that all leave are missed
    bar = _bar(0, len(jobs), progress)
    kept = RunKeeps()  # what the run's blocks keep on the workers, forgotten at its end

    def stage(job, order):
        options = (device, tta, z_start, reverse, kept, -order)  # positional: tests stand in
        return _staged(client, checkpoint, weights, job, *options)

    lost = False  # the scheduler: asking it anything would then wait for its return
    try:  # staging too: a Ctrl-C while a segment opens leaves no staged output behind
        owner = _stage_all(jobs, stage, pending, outcome, keep_going, bar)
        _collect(watch, pending, owner, outcome, keep_going, bar, len(jobs))
    except BaseException as error:
        lost = isinstance(error, SchedulerLostError)
        if isinstance(error, KeyboardInterrupt):
            bar.write(STOPPING, file=sys.stderr)
        _give_up(client, list(pending.values()), wait=not lost)
        raise
    finally:
        bar.close()
        if not lost and client.status == "running":  # reconnecting: asking would wait on it
            forget_the_run(client, kept)
    return outcome.written


def _stage_all(jobs, stage, pending: dict, outcome: Outcome, keep_going: bool, bar) -> dict:
    """Stage each job (``stage(job)``: `_staged`) into ``pending``, filled as they go so that
    an error midway still finds every staged output to remove; returns the job of each chunk
    future's key. A job skipped or failed in staging goes to ``outcome``; a failure stops
    the batch unless ``keep_going``."""
    owner = {}
    for order, job in enumerate(jobs):
        staged = stage(job, order)
        if isinstance(staged, str):
            outcome.skip(job.out, staged)
        elif isinstance(staged, Exception):
            if not keep_going:
                raise staged
            outcome.fail(job, staged)
        else:
            pending[job] = staged
            outcome.begin()  # its blocks run: an error now stops a run part way
            owner.update(dict.fromkeys(staged[1], job))
            bar.total = len(owner)
    return owner


def _collect(watch, pending: dict, owner: dict, outcome, keep_going: bool, bar, segments: int):
    """Wait for every chunk of the ``pending`` jobs; each job's output is finished (into
    ``outcome``) as soon as its last chunk is stored. A chunk not stored stops the batch,
    naming its segment; with ``keep_going`` its job is given up alone (its chunks cancelled,
    its staged output removed). A lost scheduler, workers all gone, or a failure every
    segment would meet (`run_wide`, `_killed`) stop it whatever ``keep_going`` says; so
    does a worker that joins unfit (`WorkersWatch`)."""
    client, address, killed = watch.client, watch.address, {}
    chunks = [f for _output, futures in pending.values() for f in futures.values()]
    for future, mark in _completed(watch, chunks):
        bar.update(1)
        job = owner[future.key]
        if job not in pending:  # given up: its other chunks were cancelled
            continue
        if scheduler_lost(client, mark):  # no segment's fault: none is blamed
            raise SchedulerLostError(address)
        if workers_gone(mark):  # the scheduler's own no-workers-timeout
            raise WorkersGoneError(address, had_workers=True, waited=None)
        output, futures = pending[job]
        if (stop := run_wide(mark, output.out.parent)) is not None:
            raise stop from mark[1]
        if (died := killed_worker(mark)) is not None:
            error = _killed(died, job, killed, keep_going, watch.memory_limits)
        elif (error := _not_stored(client, future, mark, output)) and not keep_going:
            raise RuntimeError(f"{shown_location(job.segment)}: {error}") from error
        if error is not None:
            outcome.fail(job, error)  # first: a Ctrl-C in the give-up's wait keeps it
            _give_up(client, [pending.pop(job)])
            continue
        del futures[future.key]
        if not futures:
            outcome.written.append(output.finish())
            del pending[job]
            bar.set_postfix_str(f"{len(outcome.written)}/{segments} segments")


def _killed(died, job: Job, killed: dict, keep_going: bool, limits: dict) -> Exception:
    """The error of ``job``, whose block's workers died (``died``, a KilledWorker): that
    segment's alone (a crash in its data, say) where ``keep_going``; raised, to stop the
    batch, where not, or where another worker's death failed an earlier segment (their
    memory limit, say: every block meets it). ``killed``: the segments failed so far, by
    the dead worker (its server_id: the blocks queued on it die with the culprit)."""
    killed.setdefault(died.last_worker.server_id, []).append(shown_location(job.segment))
    named = [segment for segments in killed.values() for segment in segments]
    stops = not keep_going or len(killed) > 1
    try:  # raised here: the user's to fix (`users_error`), not a bug in inkloop
        raise WorkersKilledError(named if stops else named[-1:], died, limits, stops) from died
    except WorkersKilledError as error:
        if stops:
            raise
        return error


def _give_up(client, staged: list, wait: bool = True) -> None:
    """Remove each staged output of ``staged`` ((output, its chunks' futures) pairs) once
    its chunks are cancelled and none is still being stored (unless not ``wait``: the
    scheduler is lost). One that cannot be removed is said; the others still are."""
    try:
        if wait:
            cancel_and_wait(client, [f for _output, futures in staged for f in futures.values()])
    finally:  # a second Ctrl-C cuts the wait short, not the removal
        for output, _futures in staged:
            try:
                output.abandon()
            except OSError as error:
                notify(f"{output.staging} could not be removed ({error}): a rerun removes it")


def _completed(watch, chunks: list):
    """(future, its result or exc_info) of each of ``chunks`` as it completes; the cluster's
    workers are looked at meanwhile (`WorkersWatch.look`), while none completes too."""
    from distributed import as_completed

    done = as_completed(chunks, with_results=True, raise_errors=False)
    while not done.is_empty():
        ready = done.next_batch(block=False)
        watch.look(at_once=bool(ready))
        yield from ready
        if not ready:  # as as_completed's own iterator waits
            with done.thread_condition:
                done.thread_condition.wait(timeout=0.1)


def _not_stored(client, future, mark, output: PredictionFile) -> Exception | None:
    """None if ``future`` stored its chunk: its ``mark`` came back (its status may have
    changed since: a worker lost after the chunk was written) and says the worker found the
    staged output; else why not (a file missing on a worker says so: `as_seen_by_worker`)."""
    if isinstance(mark, np.ndarray):
        if not mark.any():  # the worker found no staged output where this machine made it
            return RuntimeError(
                f"a worker could not find {output.staging}: the workers must see "
                "this machine's files at the same paths (a shared file system)"
            )
        return None
    if future.status == "error":
        _kind, error, where = mark
        return as_seen_by_worker(client, future.key, error.with_traceback(where))
    return RuntimeError(f"a block was {future.status}, not written")  # cancelled, say


def _staged(
    client, checkpoint, weights, job: Job, device, tta, z_start, reverse=None, kept=None, priority=0
):
    """``job``'s staged output and the futures of its chunks, persisted on ``client`` at
    ``priority`` (higher first); or why it is skipped (`taken_meanwhile`); or the Exception
    that stopped its staging."""
    from distributed import futures_of

    try:
        output, marks = _stage(checkpoint, weights, job, device, tta, z_start, reverse, kept)
    except Exception as error:
        return taken_meanwhile(job, error) or error
    try:
        # without it the scheduler mixes the segments' blocks (its own order is per graph),
        # and all of them finish near the run's end: a run stopped at 90% would keep none
        futures = futures_of(client.persist(marks, priority=priority))
        return output, {f.key: f for f in futures}
    except BaseException:
        output.abandon()
        raise


def _stage(checkpoint, weights: Path, job: Job, device, tta, z_start, reverse=None, kept=None):
    """The staged output file of ``job`` and its lazy store (`PredictionFile.store`). One
    that another run finished since it was planned is refused once claimed, when no other
    run can finish it (`PredictionFile`'s ``overwrite``). What its blocks will keep on the
    workers goes into ``kept`` (`RunKeeps`)."""
    segment = open_segment(job.segment)
    kind, overwrite = prediction_kind(job.out), not job.keep_existing
    output = PredictionFile(job.out, kind, segment.shape[1:], overwrite=overwrite)
    try:
        # decoded here, not on the cluster (its scheduler while a Client is open): staging
        # must not wait on workers, nor fail by what they cannot see
        mask = None if segment.mask is None else segment.mask.compute(scheduler="sync")
        predictor = Predictor.from_checkpoint(  # on the CPU here: only the workers need a GPU
            checkpoint,
            segment,
            device="cpu",
            device_request=device,
            mask=mask,
            tta=tta,
            z_start=z_start,
            reverse=reverse,
            weights_file=str(weights),
        )
        if kept is not None:
            kept.models.add((predictor.weights_file, predictor.weights_stamp))
            if segment.mask is not None:
                kept.masks.add(segment.mask.name)
        whole, model = (0, 0, *segment.shape[1:]), model_identity(checkpoint)
        output.record = prediction_record(predictor, segment, model, whole, device=device)
        probability = predict_segment(predictor, segment, mask, mask_in_graph=False)
        return output, output.store(probability)
    except BaseException:
        output.abandon()
        raise


def _bar(chunks: int, segments: int, enabled: bool):
    from tqdm import tqdm

    from inkloop._progress import tqdm_pace

    return tqdm(
        total=chunks,
        desc=f"Predicting {segments} segment{'s' * (segments != 1)}",
        unit="chunk",
        file=sys.stderr,
        disable=not enabled,
        **tqdm_pace(),
    )
