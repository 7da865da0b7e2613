"""Many segments, one model: every block of every segment on a dask.distributed cluster.

All segments' blocks are submitted at once, so workers never idle at a segment's end; each
segment's file is finished (pyramid, move into place) as soon as its last block is stored.
A worker that dies costs its blocks, which the scheduler computes again elsewhere; a stored
chunk written twice holds the same bytes.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inkloop._overwrite import make_out_folder, refuse_folder, refuse_inputs
from inkloop.io import (
    DEFAULT_PREDICTION_FORMAT,
    SegmentError,
    is_url,
    open_segment,
    prediction_kind,
    prediction_output,
    shown_location,
)
from inkloop.predict._outputs import PredictionFile
from inkloop.predict._predictor import Predictor
from inkloop.predict._segment import predict_segment

STOPPING = "stopping: removing the unfinished outputs and closing the workers"


@dataclass(frozen=True)
class Job:
    """One segment and the file its prediction goes to."""

    segment: Path | str  # a URL stays text
    out: Path


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
    segment (raise) before anything is made; so is an output that would replace what the run
    reads: any segment's files or ``inputs`` (option -> file, as `refuse_inputs` takes them)."""
    opened, outs, names = [], [], {}
    # absolute: workers started in another folder would read and write relative paths there
    out_dir = Path(out_dir).expanduser().resolve()
    for path in segments:  # every segment opens before anything is made
        segment = open_segment(path)
        if check is not None:
            check(segment)
        name = segment.name
        if name in names:
            first, second = shown_location(path), shown_location(names[name])
            raise SegmentError(f"{first} and {second} are both segment {name!r}")
        names[name] = path
        opened.append(segment)
        outs.append(out_dir / f"{name}_prediction.{fmt}")
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
        (skipped if out.exists() and not overwrite else jobs).append(Job(path, out))
    return jobs, skipped


def predict_jobs(
    model: Path, jobs: list[Job], client, *, device="auto", tta=False, z_start=None, progress=True
):
    """Predict every job with the checkpoint ``model`` on the dask.distributed ``client``
    (whose workers read ``model`` and write the outputs: a shared file system); returns the
    written paths in the order they finished. An error names its segment; finished files
    stay. ``z_start`` moves the model's window (`model_window`)."""
    from distributed import as_completed, futures_of

    from inkloop.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(model)
    pending: dict[Job, tuple[PredictionFile, set]] = {}  # jobs differ in their outputs
    owner, chunks = {}, []  # chunk future key -> its job; every chunk's future
    written = []
    bar = _bar(0, len(jobs), progress)
    try:  # staging too: a Ctrl-C while a segment opens leaves no staged output behind
        for job in jobs:
            output, marks = _stage(checkpoint, Path(model).resolve(), job, device, tta, z_start)
            pending[job] = (output, set())
            futures = futures_of(client.persist(marks))
            pending[job][1].update(f.key for f in futures)  # empty once all are written
            owner.update((f.key, job) for f in futures)
            chunks += futures
            bar.total = len(chunks)
        for future, mark in as_completed(chunks, with_results=True, raise_errors=False):
            job = owner[future.key]
            output, keys = pending[job]
            _check_stored(future, mark, job, output)
            keys.discard(future.key)
            bar.update(1)
            if not keys:
                written.append(output.finish())
                del pending[job]
                bar.set_postfix_str(f"{len(written)}/{len(jobs)} segments")
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            bar.write(STOPPING, file=sys.stderr)
        client.cancel(chunks)  # blocks not started yet never write; running ones may still
        for output, _keys in pending.values():
            output.abandon()
        raise
    finally:
        bar.close()
    return written


def _check_stored(future, mark, job: Job, output: PredictionFile) -> None:
    """RuntimeError, naming the segment, unless ``future`` stored its chunk: its ``mark``
    came back (its status may have changed since: a worker lost after the chunk was written)
    and says the worker found the staged output."""
    where = shown_location(job.segment)
    if isinstance(mark, np.ndarray):
        if not mark.any():  # the worker found no staged output where this machine made it
            raise RuntimeError(
                f"{where}: a worker could not find {output.staging}: the workers must see "
                "this machine's files at the same paths (a shared file system)"
            )
        return
    if future.status == "error":
        _kind, error, _traceback = mark
        raise RuntimeError(f"{where}: {error}") from error
    raise RuntimeError(f"{where}: a block was {future.status}, not written")  # cancelled, say


def _stage(checkpoint, weights: Path, job: Job, device: str, tta: bool, z_start):
    """The staged output file of ``job`` and its lazy store (`PredictionFile.store`)."""
    segment = open_segment(job.segment)
    mask = None if segment.mask is None else np.asarray(segment.mask)
    predictor = Predictor.from_checkpoint(  # on the CPU here: only the workers need a GPU
        checkpoint,
        segment,
        device="cpu",
        device_request=device,
        mask=mask,
        tta=tta,
        z_start=z_start,
        weights_file=str(weights),
    )
    probability = predict_segment(predictor, segment, mask, mask_in_graph=False)
    output = PredictionFile(job.out, prediction_kind(job.out), probability.shape)
    return output, output.store(probability)


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
