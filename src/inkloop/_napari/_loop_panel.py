"""The "Finetune & preview" section of the dock: run controls, status, loss plot, validation."""

from __future__ import annotations

from functools import partial

from napari.utils.notifications import show_warning
from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout

from inkloop._napari._controls import StatusLabel, button
from inkloop._napari._engine_start import RunStarting
from inkloop._napari._label_worker import LabelClasses
from inkloop._napari._loss_plot import LossPlot, LossTrace
from inkloop._napari._rectangle import box_corners, drawn_box
from inkloop.engine import State, StateChanged, StepDone, Validated
from inkloop.io import read_validation_region, save_validation_region

VALIDATION_LAYER = "validation region"
START_TEXT = "Paint some ink and no ink, then click Finetune & preview."
READY_TEXT = "Click Finetune & preview to train on these labels; paint on while it runs."
NBSP = "\u00a0"  # between a name and its value: "loss" and its number never wrap apart
# a run paused or over: the status says so before its last step
PREFIXED = (State.PAUSED, State.STOPPED, State.FINISHED, State.FAILED)
# what the validation region's shapes layer says when a change is done (not under way)
REGION_DONE = ("added", "changed", "removed")
REGION_OWNER = "inkloop_segment"  # the region layer's metadata: (its segment's path, name)
REGION_TIP = "Draw a rectangle: its labels are kept out of training and scored live (F0.5)"
# the run's engine was made before the region: it goes on training on the labels there
STOP_FIRST_TIP = "Stop the run first: the running model trains on these labels"


class LoopPanel(QGroupBox):
    """Drives a `LoopSession`."""

    def __init__(self, parent=None) -> None:
        super().__init__("Finetune && preview", parent)
        self.loop = None
        self._classes: LabelClasses | None = None  # what the labels teach, for the idle text
        self._region_layer = None  # the "validation region" layer this panel follows
        self._region_note = ""  # the status's word on the validation region, while idle
        self._starting = None  # what a click waits for (RunStarting), until the run begins
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
        self.validation_button.setToolTip(REGION_TIP)
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
            self.loop.labels.painter.labels_changed.disconnect(self._labels_changed)
            self._let_go_of_region_layer()
            self._classes.close()
        self.loop, self._classes, self._region_note, self._starting = loop, None, "", None
        if loop is not None:
            loop.changed.connect(self._show_event)
            self._classes = LabelClasses(loop.labels, self._show_status)
            loop.labels.painter.labels_changed.connect(self._labels_changed)
        self.plot.show_trace(loop.losses if loop else LossTrace())
        # the idle text, or this one's last step if it trained: never another segment's
        self._show_state(loop.state if loop else State.IDLE)

    def restore_validation(self) -> None:
        """Follow the segment's validation region (its labels stay out of training) and say so:
        the layer a closed dock left for it (saved: it wins over the file), else the one kept
        beside the labels, drawn. Another segment's layer is retired first."""
        segment, viewer = self.loop.labels.segment, self.loop.viewer
        if _own_region_layer(viewer, segment) is not None:
            self._take_region_layer()
            self._keep_region(validation_region(viewer, segment.shape[1:]))
            return
        try:
            box = read_validation_region(segment)
        except (OSError, ValueError) as error:
            show_warning(f"Ink Loop: the validation region was not restored: {error}")
            return
        if box is None:
            return
        self._take_region_layer([box_corners(box)])
        viewer.layers.selection.active = self.loop.labels.layer  # the brush paints on
        self._show_region(box, restored=True)

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
        if isinstance(event, RunStarting):
            self._starting = event.text
            self._show_state(self.loop.state)
        elif isinstance(event, StateChanged):
            self._show_state(event.state)
        elif isinstance(event, StepDone):
            self.plot.trace_grew()
            self._show_status()
        elif isinstance(event, Validated):
            self._show_status()

    def _show_state(self, state: State) -> None:
        idle = self.loop is not None and not (state.running or self.loop.starting)
        self.finetune_button.setEnabled(idle)
        self.pause_button.setEnabled(state.running)
        self.stop_button.setEnabled(state.running)
        self.validation_button.setEnabled(idle)  # a run holds out what its engine began with
        self.validation_button.setToolTip(REGION_TIP if idle or not self.loop else STOP_FIRST_TIP)
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(state is State.PAUSED)
        self.pause_button.setText("Resume" if state is State.PAUSED else "Pause")
        self.pause_button.blockSignals(False)
        self._show_status()

    def _show_status(self) -> None:
        """What a click waits for until the run begins; the last step, after "Paused: ",
        "Stopped: "... while the run is not training; before any step, what to do next and
        the validation region."""
        loop = self.loop
        if self._starting is not None:
            self.status.setText(self._starting)
            return
        if loop is None or loop.last_step is None:
            ready = self._classes is not None and self._classes.both
            idle = READY_TEXT if ready else START_TEXT
            self.status.setText(f"{idle} {self._region_note}".strip())
            return
        prefix = f"{loop.state.value.capitalize()}: " if loop.state in PREFIXED else ""
        self.status.setText(prefix + _step_text(loop.last_step, loop.validations))

    def _show_threshold(self, percent: int) -> None:
        self.threshold_value.setText(_threshold_text(percent))
        self.loop.overlay.set_threshold(percent / 100)

    def _labels_changed(self, box) -> None:
        self._classes.update(box)
        self._show_status()

    def _mark_validation(self) -> None:
        layer = self._take_region_layer()
        self.loop.viewer.layers.selection.active = layer
        layer.mode = "add_rectangle"

    def _take_region_layer(self, rectangles=None):
        """The "validation region" layer (added if none; given ``rectangles`` if any), tagged
        as this segment's and followed by this panel. It outlives a closed dock, whose panel
        let go of it: this one takes it over (connected once however often it is clicked)."""
        viewer, segment = self.loop.viewer, self.loop.labels.segment
        if VALIDATION_LAYER not in viewer.layers:
            viewer.add_shapes(
                name=VALIDATION_LAYER, edge_color="cyan", face_color="transparent", edge_width=4
            )
        layer = self._region_layer = viewer.layers[VALIDATION_LAYER]
        layer.metadata[REGION_OWNER] = (str(segment.path), segment.name)
        layer.events.data.disconnect(self._region_changed)
        viewer.layers.events.removed.disconnect(self._region_layer_removed)
        if rectangles:  # before it is followed: a region restored, not changed
            layer.add_rectangles(rectangles)
        layer.events.data.connect(self._region_changed)
        viewer.layers.events.removed.connect(self._region_layer_removed)
        return layer

    def _let_go_of_region_layer(self) -> None:
        if self._region_layer is not None:
            self._region_layer.events.data.disconnect(self._region_changed)
            self.loop.viewer.layers.events.removed.disconnect(self._region_layer_removed)
        self._region_layer = None

    def _region_changed(self, event) -> None:
        """A rectangle drawn, moved or deleted. The newest is the region: older ones go, the
        brush paints again, and the region is kept beside the labels at once (not with the
        next autosave: a run may hold its labels out before that, and a reopened segment
        must go on holding them out)."""
        if self.loop is None or event.action not in REGION_DONE:
            return
        layer = self._region_layer
        if event.action == "added":
            self.loop.viewer.layers.selection.active = self.loop.labels.layer
            if len(layer.data) > 1:  # its own "changed" event keeps the newest
                layer.data = (layer.data[-1:], layer.shape_type[-1:])
                return
        self._keep_region(validation_region(self.loop.viewer, self.loop.labels.segment.shape[1:]))

    def _region_layer_removed(self, event) -> None:
        """The region's layer deleted: so is the region, once the next turn of the event loop
        shows the labels stayed (closing the viewer removes every layer, the region's first).
        The loop may be gone: the dock lets go of it when the labels' layer goes, earlier in
        this same event."""
        loop = self.loop  # `in`, not `is`: napari hands plugins proxies
        if loop is not None and self._region_layer not in loop.viewer.layers:
            self._let_go_of_region_layer()
            QTimer.singleShot(0, partial(self._forget_removed_region, self.loop))

    def _forget_removed_region(self, loop) -> None:
        if loop is self.loop and loop.labels.layer in loop.viewer.layers:
            self._keep_region(validation_region(loop.viewer, loop.labels.segment.shape[1:]))

    def _keep_region(self, box) -> None:
        """Keep ``box`` (None: no region) beside the labels and say it in the status."""
        try:
            save_validation_region(self.loop.labels.segment, box)
        except OSError as error:
            show_warning(
                f"Ink Loop: the validation region could not be kept beside the labels "
                f"({error}): it holds until the segment is closed"
            )
        self._show_region(box)

    def _show_region(self, box, restored: bool = False) -> None:
        """Say which region holds its labels out (in the idle status)."""
        self._region_note = ""
        if box is not None:
            y0, x0, y1, x1 = box
            said = " restored" if restored else ""
            self._region_note = (
                f"Validation region{said}: rows {y0}–{y1}, columns {x0}–{x1}; its labels "
                "stay out of training."
            )
        self._show_status()


def _own_region_layer(viewer, segment):
    """The region layer if ``segment``'s (or nobody's); another's is retired, as a switch does."""
    if VALIDATION_LAYER not in viewer.layers:
        return None
    layer = viewer.layers[VALIDATION_LAYER]
    owner = layer.metadata.get(REGION_OWNER)
    if owner is None or owner[0] == str(segment.path):
        return layer
    layer.name, layer.visible = f"{owner[1]} {VALIDATION_LAYER}", False
    return None


def validation_region(viewer, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The pixels (y0, x0, y1, x1) of the newest rectangle in "validation region" (`drawn_box`)."""
    if VALIDATION_LAYER not in viewer.layers or not len(viewer.layers[VALIDATION_LAYER].data):
        return None
    return drawn_box(viewer.layers[VALIDATION_LAYER].data[-1], shape)


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
