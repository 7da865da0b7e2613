"""What a headless training run shows on a terminal: a progress bar and messages on stderr
(stdout holds only the command's JSON), and Ctrl+C (in the `inkloop` command, SIGTERM too) as
a request to stop and save (where the `inkloop` command takes Ctrl+C otherwise than the
Python API: `inkloop._command`); and a run's rate (`RunRate`), which the dock's status shows
too."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from pathlib import Path

from inkloop._command import terminate_as_ctrl_c
from inkloop.engine import CheckpointSaved, Failed, Notice, RunStarted, StepDone, Validated


@contextlib.contextmanager
def ctrl_c():
    """An Event set by Ctrl+C (SIGINT) inside, where this is the main thread, in place of a
    KeyboardInterrupt, so that the run stops after its step and saves. A second Ctrl+C (a
    user's double press, or `timeout -s INT`, which signals the process and its group) is
    ignored: it must not land in the save; a third quits at once (KeyboardInterrupt). In the
    `inkloop` command a SIGTERM counts as a press (`terminate_as_ctrl_c`)."""
    pressed, presses = threading.Event(), []

    def on_ctrl_c(*_) -> None:
        pressed.set()
        presses.append(1)
        if len(presses) >= 3:
            raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return
    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        with terminate_as_ctrl_c():
            yield pressed
    finally:
        if previous is not None:  # None: a handler set outside Python, which cannot be put back
            signal.signal(signal.SIGINT, previous)


class RunRate:
    """A run's samples a second: the samples its steps trained over the seconds those steps
    took (the seconds its round records as ``trained_seconds``), from its StepDone events.
    A StepDone's own ``samples_per_s`` is that one step's."""

    def __init__(self) -> None:
        self.samples, self.seconds = 0, 0.0

    def add(self, step: StepDone) -> None:
        self.samples += step.batch_size
        self.seconds += _step_seconds(step)

    @property
    def samples_per_s(self) -> float | None:
        """None before the run's first step."""
        return self.samples / self.seconds if self.seconds else None


def _step_seconds(step: StepDone) -> float:
    """How long ``step`` trained."""
    return step.batch_size / step.samples_per_s


class Report:
    """Turns engine events into a tqdm bar and messages on stderr, and a summary (stdout holds
    only the command's JSON)."""

    def __init__(self, progress: bool, max_steps: int | None, max_seconds: float | None) -> None:
        from tqdm import tqdm

        from inkloop._progress import tqdm_pace

        self.by_time = not max_steps
        total = max_steps or max_seconds
        unit = "s" if self.by_time else "step"
        # seconds add up as floats: shown whole (and kept within the limit: tqdm warns past it)
        layout = "{l_bar}{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}{postfix}]"
        layout = layout if self.by_time and total else None
        self.bar = tqdm(
            total=total,
            unit=unit,
            bar_format=layout,
            disable=not progress,
            file=sys.stderr,
            **tqdm_pace(),
        )
        self.summary: dict = {"steps": 0, "loss": None, "interrupted": False}
        self.run_steps = 0
        self.rate = RunRate()  # the summary's; the bar shows each step's while it runs
        self._postfix: dict = {}
        self.failures: list[str] = []

    def __call__(self, event) -> None:
        if isinstance(event, StepDone):
            self._step(event)
        elif isinstance(event, RunStarted):
            self.summary.update(
                encoder=event.encoder,
                device=event.device,
                precision=event.precision,
                loader=event.loader,
                batch_size=event.batch_size,
            )
            if not self.bar.disable:
                self.say(
                    f"training {event.encoder} on {event.device} ({event.precision}), "
                    f"batches of {event.batch_size} from {event.loader}"
                )
        elif isinstance(event, Validated):
            self.summary["validation"] = {"step": event.step, "f05": event.f05}
            self.say(f"step {event.step}: validation F0.5 {event.f05:.3f}")
        elif isinstance(event, Notice):
            self.say(event.message)
        elif isinstance(event, CheckpointSaved):
            self.summary["checkpoint"] = event.path
        elif isinstance(event, Failed):
            self.failures.append(event.message)

    def close(self, out: Path) -> None:
        """Close the bar and say what became of ``out`` (on an interrupt even when quiet)."""
        shown = not self.bar.disable  # closing disables it
        if self.run_steps:  # the bar's last line: the run's rate, not its last step's
            self._show(patches_s=f"{self.rate.samples_per_s:.1f}")
        self.bar.close()
        steps = self.summary["steps"]
        if self.summary.get("checkpoint") == str(out):
            told = f"wrote {out} (step {self.summary.get('checkpoint_step', steps)})"
        elif "checkpoint" in self.summary:  # out could not be written: they went elsewhere
            told = f"{out} was not written: the weights are in {self.summary['checkpoint']}"
        elif self.run_steps:
            told = f"{out} was not written: saving failed"
        else:
            told = f"made no step: {out} was not written"
        if self.summary["interrupted"]:
            print(f"interrupted: {told}", file=sys.stderr)
        elif shown:
            print(told, file=sys.stderr)

    def say(self, text: str) -> None:
        """A line on stderr that leaves the bar intact."""
        self.bar.write(text, file=sys.stderr)

    def _step(self, event: StepDone) -> None:
        self.run_steps += 1
        self.rate.add(event)
        self.summary.update(
            steps=event.step, loss=event.loss, samples_per_s=round(self.rate.samples_per_s, 2)
        )
        done = _step_seconds(event) if self.by_time else 1
        if self.bar.total:
            done = min(done, max(self.bar.total - self.bar.n, 0))
        self.bar.update(done)
        self._show(
            step=event.step,
            loss=f"{event.loss:.3f}",
            lr=f"{event.lr:.1e}",
            patches_s=f"{event.samples_per_s:.1f}",
        )

    def _show(self, **postfix) -> None:
        """Update the bar's postfix with ``postfix`` (drawn at the bar's next redraw)."""
        self._postfix.update(postfix)
        self.bar.set_postfix(refresh=False, **self._postfix)
