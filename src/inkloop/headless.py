"""Headless runs behind `inkloop train`, `predict` and `evaluate`: files in, files out."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from inkloop._command import in_command, terminate_as_ctrl_c
from inkloop._evaluate import evaluate_file
from inkloop._headless_train import (
    autosaving,
    continue_or_overwrite,
    continues_in_place,
    heard_save,
    record_round,
    save_or_keep,
    say_last_autosave,
    stop_on_ctrl_c,
    where_weights_are,
)
from inkloop._terminal import Report, ctrl_c
from inkloop.engine import Engine
from inkloop.io import DEFAULT_PREDICTION_FORMAT, Segment, as_segment
from inkloop.settings import EngineSettings

__all__ = [
    "continues_in_place",
    "evaluate_file",
    "predict_segments",
    "predict_to_file",
    "train_to_file",
]


def train_to_file(
    segment: Segment | str | Path,
    ink,
    supervised,
    settings: EngineSettings,
    out: str | Path,
    *,
    rounds: str | Path | None = None,
    accepted_pixels: int = 0,
    progress: bool = True,
    overwrite: bool = False,
) -> dict:
    """Train until the run's limit (or Ctrl+C), writing the checkpoint to ``out`` every
    ``settings.autosave_every`` s (unless ``settings.autosave`` names another file) and at
    the end; with ``rounds``, append its round there (``accepted_pixels``: labels taken from
    a model).

    Returns a summary: steps, final loss, validation scores, whether it was interrupted, the
    round's number. Raises ValueError or LabelError before training if the settings or labels
    cannot train, or ``out`` exists (unless ``overwrite``, or it is the ``settings.init``
    checkpoint, continued in place); RuntimeError if training failed (the last good weights
    are still written to ``out`` first, or, diverged, left as its last autosave there: the
    error names its step). A run that made no step writes nothing. Ctrl+C (a
    notebook's interrupt) stops the run after its step and writes it, then raises
    KeyboardInterrupt so that a loop or cell stops too (`inkloop._command.as_command`: returns).
    """
    segment, out = as_segment(segment), Path(out).expanduser()
    rounds = None if rounds is None else Path(rounds).expanduser()
    init_record = _check_training(segment, settings, out, overwrite)
    settings = autosaving(settings, out)
    report = Report(progress, settings.train.max_steps, settings.train.max_seconds)
    saves = []  # each CheckpointSaved: the last is the run's end, whose round is recorded
    try:
        with (
            ctrl_c() as pressed,
            Engine(segment, ink, supervised, settings, on_event=report) as engine,
        ):
            engine.subscribe(lambda event: heard_save(event, saves))
            engine.start()
            while not engine.wait(timeout=0.5):  # short waits: Ctrl+C is seen within 0.5 s
                if pressed.is_set():
                    stop_on_ctrl_c(engine, out, report, scored=bool(settings.validation))
                    break
            if report.run_steps:  # an untrained model must not replace a good one
                save_or_keep(engine, out, report, saves)
    except BaseException:
        report.bar.close()  # its line ends before the error is printed
        say_last_autosave(out, report, saves)  # the engine is closed by now
        raise
    report.close(out)
    ended_saved = "checkpoint" in report.summary and "checkpoint_step" not in report.summary
    if rounds is not None and ended_saved:  # not for an earlier autosave's step
        report.summary["round"] = record_round(
            rounds, ink, supervised, report, accepted_pixels, settings, saves[-1].run, init_record
        )
    if report.failures:
        where = where_weights_are(out, report.summary)
        raise RuntimeError("; ".join([*dict.fromkeys(report.failures), *where]))
    if report.summary["interrupted"] and not in_command():
        raise KeyboardInterrupt  # saved and said so (`Report.close`): now the caller stops
    return report.summary


def _check_training(segment, settings: EngineSettings, out: Path, overwrite: bool) -> tuple:
    """Refuse now, not after an hour of training, an ``out`` that is a folder or may not be
    replaced or written, and a device, ``--init`` checkpoint or z-window that will not do.
    Returns what the ``--init`` checkpoint records it held out of this segment's labels
    (`held_out_by_checkpoint`), read before the run may replace it."""
    from inkloop._overwrite import check_out
    from inkloop.engine import resolve_run
    from inkloop.io import check_writable
    from inkloop.model import pick_device

    if out.is_dir():
        raise ValueError(f"{out}: is a folder; give a file name such as model.pt")
    overwrite = overwrite or continues_in_place(settings.init, out)
    check_out(
        out,
        [segment],
        {"--init": settings.init},
        overwrite=overwrite,
        way_on=continue_or_overwrite(out),
    )
    check_writable(out)
    from inkloop.rounds import held_out_by_checkpoint

    _import_torch()
    pick_device(settings.train.device)  # an unavailable device fails here, not in the worker
    init, _window = resolve_run(settings, segment)
    return () if init is None else held_out_by_checkpoint(init.provenance, segment.name)


def _import_torch() -> None:
    """Import torch and smp (the first time, seconds) with Ctrl+C held until they are in
    (`ctrl_c`; a third press still quits at once), then raised as KeyboardInterrupt: one part
    way through would leave torch half imported, and the session could not import it again."""
    with ctrl_c() as pressed:
        import segmentation_models_pytorch  # noqa: F401
        import torch  # noqa: F401
    if pressed.is_set():
        raise KeyboardInterrupt


def predict_to_file(
    segment_path: str | Path,
    model: str | Path,
    out: str | Path,
    *,
    region=None,
    tta: bool = False,
    device: str = "auto",
    batch_size: int | None = None,
    tiff_float: bool = False,
    z_start: int | None = None,
    reverse: bool | None = None,
    progress: bool = True,
    overwrite: bool = False,
    checked=None,
) -> dict:
    """One segment (or a region of it) into ``out``, block by block in this process, after
    every check (an ``out`` that exists is refused unless ``overwrite``); the model reads the
    layers it was trained on, or its window moved to ``z_start``, read back to front as
    ``reverse`` says (`model_window`); then ``checked()``, if given, as the first block
    begins. Ctrl+C removes what was staged and raises KeyboardInterrupt (`write_prediction`)."""
    from inkloop.checkpoint import load_checkpoint
    from inkloop.io import prediction_output
    from inkloop.predict import Predictor, check_region, model_window, predict_into
    from inkloop.predict._plan import open_checked
    from inkloop.predict._provenance import model_identity
    from inkloop.predict._window import window_read

    model, out = Path(model).expanduser(), prediction_output(out)
    segment = open_checked(segment_path, model, out, overwrite)
    _import_torch()
    checkpoint = load_checkpoint(model)
    region = check_region(region or (0, 0, *segment.shape[1:]), segment.shape[1:])
    window = model_window(checkpoint, segment, z_start, reverse)
    if progress:  # loading the model and sampling the intensities take a few seconds
        print(f"predicting {window_read(window, segment, model, z_start)}", file=sys.stderr)
    mask = None if segment.mask is None else np.asarray(segment.mask)
    predictor = Predictor.from_checkpoint(
        checkpoint,
        segment,
        device=device,
        mask=mask,
        z_start=z_start,
        reverse=reverse,
        batch_size=batch_size,
        tta=tta,
    )
    if checked is not None:
        checked()
    options = {"region": region, "progress": progress, "tiff_float": tiff_float}
    options.update(mask=mask, overwrite=overwrite, model=model_identity(checkpoint))
    predict_into(predictor, segment, out, **options)
    return {"out": str(out), "region": list(region), "device": str(predictor.device)}


def predict_segments(
    segments: list,
    model: str | Path,
    *,
    out: str | Path | None = None,
    out_dir: str | Path | None = None,
    fmt: str = DEFAULT_PREDICTION_FORMAT,
    scheduler: str | None = None,
    overwrite: bool = False,
    region=None,
    progress: bool = True,
    keep_going: bool = False,
    outcome=None,
    **options,
) -> dict:
    """`inkloop predict`: ``segments`` into ``out`` (one segment; one that exists is refused
    unless ``overwrite``; ``region`` predicts only that rectangle) or ``out_dir``, in this
    process one after another, or on the dask.distributed ``scheduler`` all at once. In
    ``out_dir`` an output that exists is complete (outputs appear only once whole) and is
    skipped unless ``overwrite`` where it records being made as this run makes it (else
    refused: `refuse_made_otherwise`): a batch resumes where it stopped. An error stops the
    batch; with ``keep_going`` a segment that fails, or is refused as it opens, is said on
    stderr and listed under "failed" (segment, out, error), and the others go on. No output
    may replace what the run reads (`inkloop._overwrite`). ValueError, before any segment
    opens, for ``out`` with more than one segment, ``region`` without ``out``, or a
    ``scheduler`` with ``region``, ``batch_size`` or ``tiff_float``. ``outcome`` (`Outcome`)
    holds what was done, also when it raises. ``options``: ``tta``, ``device``,
    ``batch_size``, ``tiff_float``, ``z_start``, ``reverse`` as in `predict_to_file`."""
    from inkloop.predict.batch import Outcome, plan_predictions, run_in_turn

    outcome = Outcome() if outcome is None else outcome
    _check_prediction(segments, out, out_dir, region, scheduler, options)
    _import_torch()  # the checkpoint may be read next
    plan = (segments, model, out, out_dir, fmt, overwrite, options.get("z_start"))
    # in this process predict_to_file opens and checks the one --out segment itself; with
    # keep_going not: a refused --out is the user's error, not a failed segment of many
    later = scheduler is None and not keep_going
    how = {"tta": options.get("tta", False), "refused": outcome if keep_going else None}
    jobs, skipped = plan_predictions(*plan, options.get("reverse"), checked_later=later, **how)
    summary = {"scheduler": scheduler}
    for job in skipped:
        outcome.skip(job.out)
    if scheduler is not None:  # nothing left to do (a finished batch): no cluster to reach
        run = (jobs, model, scheduler, outcome, progress, keep_going, options)
        summary["dashboard"] = _predict_on_cluster(*run) if jobs else None
    options.update(region=region, progress=progress, overwrite=overwrite)

    def predict(job):
        run = predict_to_file(job.segment, model, job.out, checked=outcome.begin, **options)
        summary["device"] = run["device"]
        if out is not None:  # one named file: the rectangle it holds
            summary["region"] = run["region"]
        return run["out"]

    if scheduler is None:  # one after another, in this process
        run_in_turn(jobs, predict, outcome, keep_going=keep_going)
    return {**outcome.summary(), **summary}


def _check_prediction(segments, out, out_dir, region, scheduler, options) -> None:
    """ValueError for what `predict_segments` cannot do as asked."""
    if (out is None) == (out_dir is None):
        raise ValueError("give --out (one segment's file) or --out-dir, not both or neither")
    if out is not None and len(segments) != 1:
        raise ValueError(f"--out takes one segment, not {len(segments)}; use --out-dir")
    if region is not None and out is None:
        # under --out-dir it would take the whole segment's name, and later runs skip it
        raise ValueError("--region takes one segment and --out")
    if scheduler is not None and (
        region is not None or options.get("batch_size") or options.get("tiff_float")
    ):
        raise ValueError("--region, --batch-size and --tiff-float run without --scheduler")


def _predict_on_cluster(jobs, model, scheduler: str, outcome, progress, keep_going, options):
    """Run ``jobs`` all at once on the dask.distributed ``scheduler`` into ``outcome``
    (`predict_jobs`); returns the dashboard's address. In the command, SIGTERM stops it as
    Ctrl+C does: the staged outputs are removed."""
    from inkloop.predict._cluster_failures import lost_quietly
    from inkloop.predict.batch import cluster_client, dashboard_address, predict_jobs

    device = options.get("device", "auto")
    # lost_quietly outside: the client logs the connection it lost as it closes
    with terminate_as_ctrl_c(), lost_quietly(), cluster_client(scheduler, device=device) as client:
        dashboard = dashboard_address(client)
        if dashboard and progress:
            print(f"dask dashboard: {dashboard}", file=sys.stderr)
        predict_jobs(
            model,
            jobs,
            client,
            device=device,
            tta=options.get("tta", False),
            z_start=options.get("z_start"),
            reverse=options.get("reverse"),
            progress=progress,
            keep_going=keep_going,
            outcome=outcome,
        )
    return dashboard
