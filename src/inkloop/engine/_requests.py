"""The engine's prediction requests, on its worker thread: one-off predictions, the standing
preview, validation, whole-segment predictions and composed model input."""

from __future__ import annotations

import contextlib
import gc
import queue
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from inkloop._torch_threads import all_cores
from inkloop.engine._commands import (
    Cancel,
    CheckOrder,
    Compose,
    Predict,
    PredictSegment,
    Preview,
    Rank,
    RequestError,
)
from inkloop.engine._events import Notice, OrderChecked, Ranked, failed
from inkloop.engine._jobs import JobInterruptedError, SegmentJob, compose_region
from inkloop.engine._preview import Interrupt, PreviewSchedule, stream_events, validate
from inkloop.engine._rank import RankJob
from inkloop.engine._session import Session
from inkloop.predict import check_region


class Predictions:
    """Predict, preview, validate, predict the whole segment, compose.

    ``commands`` is the worker's queue (a waiting command cuts a prediction short);
    ``turn(wait=False)`` applies one waiting command or does one piece of work (False: there
    was none), which a whole-segment prediction calls between its blocks; ``closing()`` says
    the worker is ending.
    """

    def __init__(
        self,
        session: Session,
        commands: queue.Queue,
        turn: Callable[..., bool],
        closing: Callable[[], bool],
    ) -> None:
        self.session, self.commands, self.turn, self.closing = session, commands, turn, closing
        self.preview_schedule = PreviewSchedule(session.settings.preview_share)
        self.jobs: deque[SegmentJob] = deque()  # whole-segment predictions not started yet
        self.job: SegmentJob | None = None  # the one running
        self.ranking: RankJob | None = None  # the boxes being ranked for "label here next"
        self._rank_turn = False  # while training, ranking takes every other turn

    @property
    def busy(self) -> bool:
        """A whole-segment prediction is running or waiting."""
        return bool(self.jobs) or self.job is not None

    def predict(self, command: Predict) -> bool:
        """Emit the region's prediction tile by tile; False if a waiting command cut it short."""
        session, request = self.session, command.request
        region = checked_region(command.region, session.segment)
        predictor, step = session.predictor(), session.trainer.step_count
        interrupt = _UnlessPredicts(self.commands)
        events = stream_events(
            predictor, session.segment, session.mask, region, request, step, interrupt
        )
        for event in events:
            session.emit(event)
        return not interrupt.cut

    def preview(self, command: Preview) -> None:
        if command.region is not None:
            checked_region(command.region, self.session.segment)
        self.preview_schedule.aim(command.request, command.region, command.every)
        if command.region is None:
            return
        try:  # a new view's centre tile at once, before any command or step that follows
            self.preview_round()
        except Exception:
            self.stop_preview()  # reported once, not retried
            raise

    def preview_due(self) -> bool:
        trainer = self.session.trainer
        step = trainer.step_count if trainer else 0
        return self.preview_schedule.due(step, self.session.training, time.monotonic())

    def preview_round(self) -> None:
        """One batch of the standing preview's current round (a new view's first on all cores)."""
        session, schedule = self.session, self.preview_schedule
        predictor, step = session.predictor(), session.trainer.step_count
        with all_cores() if schedule.urgent else contextlib.nullcontext():
            update = schedule.next_batch(
                predictor, session.segment, session.mask, step, session.training
            )
        session.emit(update)

    def stop_preview(self) -> None:
        """After a failed round: no retry before the next preview request."""
        self.preview_schedule.aim(None, None, 0.0)

    def predict_segment(self, command: PredictSegment) -> None:
        self.session.refuse_output(command.out)
        job = SegmentJob(command.request, Path(command.out), command.tta, command.replace)
        job.refuse_foreign()
        with self.session.changed:
            self.jobs.append(job)
        if self.session.training:
            self.session.emit(
                Notice("the whole segment is predicted once training is paused or stopped")
            )

    def segment_due(self) -> bool:
        return bool(self.jobs) and self.job is None and not self.session.training

    def cancel(self, command: Cancel) -> None:
        request = command.request
        if self.job is not None and self.job.request == request:
            self.job.cancelled = True  # `_between_tasks` ends it
            return
        for job in [job for job in self.jobs if job.request == request]:
            with self.session.changed:
                self.jobs.remove(job)
            self.session.emit(job.cancelled_notice())

    def run_segment(self) -> None:
        session = self.session
        with session.changed:
            job = self.job = self.jobs.popleft()
        try:
            self._run(job)
        except Exception as error:
            what = f"inkloop engine: whole-segment prediction {job.request}"
            session.emit(failed(what, error, job.request))
        finally:
            # the job's frozen graph (torch.fx) lives in reference cycles: collect it now, or
            # its weights stay in memory, tens of MB more per job in a long session
            gc.collect()
            with session.changed:
                self.job = None
                session.changed.notify_all()

    def _run(self, job: SegmentJob) -> None:
        session = self.session
        predictor = session.predictor(tta=job.tta, frozen=True)
        block, live = session.settings.block, session.live_model()  # its step and run
        job.run(
            predictor, session.segment, session.mask, block, live, session.emit, self._between_tasks
        )

    def _between_tasks(self) -> None:
        """Between two tasks of a whole-segment prediction: apply waiting commands, run due
        previews and, while training runs, train; JobInterruptedError once cancelled or closing."""

        def ending() -> bool:
            return self.closing() or self.job.cancelled

        while not ending() and self.turn(wait=False):
            pass
        if ending():
            raise JobInterruptedError

    def rank(self, command: Rank) -> None:
        """Start ranking (replacing a ranking in flight)."""
        self._require_trained()
        job = RankJob.sample(
            command.request, self.session, command.box, command.tiles, command.seed
        )
        self.ranking = job if job.corners else None
        if not job.corners:
            self.session.emit(Ranked(command.request, (), self.session.trainer.step_count))

    def rank_due(self) -> bool:
        if self.ranking is None:
            return False
        self._rank_turn = not self._rank_turn or not self.session.training
        return self._rank_turn

    def rank_step(self) -> None:
        """Score one more tile of the ranking; emit Ranked after the last."""
        job = self.ranking
        try:
            ranked = job.step(self.session)
        except Exception as error:  # reported once, as the ranking's answer; not retried
            self.ranking = None
            self.session.emit(failed(f"inkloop engine: ranking {job.request}", error, job.request))
            return
        if ranked is not None:
            self.ranking = None
            self.session.emit(ranked)

    def check_order(self, command: CheckOrder) -> None:
        from inkloop.check import orientation

        session = self.session
        self._require_trained()
        predictor, tiles = session.predictor(), command.tiles
        result = orientation(predictor, session.segment, session.mask, tiles=tiles)
        session.emit(
            OrderChecked(command.request, result.forward, result.reversed, result.verdict())
        )

    def _require_trained(self) -> None:
        """RequestError while the model has learnt nothing: its doubt and its ink are noise."""
        if self.session.ensure_trainer().step_count == 0:
            raise RequestError(
                "the model has not been trained yet: train it first (Finetune & preview "
                "in the dock), or load a model"
            )

    def compose(self, command: Compose) -> None:
        session = self.session
        checked_region(command.region, session.segment)
        trainer = session.ensure_trainer()
        session.emit(compose_region(trainer, session.segment, command.region, command.request))

    def validate(self) -> bool:
        """Score the validation region at this step; False if a waiting command cut it short."""
        session = self.session
        predictor, step = session.predictor(), session.trainer.step_count
        validation, interrupt = session.settings.validation, Interrupt(self.commands)
        scores = validate(
            predictor, session.segment, session.mask, session.labels, validation, step, interrupt
        )
        if scores is None:
            return False
        session.emit(scores)
        return True


class _UnlessPredicts(Interrupt):
    """Cuts a prediction short for any waiting command but another Predict: two Predicts
    would each cut the other short and be queued again behind it, for ever."""

    def __call__(self) -> bool:
        with self.commands.mutex:
            self.cut = any(not isinstance(command, Predict) for command in self.commands.queue)
        return self.cut


def checked_region(region, segment) -> tuple[int, int, int, int]:
    """``region`` as ints; RequestError if it is empty or reaches off ``segment``."""
    try:
        return check_region(region, segment.shape[1:])
    except ValueError as error:
        raise RequestError(str(error)) from None
