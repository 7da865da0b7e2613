"""The "Finetune & preview" section of the dock: run controls, status, loss plot, validation."""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout

from inkloop._napari._controls import StatusLabel, button
from inkloop._napari._loss_plot import LossPlot, LossTrace
from inkloop.brush import NO_INK
from inkloop.engine import State, StateChanged, StepDone, Validated

VALIDATION_LAYER = "validation region"
START_TEXT = "Paint some ink and no ink, then click Finetune & preview."
READY_TEXT = "Click Finetune & preview to train on these labels; paint on while it runs."
NBSP = "\u00a0"  # between a name and its value: "loss" and its number never wrap apart
# a run paused or over: the status says so before its last step
PREFIXED = (State.PAUSED, State.STOPPED, State.FINISHED, State.FAILED)


class LoopPanel(QGroupBox):
    """Drives a `LoopSession`."""

    def __init__(self, parent=None) -> None:
        super().__init__("Finetune && preview", parent)
        self.loop = None
        self.finetune_button = button("Finetune && preview", "finetune_button")
        self.finetune_button.setToolTip("Train on the labels and stream the prediction of the view")
        self.pause_button = button(
            "Pause",
            "pause_button",
            "Pause training (the preview pauses too); Resume goes on from the same step",
        )
        self.pause_button.setCheckable(True)
        self.stop_button = button(
            "Stop",
            "stop_button",
            "End this round: training stops, the model is saved beside the segment and the "
            "round is recorded (Guide → Rounds); Finetune & preview goes on from it",
        )
        self.status = StatusLabel("loop_status", START_TEXT)
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
        self.validation_button.setToolTip(
            "Draw a rectangle: its labels are kept out of training and scored live (F0.5)"
        )
        self._lay_out()
        self.finetune_button.clicked.connect(lambda: self.loop.finetune())
        self.pause_button.toggled.connect(self._pause)
        self.stop_button.clicked.connect(lambda: self.loop.stop())
        self.threshold.valueChanged.connect(self._show_threshold)
        self.validation_button.clicked.connect(self._mark_validation)
        self.set_loop(None)

    def set_loop(self, loop) -> None:
        if self.loop is not None:
            self.loop.changed.disconnect(self._show_event)
        self.loop = loop
        if loop is not None:
            loop.changed.connect(self._show_event)
        self.plot.show_trace(loop.losses if loop else LossTrace())
        idle = READY_TEXT if loop is not None and _trainable(loop) else START_TEXT
        self.status.setText(idle)  # another segment's numbers must not stay
        self._show_state(loop.state if loop else State.IDLE)  # this one's, if it trained
        self.validation_button.setEnabled(loop is not None)

    def _lay_out(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(self.finetune_button)
        buttons = QHBoxLayout()
        for control in (self.pause_button, self.stop_button):
            buttons.addWidget(control)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.plot)
        threshold = QHBoxLayout()
        threshold.addWidget(QLabel("Threshold"))
        threshold.addWidget(self.threshold)
        threshold.addWidget(self.threshold_value)
        layout.addLayout(threshold)
        layout.addWidget(self.validation_button)

    def _pause(self, paused: bool) -> None:
        if paused:
            self.loop.pause()
        else:
            self.loop.resume()

    def _show_event(self, event) -> None:
        if isinstance(event, StateChanged):
            self._show_state(event.state)
        elif isinstance(event, StepDone):
            self.plot.trace_grew()
            self._show_status()
        elif isinstance(event, Validated):
            self._show_status()

    def _show_state(self, state: State) -> None:
        has_loop = self.loop is not None
        self.finetune_button.setEnabled(has_loop and not state.running)
        self.pause_button.setEnabled(state.running)
        self.stop_button.setEnabled(state.running)
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(state is State.PAUSED)
        self.pause_button.setText("Resume" if state is State.PAUSED else "Pause")
        self.pause_button.blockSignals(False)
        self._show_status()

    def _show_status(self) -> None:
        """The last step, after "Paused: ", "Stopped: "... while the run is not training."""
        loop = self.loop
        if loop is None or loop.last_step is None:
            return
        prefix = f"{loop.state.value.capitalize()}: " if loop.state in PREFIXED else ""
        self.status.setText(prefix + _step_text(loop.last_step, loop.validations))

    def _show_threshold(self, percent: int) -> None:
        self.threshold_value.setText(_threshold_text(percent))
        self.loop.overlay.set_threshold(percent / 100)

    def _mark_validation(self) -> None:
        viewer = self.loop.viewer
        if VALIDATION_LAYER not in viewer.layers:
            viewer.add_shapes(
                name=VALIDATION_LAYER, edge_color="cyan", face_color="transparent", edge_width=4
            )
        layer = viewer.layers[VALIDATION_LAYER]
        viewer.layers.selection.active = layer
        layer.mode = "add_rectangle"


def validation_region(viewer, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The bounding box (y0, x0, y1, x1) of the first rectangle in "validation region"."""
    if VALIDATION_LAYER not in viewer.layers or not len(viewer.layers[VALIDATION_LAYER].data):
        return None
    corners = np.asarray(viewer.layers[VALIDATION_LAYER].data[0])[:, -2:]
    (y0, x0), (y1, x1) = np.floor(corners.min(0)), np.ceil(corners.max(0))
    y0, y1 = np.clip([y0, y1], 0, shape[0]).astype(int)
    x0, x1 = np.clip([x0, x1], 0, shape[1]).astype(int)
    return (int(y0), int(x0), int(y1), int(x1)) if y1 > y0 and x1 > x0 else None


def _step_text(step: StepDone, validations) -> str:
    """The status of a step: "step 120 · 40 samples/s · loss 0.412 · validation F0.5 0.61",
    each name and its value held together."""
    parts = [f"step {step.step}", f"{step.samples_per_s:.0f} samples/s", f"loss {step.loss:.3f}"]
    if validations:
        parts.append(f"validation F0.5 {validations[-1].f05:.2f}")
    return " · ".join(part.replace(" ", NBSP) for part in parts)


def _threshold_text(percent: int) -> str:
    """What the threshold slider shows: the soft view at 0, else the probability called ink."""
    return "soft" if percent == 0 else f"≥ {percent / 100:.2f}"


def _trainable(loop) -> bool:
    """Whether the labels hold ink and "no ink" (e.g. a segment's saved ones): a run can start."""
    codes = loop.labels.painter.canvas.codes
    return bool((codes == NO_INK).any() and (codes > NO_INK).any())
