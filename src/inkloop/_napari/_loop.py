"""The finetune-and-preview loop of one segment: an engine process, its events, the overlay.

torch never enters the napari process (docs/architecture §3): the engine runs in a spawned child
(`inkloop.engine.EngineProcess`); its events arrive on a reader thread and are re-emitted as a
Qt signal, so every layer change happens on the GUI thread; its labels decode off it too."""

from __future__ import annotations

import logging
from collections.abc import Callable

from qtpy.QtCore import QObject, Signal

from inkloop._napari._engine_start import EngineStarts
from inkloop._napari._held_out import HeldOutWeights
from inkloop._napari._loop_commands import EngineCommands
from inkloop._napari._loss_plot import LossTrace
from inkloop._napari._overlay import PredictionOverlay
from inkloop._napari._own_autosave import OwnModelAutosave
from inkloop._napari._say import say_error, say_warning
from inkloop._napari._trained import DIVERGED
from inkloop._napari._view_preview import ViewPreview
from inkloop._napari._whole_segment import WholeSegmentPredictions
from inkloop.engine import (
    CheckpointSaved,
    Failed,
    ModelBuilt,
    Notice,
    PredictionReady,
    Ready,
    State,
    StateChanged,
    StepDone,
    Validated,
)
from inkloop.engine.remote import RemoteTarget
from inkloop.settings import EngineSettings

log = logging.getLogger(__name__)


class LoopSession(QObject, EngineCommands):
    """Trains on ``labels`` (a LabelSession) in an engine process and streams the prediction
    of the visible area into the "ink prediction" layer.

    The panels' one way to the engine. It owns the settings the engine runs with
    (``settings``: autosaved to the segment's model file unless another window holds its
    labels, decided at each run: ``own_model``); ``next_settings()`` gives the dock's choices."""

    # (the generation of the engine it is from, its event), on the engine's reader thread
    event_received = Signal(int, object)
    changed = Signal(object)  # the event just applied, on the GUI thread (panels listen)

    def __init__(
        self,
        viewer,
        labels,
        next_settings: Callable[[], EngineSettings] | None = None,
        *,
        refresh_s: float = 3.0,
        torch_threads: int | None = None,
        remote: RemoteTarget | None = None,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.viewer, self.labels, self.refresh_s = viewer, labels, refresh_s
        self.next_settings = next_settings or (lambda: self.settings)
        self.torch_threads = torch_threads
        self.remote = remote  # None: the engine runs on this machine
        self.engine = None  # an EngineProcess (or a server's), once made
        self.starts = EngineStarts(self)  # the engine being made
        self.generation = 0  # the engine process in use: one more for each new one
        self.own_model = OwnModelAutosave(labels)
        self.settings = EngineSettings(autosave=self.own_model.first())
        self.state, self.ready = State.IDLE, False  # ready: the engine process is set up
        self.last_step: StepDone | None = None
        self.losses = LossTrace()  # every step's loss, binned: a day of training stays small
        self.validations: list[Validated] = []
        self.labels_sent, self.prediction_updates, self.closed = 0, 0, False
        self.predicted_step: int | None = None  # oldest weights in the last complete preview
        self.trained = HeldOutWeights()  # the next engine starts from them, or not
        self.whole_segment = WholeSegmentPredictions()  # while under way, the engine stays
        self.overlay = PredictionOverlay(viewer, labels, self)
        labels.painter.accept_from = self.overlay.accepted_shown
        self.event_received.connect(self._apply)
        labels.painter.labels_changed.connect(self.send_labels)
        self.view = ViewPreview(self)
        self.camera = self.view.camera

    @property
    def starting(self) -> bool:
        """Finetune & preview waits for the engine to begin the run (`RunStarting` says)."""
        return self.starts.waiting

    @property
    def predicting(self) -> bool:
        """The engine is predicting the whole segment (replacing it would end that)."""
        return self.whole_segment.under_way

    def warm_up(self, settings: EngineSettings | None = None) -> bool:
        """Start the engine process (imports, segment, model) so a click answers fast: the
        labels as they are now are decoded off the GUI thread, then ``engine`` is made. Whether
        an engine with those settings runs or starts (one that cannot start says why).

        Different ``settings`` (default: ``next_settings()``; the own model autosaved as
        `OwnModelAutosave` says) replace the process, the weights carrying over where they fit
        (`TrainedWeights`), and a click waiting for the old one waits for the new. Not while
        it predicts the whole segment (the user hears why)."""
        settings = self.own_model.settings_for(self, settings or self.next_settings())
        there = self.engine is not None or self.starts.pending is not None
        if there and settings == self.settings and not self.trained.engine_due:
            return True
        if self.whole_segment.keep_engine():
            return False
        waiting = self.starting
        self._end_engine()
        # also after a server could not be reached
        engine_settings = self.trained.next_settings(settings, self.settings)
        self.settings = settings  # the next try starts with them
        self.generation += 1  # the ended engine's late events are told apart
        self.labels_sent, self.ready = 0, False
        self.view.stop()
        self.starts.begin(engine_settings)
        if waiting:
            self.starts.wait_for_run()
            self.starts.then(self._start_run)
        return True

    def finetune(self, settings: EngineSettings | None = None) -> None:
        """Start (or continue) training with ``settings`` (default: ``next_settings()``) and
        keep the visible area's prediction streaming. Until the engine begins the run (or
        says why not), ``starting`` holds and another call does nothing."""
        if self.state.running or self.starting:
            return
        if not self.warm_up(settings):  # not started: said why
            return
        self.trained.tell_if_region_seen()  # a region drawn since its weights trained
        self.starts.wait_for_run()
        self.prediction_layer()  # made while the engine starts
        self.starts.then(self._start_run)

    def _start_run(self) -> None:
        if self._reached(self.engine.start, failed="the run did not start"):
            self.view.start_with_training()
        else:  # labels and the engine's state as they were
            self.starts.give_up()

    def lost_engine(self, event) -> bool:
        """Whether ``event`` says the engine process died."""
        died = isinstance(event, StateChanged) and event.state is State.FAILED
        return died and self.engine is not None and not self.engine.alive

    def use_engine(self, remote: RemoteTarget | None) -> bool:
        """Run the engine on this machine (None) or on an engine server from now on: the
        current engine ends, the next command starts the new one. False, said, while it
        predicts the whole segment."""
        if remote == self.remote:
            return True
        if self.whole_segment.keep_engine():
            return False
        self.remote, self.ready = remote, False
        self.trained.forget()
        self.generation += 1  # what the ended engine posted before its end is told apart
        if self._end_engine():
            self._apply(self.generation, StateChanged(State.IDLE, self.state))  # start over
        return True

    def _end_engine(self) -> bool:
        """End the engine process, or drop its start; whether there was either."""
        engine, self.engine = self.engine, None
        if engine is not None:
            engine.close()
        return self.starts.drop() or engine is not None

    def close(self) -> None:
        """Stop training, end the engine process (nothing stays behind), drop its late events."""
        self.closed = True
        self.labels.painter.labels_changed.disconnect(self.send_labels)
        self.labels.painter.accept_from = None
        self.overlay.stop()
        self.view.close()
        self._end_engine()
        self.starts.close()

    def prediction_layer(self):
        """The "ink prediction" layer (added empty if missing); accept brushes take ink from it."""
        return self.overlay.layer()

    @property
    def region(self) -> tuple[int, int, int, int] | None:
        """The area being previewed (None until Finetune & preview, or a loaded model)."""
        return self.view.region

    def visible_region(self) -> tuple[int, int, int, int]:
        return self.view.visible_region()

    def preview_view(self) -> None:
        """Preview the view now (while Finetune & preview runs), not after panning pauses."""
        self.view.update()

    def send_labels(self, box) -> None:
        """Send the labels inside ``box`` to the engine (once made, if it is starting)."""
        if self.starts.pending is not None:
            self.starts.pending.painted.append(box)
        if self.engine is None:
            return
        ink, supervised = self.labels.painter.canvas.labels(box)
        self.engine.update_labels(ink, supervised, box)
        self.labels_sent += 1

    def _apply(self, generation: int, event) -> None:
        """Show one engine event (GUI thread), from the engine of ``generation``."""
        if self.closed or self._stale(generation, event):
            return
        self.starts.follow(generation, event)
        if isinstance(event, PredictionReady):
            self._show_prediction(event)
        elif isinstance(event, StepDone):
            self.last_step, self.own_model.trained_by = event, generation
            self.losses.add(event.loss)
        elif isinstance(event, Validated):
            self.validations.append(event)
        elif isinstance(event, ModelBuilt) and generation == self.generation:
            self.trained.model_built(event.provenance, self.labels.segment.name)
            if self.starting or self.state.running:
                self.trained.tell_if_region_seen()
        elif isinstance(event, StateChanged):
            self.state = event.state
            if event.state is State.TRAINING:
                self.view.training_started()
            if self.lost_engine(event):  # panning does not start another: a click does
                self.ready = False  # the next process imports and sets up again
                self.view.stop()
                self.whole_segment.lost()
        elif isinstance(event, Ready):
            self.ready = True
        elif isinstance(event, Failed):
            say_error(self._failure_told(generation, event))
        elif isinstance(event, Notice):
            say_warning(event.message)
        elif isinstance(event, CheckpointSaved):
            log.info("checkpoint %s at step %d", event.path, event.step)
            replaced = generation != self.generation  # its last save, late
            if event.autosave and self.engine is not None and not replaced:
                self.trained.autosaved(event.path, event.step)  # here, or on a server
            if not replaced:  # its weights are in a file now: a held engine may end
                self.trained.held = False
        self.whole_segment.follow(event)
        if self.trained.engine_ends and self.engine is not None and not self.predicting:
            self._drop_diverged()  # at once, or once the whole-segment prediction ends
        self.changed.emit(event)

    def _stale(self, generation: int, event) -> bool:
        """Whether ``event`` is a state, readiness or notice of an engine no longer in use,
        posted before its end (a reconnect given up, a replaced engine): not shown."""
        stale = generation != self.generation and isinstance(event, StateChanged | Ready | Notice)
        if stale and isinstance(event, Notice):
            log.info("from an engine no longer in use: %s", event.message)
        return stale

    def _failure_told(self, generation: int, event: Failed) -> str:
        """What the dock says of ``event``: a divergence of the engine in use also says where
        the next run starts (`TrainedWeights.diverged`), and the last step it made itself
        (None: none; ``last_step`` may be an earlier engine's)."""
        if DIVERGED not in event.message or generation != self.generation:
            return event.message
        self.view.stop()  # the engine ends as soon as nothing keeps it (`_drop_diverged`)
        own = self.last_step is not None and self.own_model.trained_by == generation
        return self.trained.diverged(event.message, self.last_step.step if own else None)

    def _drop_diverged(self) -> None:
        """End the engine whose weights are no longer finite, so that no preview, Predict,
        Next, Check stack or Resume uses them (they would show and write p = 0): the next
        command makes a new engine from the last autosave (`TrainedWeights.next_settings`).
        A whole-segment prediction under way keeps it until it ends; finite weights saved
        nowhere (`TrainedWeights.held`), until a Save keeps them."""
        self._end_engine()
        self.generation += 1  # what it sent before its end is told apart
        self.ready = False
        if self.state is not State.FAILED:  # a closed engine tells nothing more
            self._apply(self.generation, StateChanged(State.FAILED, self.state))

    def _show_prediction(self, event: PredictionReady) -> None:
        self.prediction_layer()
        self.overlay.show(event.region, event.probability)
        self.prediction_updates += 1
        if (step := self.view.round_step(event)) is not None:  # the whole view is from it
            self.predicted_step = step
