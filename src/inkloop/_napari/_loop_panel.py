"""The "Finetune & preview" section of the dock: run controls and status (`LoopPanel.run_bar`,
which the dock keeps in sight below its scrolling sections), loss plot, threshold, validation."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from inkloop._napari._controls import StatusLabel, button, give_keys_to_viewer
from inkloop._napari._engine_start import RunStarting
from inkloop._napari._keys import SHORTCUTS
from inkloop._napari._label_worker import LabelClasses
from inkloop._napari._loss_plot import LossPlot, LossTrace
from inkloop._napari._segment_panel import TOO_SHALLOW
from inkloop._napari._validation_region import (
    REGION_TIP,
    STOP_FIRST_TIP,
    ValidationRegion,
    run_holds_region,
)

# re-exported: the dock and its tests import these from here
from inkloop._napari._validation_region import VALIDATION_LAYER as VALIDATION_LAYER
from inkloop._napari._validation_region import validation_region as validation_region
from inkloop._terminal import RunRate
from inkloop.compose import MIN_Z_COUNT
from inkloop.engine import RunStarted, State, StateChanged, StepDone, Validated

OPEN_HOW = (
    "Open segment…, drop a folder, or File → Open Sample → Synthetic scroll segment (Ink Loop)"
)
NO_SEGMENT_TEXT = f"To begin, open a segment: {OPEN_HOW}."
NO_SEGMENT_TIP = f"Open a segment first ({OPEN_HOW})"
START_TEXT = "Paint some ink and no ink, then click Finetune & preview."
STOPPING_TEXT = "Stopping…"  # from the click until the run ends (its last step, saved)
READY_TEXT = "Click Finetune & preview to train on these labels; paint on while it runs."
FINETUNE_TIP = f"Train on the labels and stream the prediction of the view ({SHORTCUTS['run']})"
NBSP = "\u00a0"  # between a name and its value: "loss" and its number never wrap apart
# a run paused or over: the status says so before its last step
PREFIXED = (State.PAUSED, State.STOPPED, State.FINISHED, State.FAILED)


class LoopPanel(QGroupBox):
    """Drives a `LoopSession`. Its Finetune, Pause and Stop buttons and its status are in
    ``run_bar``, a widget of their own for the dock to place where it never scrolls away."""

    def __init__(self, parent=None) -> None:
        super().__init__("Finetune && preview", parent)
        self.loop = None
        self._classes: LabelClasses | None = None  # what the labels teach, for the idle text
        self.region = ValidationRegion(self._show_status)
        self._starting = None  # what a click waits for (RunStarting), until the run begins
        self._stopping = False  # Stop was clicked and the run has not ended yet
        self._rate = RunRate()  # the run's, shown once it is paused or over
        self.finetune_button = button("Finetune && preview", "finetune_button")
        self.finetune_button.setToolTip(FINETUNE_TIP)
        self.pause_button = button(
            "Pause",
            "pause_button",
            "Pause training (the preview pauses too); Resume goes on from the same step "
            f"({SHORTCUTS['run']})",
        )
        self.pause_button.setCheckable(True)
        self.stop_button = button(
            "Stop",
            "stop_button",
            "End this round: training stops, the model is saved beside the segment and the "
            "round is recorded (Guide → Rounds); Finetune & preview goes on from it "
            f"({SHORTCUTS['stop']})",
        )
        self.status = StatusLabel("loop_status", NO_SEGMENT_TEXT)
        self.plot = LossPlot()
        self.threshold = QSlider(Qt.Orientation.Horizontal)
        self.threshold.setObjectName("threshold_slider")
        self.threshold.setRange(0, 99)
        self.threshold.setToolTip(
            "0: probability from 0.5 up, soft; above: ink at that threshold (%)"
        )
        self.threshold_value = QLabel(_threshold_text(0))
        self.threshold_value.setObjectName("threshold_value")
        self.threshold_value.setMinimumWidth(
            self.threshold_value.fontMetrics().horizontalAdvance("≥ 0.00")
        )
        self.validation_button = button("Mark validation region", "validation_button")
        self.validation_button.setToolTip(REGION_TIP)
        self.run_bar = QWidget()
        self.run_bar.setObjectName("run_bar")
        self._lay_out()
        self.finetune_button.clicked.connect(lambda: self.loop.finetune())
        self.pause_button.toggled.connect(self._pause)
        self.stop_button.clicked.connect(self._stop)
        self.threshold.valueChanged.connect(self._show_threshold)
        self.validation_button.clicked.connect(lambda: self.region.mark())
        self.set_loop(None)

    def set_loop(self, loop) -> None:
        if self.loop is not None:
            self.loop.changed.disconnect(self._show_event)
            self.loop.labels.painter.labels_changed.disconnect(self._labels_changed)
            self._classes.close()
        self.region.set_loop(loop)
        self.loop, self._classes, self._starting, self._stopping = loop, None, None, False
        self._rate = RunRate()
        if loop is not None:
            loop.changed.connect(self._show_event)
            self._classes = LabelClasses(loop.labels, self._show_status)
            loop.labels.painter.labels_changed.connect(self._labels_changed)
        self.plot.show_trace(loop.losses if loop else LossTrace())
        self.threshold.setEnabled(loop is not None)
        if loop is not None:  # its overlay starts soft: the slider says otherwise
            loop.overlay.set_threshold(self.threshold.value() / 100)
        # the idle text, or this one's last step if it trained: never another segment's
        self._show_state(loop.state if loop else State.IDLE)

    def restore_validation(self) -> None:
        """Follow the segment's validation region (`ValidationRegion.restore`)."""
        self.region.restore()

    def _lay_out(self) -> None:
        bar = QVBoxLayout(self.run_bar)
        bar.addWidget(self.finetune_button)
        buttons = QHBoxLayout()
        for control in (self.pause_button, self.stop_button):
            buttons.addWidget(control)
        bar.addLayout(buttons)
        bar.addWidget(self.status)
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot)
        threshold = QHBoxLayout()
        threshold.addWidget(QLabel("Threshold"))
        threshold.addWidget(self.threshold)
        threshold.addWidget(self.threshold_value)
        layout.addLayout(threshold)
        layout.addWidget(self.validation_button)

    def _stop(self) -> None:
        """Ask the run to stop and say so until it has: its step in flight ends first."""
        self._stopping = True
        self.loop.stop()
        self._show_state(self.loop.state)

    def _pause(self, paused: bool) -> None:
        if paused:
            self.loop.pause()
        else:
            self.loop.resume()

    def _show_event(self, event) -> None:
        if isinstance(event, RunStarting):
            self._starting = event.text
            self._show_state(self.loop.state)
        elif isinstance(event, StateChanged):
            self._stopping = self._stopping and event.state.running
            self._show_state(event.state)
        elif isinstance(event, RunStarted):
            self._rate = RunRate()
        elif isinstance(event, StepDone):
            self._rate.add(event)
            self.plot.trace_grew()
            self._show_status()
        elif isinstance(event, Validated):
            self._show_status()

    def _show_state(self, state: State) -> None:
        idle = self.loop is not None and not run_holds_region(self.loop)
        self.region.run_changed()
        # a one-layer segment cannot train
        deep = self.loop is None or self.loop.labels.segment.shape[0] >= MIN_Z_COUNT
        running = state.running and not self._stopping
        buttons = (self.pause_button, self.finetune_button, self.stop_button)  # heirs first
        self._enable_run_bar(dict(zip(buttons, (running, idle and deep, running), strict=True)))
        tip = NO_SEGMENT_TIP if self.loop is None else FINETUNE_TIP if deep else TOO_SHALLOW
        self.finetune_button.setToolTip(tip)
        self.validation_button.setEnabled(idle)  # a run holds out what its engine began with
        self.validation_button.setToolTip(REGION_TIP if idle or not self.loop else STOP_FIRST_TIP)
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(state is State.PAUSED)
        self.pause_button.setText("Resume" if state is State.PAUSED else "Pause")
        self.pause_button.blockSignals(False)
        self._show_status()

    def _enable_run_bar(self, enabled: dict) -> None:
        """Enable the run bar's buttons as ``enabled`` says, those turned on first. One turned
        off with the keyboard hands it to the first one on (Pause while running, Finetune once
        idle), else to the viewer: Qt would give it to the next in the focus chain, the
        dock's title-bar hide button, which the next Space (a pan) clicks."""
        for control, on in enabled.items():
            if on:
                control.setEnabled(True)
        if any(control.hasFocus() and not on for control, on in enabled.items()):
            heir = next((control for control, on in enabled.items() if on), None)
            if heir is None:
                give_keys_to_viewer(self.run_bar)
            else:
                heir.setFocus(Qt.FocusReason.OtherFocusReason)
        for control, on in enabled.items():
            control.setEnabled(on)

    def _show_status(self) -> None:
        """What a click waits for until the run begins; the last step, after "Paused: ",
        "Stopped: "... while the run is not training, or "Stopping…" from a Stop until the
        run ends; before any step, what to do next and the validation region. Then, while a
        run holds the region, that it was put back."""
        self.status.setText(f"{self._status_text()} {self.region.run_note}".strip())

    def _status_text(self) -> str:
        loop = self.loop
        if self._starting is not None:
            return self._starting
        if self._stopping:
            done = loop.last_step and self._last_step_text()
            return f"{STOPPING_TEXT} {done or ''}".strip()
        if loop is None:
            return NO_SEGMENT_TEXT
        if loop.last_step is None:
            ready = self._classes is not None and self._classes.both
            idle = READY_TEXT if ready else START_TEXT
            return f"{idle} {self.region.note}".strip()
        prefix = f"{loop.state.value.capitalize()}: " if loop.state in PREFIXED else ""
        return prefix + self._last_step_text()

    def _last_step_text(self) -> str:
        """The loop's last step (`_step_text`): while it trains, at that step's rate; once its
        run is paused or over, at the run's (none if the run made no step)."""
        step, paused_or_over = self.loop.last_step, self.loop.state in PREFIXED
        rate = self._rate.samples_per_s if paused_or_over else step.samples_per_s
        text = _step_text(step, self.loop.validations, rate)
        warm_up_ends = None if paused_or_over else self.loop.view.warm_up_ends
        if warm_up_ends is None:  # else a fresh model's preview waits for its warm-up to end
            return text
        return f"{text} · " + f"preview from step {warm_up_ends}".replace(" ", NBSP)

    def _show_threshold(self, percent: int) -> None:
        self.threshold_value.setText(_threshold_text(percent))
        self.loop.overlay.set_threshold(percent / 100)

    def _labels_changed(self, box) -> None:
        self._classes.update(box)
        self._show_status()


def _step_text(step: StepDone, validations, samples_per_s: float | None) -> str:
    """The status of a step: "step 120 · 40 samples/s · loss 0.412 · validation F0.5 0.61",
    each name and its value held together (``samples_per_s`` None: no rate)."""
    parts = [f"step {step.step}"]
    if samples_per_s is not None:
        parts.append(f"{samples_per_s:.0f} samples/s")
    parts.append(f"loss {step.loss:.3f}")
    if validations:
        parts.append(f"validation F0.5 {validations[-1].f05:.2f}")
    return " · ".join(part.replace(" ", NBSP) for part in parts)


def _threshold_text(percent: int) -> str:
    """What the threshold slider shows: the soft view at 0, else the probability called ink."""
    return "soft" if percent == 0 else f"≥ {percent / 100:.2f}"
