"""What the engine builds from its settings: the Trainer, its Predictors, checkpoint facts."""

from __future__ import annotations

from inkloop._lineage import continued_from, init_lineage, read_to_continue
from inkloop.checkpoint import load_checkpoint
from inkloop.compose import sample_normalisation
from inkloop.io import SegmentError
from inkloop.model import check_cuda_graphs, check_encoder, pick_device
from inkloop.settings import EngineSettings
from inkloop.train._run_record import labels_record


def resolve_run(settings: EngineSettings, segment):
    """The checkpoint a run starts from (or None) and its composition with a window that
    fits ``segment``, read back to front where ``settings.composition.reverse`` says this
    stack is stored so (else as `model_window` reads it): an unreadable checkpoint, an
    unknown encoder, a window off the stack (SegmentError, the user's to fix as it says) or
    CUDA graphs off a CUDA device fails here, before anything is built. What the checkpoint
    continued from is noted for the run's saves and round (`read_to_continue`)."""
    from inkloop.predict import model_window, placed

    if settings.train.cuda_graphs:
        check_cuda_graphs(pick_device(settings.train.device))
    if not settings.init:
        check_encoder(settings.model.encoder, depth=settings.model.encoder_depth)
        try:
            return None, placed(settings.composition, segment)
        except ValueError as error:
            raise SegmentError(str(error)) from None
    init = load_checkpoint(settings.init)
    # with an init the composition is the checkpoint's, but a ticked reverse still says
    # that this stack is stored back to front, whatever the model was trained on
    declared = True if settings.composition.reverse else None
    try:  # the layers it was trained on, found by their file numbers, or where asked
        window = model_window(init, segment, settings.init_z_start, declared)
    except ValueError as error:  # WindowNotInStackError stays one: First layer moves it
        kind = type(error) if isinstance(error, SegmentError) else SegmentError
        raise kind(f"{settings.init}: {error}") from None
    read_to_continue(settings.init, init)
    return init, window


def build_trainer(settings: EngineSettings, segment, labels, mask=None, run=None):
    """A Trainer for ``segment`` with ``settings`` (loads ``settings.init`` if given);
    ``mask`` is the papyrus mask if it is already in memory; ``run``: what `resolve_run`
    returned for these settings, if it was called already."""
    from inkloop.train import Trainer

    init, composition = run or resolve_run(settings, segment)
    percentiles = init.normalisation.percentiles if init else (1.0, 99.0)
    normalisation = sample_normalisation(segment, composition, percentiles=percentiles, mask=mask)
    return Trainer(
        segment,
        labels,
        composition,
        normalisation,
        settings.train,
        model_config=settings.model,
        init=init,
    )


def checkpoint_provenance(settings: EngineSettings, segment, labels, ended=None) -> dict:
    """What a checkpoint records about the data it was trained on: the segment, the labels'
    counts and hash, the rounds file that tells which round they were, and with
    ``settings.init`` the model the run continued from (`init_lineage`: the steps up to its
    step were trained there, maybe on another segment's labels). ``labels``: the LabelStore,
    whose counts come from its per-cell counts and whose hash (a pass over every pixel) it
    keeps from save to save while the labels are unchanged; ``ended``: the `labels_record` of a
    run that ended (`RunRecord.trained_labels`), which the checkpoint records instead."""
    from inkloop.io import rounds_path
    from inkloop.io._remote import shown_location

    provenance = {
        "segment": segment.name,
        "segment_path": shown_location(segment.path),  # a URL's login stays out of the file
        "segment_layers": segment.shape[0],
        "labels": ended or labels_record(labels),
        "rounds_file": str(rounds_path(segment)),
    }
    if settings.init is not None:  # read by this run (`resolve_run`), else as it is now
        lineage = continued_from(settings.init)
        provenance["init"] = lineage or init_lineage(load_checkpoint(settings.init))
    return {**provenance, **settings.provenance}


def predictor_for(settings: EngineSettings, trainer, *, tta: bool = False, model=None, memory=None):
    """The model ``trainer`` is training, as a Predictor: its weights shared, or ``model``, a
    copy of them that training leaves alone (`inference_graph`); ``memory``: the
    `ForwardGate` to share (None: one of its own)."""
    from inkloop.predict import Predictor

    return Predictor(
        trainer.inference_model if model is None else model,
        trainer.composition,
        trainer.normalisation,
        tile=settings.tile,
        tta=tta,
        logit_offset=trainer.logit_offset(),
        memory=memory,
    )
