"""A batch planned before any of it runs: every segment opened and checked, each output
named and checked against what the run reads, and the finished outputs the run keeps
(`inkloop.predict._resume`): the tenth segment must not fail after nine."""

from __future__ import annotations

from pathlib import Path

from inkloop._overwrite import check_out, make_out_folder, refuse_folder, refuse_inputs
from inkloop.io import (
    DEFAULT_PREDICTION_FORMAT,
    SegmentError,
    is_url,
    open_segment,
    prediction_output,
    shown_location,
)
from inkloop.io._sidefiles import prediction_name
from inkloop.predict._outcome import Job, Outcome, check_mask
from inkloop.predict._provenance import model_identity
from inkloop.predict._resume import making, refuse_made_otherwise


def plan_jobs(
    segments,
    out_dir: Path,
    fmt: str = DEFAULT_PREDICTION_FORMAT,
    *,
    overwrite: bool = False,
    check=None,
    inputs: dict | None = None,
    refused: Outcome | None = None,
):
    """The jobs for ``segments`` into ``out_dir`` (``<id>_prediction.<fmt>``), and the
    segments skipped because their output is already complete (it exists: outputs only
    appear under their name once whole). ``check(segment)``, if given, may refuse each opened
    segment (raise) before anything is made, as `check_mask` does; what it returns, if not
    None, is how this run makes the segment's output (`making`): an output there is then
    skipped only where it records the same, else the batch is refused
    (`refuse_made_otherwise`). Refused too: an output that would replace what the run reads,
    any segment's files or ``inputs`` (option -> file, as `refuse_inputs` takes them). With
    ``refused`` (an Outcome: --keep-going) a segment that does not open or is refused by a
    check fails alone, said once the batch is accepted; without, it refuses the batch.
    Without ``overwrite`` a job whose output is complete when its turn comes is skipped too
    (`Job.keep_existing`)."""
    planned = {}  # segment id -> (path, opened segment, its output, its making)
    rejected = []  # (job, error) of the segments refused as they open: failed, once planned
    # absolute: workers started in another folder would read and write relative paths there
    out_dir = Path(out_dir).expanduser().resolve()
    for path in segments:  # every segment opens before anything is made
        out = None  # until it opens
        try:
            segment = open_segment(path)
            out = out_dir / prediction_name(segment.name, fmt)
            check_mask(segment)
            made = None if check is None else check(segment)
        except Exception as error:
            if refused is None:
                raise
            rejected.append((Job(_absolute(path), out), error))
            continue
        if segment.name in planned:
            first, second = shown_location(path), shown_location(planned[segment.name][0])
            raise SegmentError(f"{first} and {second} are both segment {segment.name!r}")
        planned[segment.name] = (path, segment, out, made)
        # the --model file and its own segment, as it opens; then every segment of the batch
        refuse_inputs(out, [segment], inputs)
    outs = [out for _path, _segment, out, _made in planned.values()]
    opened = [segment for _path, segment, _out, _made in planned.values()]
    refuse_inputs(outs, opened)  # one segment's output may be another's files
    for out in outs:
        refuse_folder(out)
    make_out_folder(out_dir, "--out-dir")
    jobs = _jobs(planned.values(), overwrite)
    for job, error in rejected:  # only now: a batch refused as a whole says only that
        refused.fail(job, error)
    return jobs


def _jobs(planned, overwrite: bool) -> tuple[list[Job], list[Job]]:
    """The jobs to run and those skipped (their output is complete) of the ``planned``
    segments (path, segment, output, making); ValueError for outputs there that do not
    record being made as this run makes them (`refuse_made_otherwise`)."""
    jobs, skipped, finished = [], [], []
    for path, _segment, planned_out, made in planned:
        out = prediction_output(planned_out)
        job = Job(_absolute(path), out, not overwrite)
        if not out.exists() or overwrite:
            jobs.append(job)
            continue
        skipped.append(job)
        if made is not None:
            finished.append((out, made))
    refuse_made_otherwise(finished)
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
    tta: bool = False,
    checked_later: bool = False,
    refused: Outcome | None = None,
):
    """The jobs to run and the ones skipped (their output is complete and made as this run
    makes it), into the one file ``out`` or ``out_dir`` (`plan_jobs`; ``refused``: where a
    segment refused there fails alone), every segment opened and checked first.
    ``checked_later``: the one ``out`` is predicted by `inkloop.headless.predict_to_file`,
    which opens and checks its segment before it writes anything, so it is not opened here
    as well (a URL's metadata and side files fetched twice)."""
    import functools

    from inkloop.checkpoint import load_checkpoint

    if out is not None:  # one named file
        (segment,) = segments  # a URL stays one: Path() would fold its "//"
        # absolute: workers started in another folder would write a relative path there (not
        # resolved: an --out that is a link is replaced, as without --scheduler, not its target)
        out = prediction_output(out).absolute()
        if not checked_later:
            open_checked(segment, model, out, overwrite)
        return [Job(segment if is_url(segment) else Path(segment), out)], []
    checkpoint = load_checkpoint(model)
    identity = model_identity(checkpoint)  # the file's sha256: read once for the batch
    made = functools.partial(_made, checkpoint, identity, z_start, reverse, tta)
    options = {"overwrite": overwrite, "check": made, "inputs": {"--model": model}}
    return plan_jobs(segments, out_dir, fmt, refused=refused, **options)


def open_checked(segment, model, out: Path, overwrite: bool):
    """``segment`` (a path or URL) opened, its mask checked (`check_mask`), and ValueError if
    ``out`` may not be written: it exists (unless ``overwrite``), or it would replace the
    ``model`` file or what the segment reads (`check_out`)."""
    opened = open_segment(segment)
    check_mask(opened)
    check_out(out, [opened], {"--model": model}, overwrite=overwrite)
    return opened


def _made(checkpoint, model: dict, z_start, reverse, tta: bool, segment) -> dict:
    """How ``checkpoint`` predicts ``segment`` (`making`); ValueError where its window does
    not fit the segment (`model_window`)."""
    from inkloop.predict._window import model_window

    return making(model_window(checkpoint, segment, z_start, reverse), segment, model, tta)


def _absolute(path):
    """A segment's path as a job names it: absolute (a URL as given)."""
    return path if is_url(path) else Path(path).expanduser().resolve()
