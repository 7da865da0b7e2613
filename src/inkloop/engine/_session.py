"""What the engine's worker shares between its training and its predictions: the data, the
settings, the model being trained, the state, and the listeners it tells."""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from inkloop._overwrite import refuse_inputs
from inkloop.checkpoint import CheckpointError
from inkloop.engine._build import build_trainer, predictor_for, resolve_run
from inkloop.engine._commands import RequestError
from inkloop.engine._events import ModelBuilt, ModelNotLoaded, State, WindowRefused
from inkloop.engine._surface import Announcer
from inkloop.predict._memory import ForwardGate
from inkloop.predict._provenance import live_model_identity
from inkloop.predict._window import WindowNotInStackError
from inkloop.settings import EngineSettings
from inkloop.train import LabelStore


class Session(Announcer):
    """One segment's labels and model on the engine's worker (see `Engine`), with the state
    and listeners of `Announcer`."""

    def __init__(self, segment, labels: LabelStore, settings: EngineSettings) -> None:
        super().__init__()
        self.segment, self.labels, self.settings = segment, labels, settings
        self.mask = None if segment.mask is None else np.asarray(segment.mask)
        self.trainer = None  # built by the first start, prepare, predict or preview
        self._graph = (None, -1, None)  # (trainer, step, its inference graph at that step)
        # Every predictor's passes go through this one gate (they all run on the trainer's
        # device), so what a pass out of memory taught it holds for the session. It never
        # tries bigger again: stopping or pausing training frees nothing a pass could use.
        # The Trainer keeps its weights, gradients, optimiser state and weight average for a
        # resume or a save, and the worker never runs a pass during a step: a finished step's
        # activations are only cached, which torch's allocator frees and retries before it
        # fails. Each try would cost a failed pass and a flush of that cache.
        self.memory = ForwardGate()

    def refuse_output(self, out: Path) -> None:
        """`refuse_output` for this session's segment. The ``init`` checkpoint may be
        replaced: training continues from it."""
        refuse_output(out, self.segment)

    @property
    def training(self) -> bool:
        return self.state is State.TRAINING

    def set_state(self, state: State) -> None:
        """`Announcer.set_state`; where it ends a run, the Trainer hears it, and whether it
        ended before its limit (`end_run`)."""
        ended = self.state.running and not state.running
        super().set_state(state)
        if ended and self.trainer is not None:
            self.trainer.end_run(cut_short=state is not State.FINISHED)

    def ensure_trainer(self):
        """The Trainer, built now if it does not exist yet: ModelBuilt says what it reads and,
        for a checkpoint, how it was trained; ModelNotLoaded that the checkpoint cannot be,
        WindowRefused that the layers it was trained on are not in this stack."""
        if self.trainer is None:
            try:
                with self._loading_init(OSError, CheckpointError):  # the file, read
                    run = init, composition = resolve_run(self.settings, self.segment)
            except WindowNotInStackError:
                self.emit(WindowRefused(str(self.settings.init)))
                raise
            # the Trainer reads layers only, and each of its batch worker processes is sent its
            # segment: without the mask, which a caller may have decoded (`with_mask_decoded`)
            layers_only = dataclasses.replace(self.segment, mask=None)
            with self._loading_init(CheckpointError):  # its weights, not fitting its model
                self.trainer = build_trainer(
                    self.settings, layers_only, self.labels, self.mask, run=run
                )
            built = ModelBuilt(self.trainer.model_config.encoder, composition)
            self.emit(built if init is None else loaded(built, init, self.segment))
        return self.trainer

    @contextmanager
    def _loading_init(self, *errors: type[Exception]):
        """ModelNotLoaded where one of ``errors`` comes of loading ``settings.init``."""
        try:
            yield
        except errors:
            if self.settings.init is not None:
                self.emit(ModelNotLoaded(str(self.settings.init)))
            raise

    def prepare(self) -> None:
        """Build the Trainer and the inference graph previews use (its trace and checks take
        a few tenths of a second that would otherwise delay the first overlay after a click)."""
        self._current_graph(self.ensure_trainer())

    def predictor(self, *, tta: bool = False, frozen: bool = False):
        """The model being trained as a Predictor, as an `inference_graph` (BatchNorms folded,
        concatenations split: a 1024² view ~20% faster on a CPU). One graph is kept and given
        each new step's weights (`refresh_inference_graph`, ~15 ms against ~0.2 s for a new
        one), so previews while training use it too; ``frozen``: a graph of its own, which
        later steps leave alone (a whole-segment prediction). All share the session's
        `ForwardGate` (``memory``)."""
        from inkloop.predict import inference_graph

        trainer = self.ensure_trainer()
        model = inference_graph(trainer.inference_model) if frozen else self._current_graph(trainer)
        return predictor_for(self.settings, trainer, tta=tta, model=model, memory=self.memory)

    def live_model(self) -> dict:
        """The model being trained as a prediction of it records it (`live_model_identity`):
        its step, and the id of its run, which a checkpoint saved of these weights carries."""
        trainer = self.ensure_trainer()
        return live_model_identity(trainer.step_count, run=trainer.run_record.id)

    def _current_graph(self, trainer):
        """The kept graph, with ``trainer``'s weights of this step."""
        from inkloop.predict import inference_graph, refresh_inference_graph

        graph_trainer, step, graph = self._graph
        if graph_trainer is not trainer:
            graph = inference_graph(trainer.inference_model)
        elif step != trainer.step_count:
            refresh_inference_graph(graph, trainer.inference_model)
        self._graph = (trainer, trainer.step_count, graph)
        return graph


def loaded(built: ModelBuilt, init, segment) -> ModelBuilt:
    """``built`` with what the checkpoint ``init`` says of how it reads ``segment``: where its
    trained layers start in the order read (``built.composition.reverse``), its recipe,
    whether it was trained on a stack stored back to front, and its provenance."""
    from inkloop.predict._window import read_reversed, trained_start

    return dataclasses.replace(
        built,
        trained_start=trained_start(init, segment, built.composition.reverse),
        train=init.recipe,
        trained_reversed=init.composition.reverse,
        reversed_as_trained=read_reversed(init, segment),
        provenance=init.provenance,
    )


def refuse_output(out: Path, segment) -> None:
    """RequestError if writing ``out`` would replace or remove what a session of ``segment``
    reads: a file of the segment (layers, mask, labels, rounds; `refuse_inputs`, the rule of
    the command line)."""
    try:
        refuse_inputs(out, [segment])
    except ValueError as error:
        raise RequestError(str(error)) from None
