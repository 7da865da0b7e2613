"""Many segments, one model: every block of every segment on a dask.distributed cluster.

All segments' blocks are submitted at once, so workers never idle at a segment's end; each
segment's file is finished (pyramid, move into place) as soon as its last block is stored.
A worker that dies costs its blocks, which the scheduler computes again elsewhere; a stored
chunk written twice holds the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from inkloop._overwrite import check_out, make_out_folder, refuse_folder, refuse_inputs
from inkloop.io import (
    DEFAULT_PREDICTION_FORMAT,
    SegmentError,
    is_url,
    open_segment,
    prediction_kind,
    prediction_output,
    shown_location,
)
from inkloop.io._sidefiles import prediction_name
from inkloop.predict._outcome import Job, Outcome, check_mask, taken_meanwhile
from inkloop.predict._outputs import PredictionFile
from inkloop.predict._predictor import Predictor
from inkloop.predict._provenance import model_identity, prediction_record
from inkloop.predict._segment import predict_segment

STOPPING = "stopping: removing the unfinished outputs and closing the workers"


def plan_jobs(
    segments,
    out_dir: Path,
    fmt: str = DEFAULT_PREDICTION_FORMAT,
    *,
    overwrite: bool = False,
    check=None,
    inputs: dict | None = None,
):
    """The jobs for ``segments`` into ``out_dir`` (``<id>_prediction.<fmt>``), and the
    segments skipped because their output is already complete (it exists: outputs only
    appear under their name once whole). ``check(segment)``, if given, may refuse each opened
    segment (raise) before anything is made, as `check_mask` does; so is an output that would
    replace what the run reads: any segment's files or ``inputs`` (option -> file, as
    `refuse_inputs` takes them). Without ``overwrite`` a job whose output is complete when its
    turn comes is skipped too (`Job.keep_existing`)."""
    opened, outs, names = [], [], {}
    # absolute: workers started in another folder would read and write relative paths there
    out_dir = Path(out_dir).expanduser().resolve()
    for path in segments:  # every segment opens before anything is made
        segment = open_segment(path)
        check_mask(segment)
        if check is not None:
            check(segment)
        name = segment.name
        if name in names:
            first, second = shown_location(path), shown_location(names[name])
            raise SegmentError(f"{first} and {second} are both segment {name!r}")
        names[name] = path
        opened.append(segment)
        outs.append(out_dir / prediction_name(name, fmt))
        # the --model file and its own segment, as it opens; then every segment of the batch
        refuse_inputs(outs[-1], [segment], inputs)
    refuse_inputs(outs, opened)  # one segment's output may be another's files
    for out in outs:
        refuse_folder(out)
    make_out_folder(out_dir, "--out-dir")
    jobs, skipped = [], []
    for path, planned in zip(names.values(), outs, strict=True):
        out = prediction_output(planned)
        path = path if is_url(path) else Path(path).expanduser().resolve()
        (skipped if out.exists() and not overwrite else jobs).append(Job(path, out, not overwrite))
    return jobs, skipped


def plan_predictions(
    segments,
    model,
    out,
    out_dir,
    fmt: str,
    overwrite: bool,
    z_start,
    reverse=None,
    *,
    checked_later: bool = False,
):
    """The jobs to run and the ones skipped (their output is complete), into the one file
    ``out`` or ``out_dir`` (`plan_jobs`), every segment opened and checked first: the tenth
    must not fail after nine. ``checked_later``: the one ``out`` is predicted by
    `inkloop.headless.predict_to_file`, which opens and checks its segment before it writes
    anything, so it is not opened here as well (a URL's metadata and side files fetched twice)."""
    import functools

    from inkloop.checkpoint import load_checkpoint
    from inkloop.predict._window import model_window

    if out is not None:  # one named file
        (segment,) = segments  # a URL stays one: Path() would fold its "//"
        # absolute: workers started in another folder would write a relative path there (not
        # resolved: an --out that is a link is replaced, as without --scheduler, not its target)
        out = prediction_output(out).absolute()
        if not checked_later:
            open_checked(segment, model, out, overwrite)
        return [Job(segment if is_url(segment) else Path(segment), out)], []
    fits = functools.partial(model_window, load_checkpoint(model), z_start=z_start, reverse=reverse)
    return plan_jobs(
        segments, out_dir, fmt, overwrite=overwrite, check=fits, inputs={"--model": model}
    )


def open_checked(segment, model, out: Path, overwrite: bool):
    """``segment`` (a path or URL) opened, its mask checked (`check_mask`), and ValueError if
    ``out`` may not be written: it exists (unless ``overwrite``), or it would replace the
    ``model`` file or what the segment reads (`check_out`)."""
    opened = open_segment(segment)
    check_mask(opened)
    check_out(out, [opened], {"--model": model}, overwrite=overwrite)
    return opened


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
    (whose workers read ``model`` and write the outputs: a shared file system); returns the
    written paths in the order they finished (also in ``outcome``, with the skipped and
    failed ones). An error names its segment and stops the batch; finished files stay. With
    ``keep_going`` a failed segment is given up alone (its blocks cancelled, its staged output
    removed) and the others go on. ``z_start`` moves the model's window, ``reverse`` says
    the segments are stored back to front (`model_window`)."""
    from inkloop.checkpoint import load_checkpoint

    checkpoint, weights = load_checkpoint(model), Path(model).resolve()
    outcome = Outcome() if outcome is None else outcome
    pending: dict[Job, tuple[PredictionFile, dict]] = {}  # its chunks' futures by key
    bar = _bar(0, len(jobs), progress)

    def stage(job):
        return _staged(client, checkpoint, weights, job, device, tta, z_start, reverse)

    try:  # staging too: a Ctrl-C while a segment opens leaves no staged output behind
        owner = _stage_all(jobs, stage, pending, outcome, keep_going, bar)
        _collect(client, pending, owner, outcome, keep_going, bar, len(jobs))
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            bar.write(STOPPING, file=sys.stderr)
        for output, futures in pending.values():
            client.cancel(list(futures.values()))  # not started: never write; running: may
            output.abandon()
        raise
    finally:
        bar.close()
    return outcome.written


def _stage_all(jobs, stage, pending: dict, outcome: Outcome, keep_going: bool, bar) -> dict:
    """Stage each job (``stage(job)``: `_staged`) into ``pending``, filled as they go so that
    an error midway still finds every staged output to remove; returns the job of each chunk
    future's key. A job skipped or failed in staging goes to ``outcome``; a failure stops
    the batch unless ``keep_going``."""
    owner = {}
    for job in jobs:
        staged = stage(job)
        if isinstance(staged, str):
            outcome.skip(job.out, staged)
        elif isinstance(staged, Exception):
            if not keep_going:
                raise staged
            outcome.fail(job, staged)
        else:
            pending[job] = staged
            owner.update(dict.fromkeys(staged[1], job))
            bar.total = len(owner)
    return owner


def _collect(client, pending: dict, owner: dict, outcome, keep_going: bool, bar, segments: int):
    """Wait for every chunk of the ``pending`` jobs; each job's output is finished (into
    ``outcome``) as soon as its last chunk is stored. A chunk not stored stops the batch,
    naming its segment; with ``keep_going`` its job is given up alone (its chunks cancelled,
    its staged output removed)."""
    from distributed import as_completed

    chunks = [f for _output, futures in pending.values() for f in futures.values()]
    for future, mark in as_completed(chunks, with_results=True, raise_errors=False):
        bar.update(1)
        job = owner[future.key]
        if job not in pending:  # given up: its other chunks were cancelled
            continue
        output, futures = pending[job]
        error = _not_stored(future, mark, output)
        if error is not None and not keep_going:
            raise RuntimeError(f"{shown_location(job.segment)}: {error}") from error
        if error is not None:
            client.cancel(list(futures.values()))  # its blocks not started never write
            output.abandon()
            del pending[job]
            outcome.fail(job, error)
            continue
        del futures[future.key]
        if not futures:
            outcome.written.append(output.finish())
            del pending[job]
            bar.set_postfix_str(f"{len(outcome.written)}/{segments} segments")


def _not_stored(future, mark, output: PredictionFile) -> Exception | None:
    """None if ``future`` stored its chunk: its ``mark`` came back (its status may have
    changed since: a worker lost after the chunk was written) and says the worker found the
    staged output; else why not."""
    if isinstance(mark, np.ndarray):
        if not mark.any():  # the worker found no staged output where this machine made it
            return RuntimeError(
                f"a worker could not find {output.staging}: the workers must see "
                "this machine's files at the same paths (a shared file system)"
            )
        return None
    if future.status == "error":
        _kind, error, where = mark
        return error.with_traceback(where)
    return RuntimeError(f"a block was {future.status}, not written")  # cancelled, say


def _staged(client, checkpoint, weights: Path, job: Job, device, tta, z_start, reverse=None):
    """``job``'s staged output and the futures of its chunks, persisted on ``client``; or
    why it is skipped (`taken_meanwhile`); or the Exception that stopped its staging."""
    from distributed import futures_of

    try:
        output, marks = _stage(checkpoint, weights, job, device, tta, z_start, reverse)
    except Exception as error:
        return taken_meanwhile(job, error) or error
    try:
        return output, {f.key: f for f in futures_of(client.persist(marks))}
    except BaseException:
        output.abandon()
        raise


def _stage(checkpoint, weights: Path, job: Job, device: str, tta: bool, z_start, reverse=None):
    """The staged output file of ``job`` and its lazy store (`PredictionFile.store`). One
    that another run finished since it was planned is refused once claimed, when no other
    run can finish it (`PredictionFile`'s ``overwrite``)."""
    segment = open_segment(job.segment)
    kind, overwrite = prediction_kind(job.out), not job.keep_existing
    output = PredictionFile(job.out, kind, segment.shape[1:], overwrite=overwrite)
    try:
        mask = None if segment.mask is None else np.asarray(segment.mask)
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
