"""Engine's prediction requests on its worker thread: one-off predictions, the standing
preview, validation, whole-segment predictions and composed model input.

A mixin: `Engine` provides the state it uses (segment, mask, settings, the command queue,
``_emit``, ``_ensure_trainer``, ``_turn``, ``_next_work``) and calls these from its worker.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path

from inkloop.engine._build import predictor_for
from inkloop.engine._events import Failed, Notice, State
from inkloop.engine._jobs import JobInterruptedError, SegmentJob, compose_region
from inkloop.engine._preview import Interrupt, stream_events, validate
from inkloop.model import all_cores

log = logging.getLogger(__name__)
REQUESTS = ("predict", "preview", "predict_segment", "compose")  # commands numbered by request


class PredictionWork:
    """The worker-side handlers of Engine's prediction requests (see the module docstring)."""

    def _on_predict(self, request: int, region: tuple[int, int, int, int]) -> None:
        if not self._stream(request, region):  # a command cut in: finish after it
            self._send("predict", request, region)

    def _on_preview(self, request: int, region, every: float) -> None:
        self._preview.aim(request, region, every)
        if region is None:
            return
        try:  # a new view's centre tile at once, before any command or step that follows
            self._preview_round()
        except Exception:
            self._preview.aim(None, None, 0.0)  # reported once, not retried
            raise

    def _preview_due(self) -> bool:
        step = self._trainer.step_count if self._trainer else 0
        training = self._state is State.TRAINING
        return self._preview.due(step, training, time.monotonic())

    def _preview_round(self) -> None:
        """One batch of the standing preview's current round (a new view's first on all cores)."""
        trainer = self._ensure_trainer()
        predictor, training = predictor_for(self.settings, trainer), self._state is State.TRAINING
        with all_cores() if self._preview.urgent else contextlib.nullcontext():
            update = self._preview.next_batch(
                predictor, self.segment, self.mask, trainer.step_count, training
            )
        self._emit(update)

    def _stream(self, request: int, region) -> bool:
        """Emit ``region``'s prediction tile by tile; False if a waiting command cut it short."""
        trainer = self._ensure_trainer()
        predictor, step = predictor_for(self.settings, trainer), trainer.step_count
        interrupt = Interrupt(self._commands)
        events = stream_events(predictor, self.segment, self.mask, region, request, step, interrupt)
        for event in events:
            self._emit(event)
        return not interrupt.cut

    def _on_predict_segment(self, request: int, out: Path, tta: bool) -> None:
        with self._changed:
            self._jobs.append(SegmentJob(request, Path(out), tta))
        if self._state is State.TRAINING:
            self._emit(Notice("the whole segment is predicted once training is paused or stopped"))

    def _on_cancel(self, request: int) -> None:
        if self._job is not None and self._job.request == request:
            self._job.cancelled = True  # `_between_tasks` ends it
            return
        for job in [job for job in self._jobs if job.request == request]:
            with self._changed:
                self._jobs.remove(job)
            self._emit(job.cancelled_notice())

    def _run_segment(self) -> None:
        with self._changed:
            job = self._job = self._jobs.popleft()
        try:
            trainer = self._ensure_trainer()
            predictor = predictor_for(self.settings, trainer, tta=job.tta, frozen=True)
            block, step, emit = self.settings.block, trainer.step_count, self._emit
            job.run(predictor, self.segment, self.mask, block, step, emit, self._between_tasks)
        except Exception as error:
            log.exception("inkloop engine: whole-segment prediction %d failed", job.request)
            self._emit(Failed(error_message(error), job.request))
        finally:
            with self._changed:
                self._job = None
                self._changed.notify_all()

    def _between_tasks(self) -> None:
        """Between two tasks of a whole-segment prediction: apply waiting commands, run due
        previews and, while training runs, train; JobInterruptedError once cancelled or closing."""

        def ending() -> bool:
            return self._closing or self._job.cancelled

        while not ending() and (not self._commands.empty() or self._next_work()):
            self._turn(wait=False)
        if ending():
            raise JobInterruptedError

    def _on_compose(self, request: int, region) -> None:
        self._emit(compose_region(self._ensure_trainer(), self.segment, region, request))

    def _validate(self) -> None:
        trainer = self._trainer
        predictor, step = predictor_for(self.settings, trainer), trainer.step_count
        holdout, interrupt = self.settings.holdout, Interrupt(self._commands)
        scores = validate(predictor, self.segment, self.mask, self.labels, holdout, step, interrupt)
        if scores is not None:
            self._emit(scores)


def error_message(error: Exception) -> str:
    """What a Failed event says about ``error``."""
    return str(error) or type(error).__name__
