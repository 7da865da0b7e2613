"""The Segment section's window controls: which layers become the model's input channels.

They fold away under "Model input" with their one-line summary left in sight, so that on a
laptop screen the Labels section follows the segment without scrolling.
"""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inkloop._napari._collapsible import fold_button, unfold
from inkloop._napari._controls import button, set_quietly, spin
from inkloop._napari._input_preview import INPUT_LAYER
from inkloop._napari._windows import RESOLUTIONS
from inkloop.compose import MODES, SCALES, Composition

FROM_CHECKPOINT = "The loaded model reads the layers it was trained on; clear it to choose here"
MOVE_MODEL = "Where the loaded model's window starts on this stack (its layers stay its own)"
AS_TRAINED = "Read the layers the loaded model was trained on, found by their file numbers"
STACK_ORDER = (
    "This stack is stored back to front: the loaded model reads it so, whatever it was trained on"
)
OWN_ORDER = "The loaded model was trained on this stack read back to front, and reads it so"
MODE_TIPS = {
    "raw": "one channel per layer",
    "mean": "means of consecutive layers (mend gaps)",
    "diff": "|L[i+1] - L[i]| of neighbouring layers (ink dispersion)",
    "raw+diff": "the layers and their differences",
}


class WindowControls(QWidget):
    """Channels, first layer, layers, mean, resolution, reverse, centre and Preview input,
    under a fold button; ``summary`` says in words what they choose, folded or not."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.toggle = fold_button(
            "Model input", "model_input_toggle", "Choose which layers the model reads"
        )
        self.summary = QLabel()
        self.summary.setObjectName("composition_summary")
        self.summary.setWordWrap(True)
        self.body = QWidget()
        self._make_controls()
        self._tips = {control: control.toolTip() for control in self.composition_controls()}
        self._lay_out()
        self.toggle.toggled.connect(self.unfold)
        self.unfold(False)

    def unfold(self, shown: bool) -> None:
        unfold(self.toggle, self.body, shown)

    def composition_controls(self) -> tuple[QWidget, ...]:
        return (
            self.mode,
            self.z_start,
            self.z_count,
            self.centre,
            self.reverse,
            self.mean_k,
            self.scale,
        )

    def enable(
        self,
        editable: bool,
        mode: str,
        model_loaded: bool,
        model_movable: bool,
        own_order: bool = False,
    ) -> None:
        """Controls for the panel's own window in ``mode`` (``editable``), or a loaded
        model's, whose first layer may move and whose Reverse says how this stack is stored
        (``model_movable``), except on the stack it was trained on back to front
        (``own_order``), which it reads so."""
        for control in self.composition_controls():
            control.setEnabled(editable)
            control.setToolTip(FROM_CHECKPOINT if model_loaded else self._tips[control])
        self.mean_k.setEnabled(editable and mode == "mean")
        self.centre.setText("As trained" if model_loaded else "Centre")
        if model_movable:
            for control, tip in ((self.z_start, MOVE_MODEL), (self.centre, AS_TRAINED)):
                control.setEnabled(True)
                control.setToolTip(tip)
            self.reverse.setEnabled(not own_order)
            self.reverse.setToolTip(OWN_ORDER if own_order else STACK_ORDER)

    def show_window(self, resolved: Composition, layers: int) -> None:
        """The controls' values for the window ``resolved`` on a stack of ``layers``."""
        set_quietly(self.mode, "setCurrentText", resolved.mode)
        self.z_count.setSingleStep(resolved.mean_k if resolved.mode == "mean" else 1)
        for control, high, value in (
            (self.mean_k, layers, resolved.mean_k),
            (self.z_count, layers, resolved.z_count),
            (self.z_start, layers - resolved.z_count, resolved.z_start),
        ):
            set_quietly(control, "setMaximum", high)
            set_quietly(control, "setValue", value)
        set_quietly(self.reverse, "setChecked", resolved.reverse)
        set_quietly(self.scale, "setCurrentIndex", self.scale.findData(resolved.scale))

    def _make_controls(self) -> None:
        self.mode = QComboBox()
        self.mode.setObjectName("composition_mode")
        for index, mode in enumerate(MODES):
            self.mode.addItem(mode)
            self.mode.setItemData(index, MODE_TIPS[mode], Qt.ItemDataRole.ToolTipRole)
        self.mode.setToolTip("How the window's layers become the model's input channels")
        self.z_start = spin(QSpinBox(), 0, 0, "First layer of the window (of the stack as read)")
        self.z_start.setObjectName("z_start_spin")
        self.z_count = spin(QSpinBox(), 2, 2, "Layers in the window", "layers")
        self.z_count.setObjectName("z_count_spin")
        self.centre = button("Centre", "centre_button", "Centre the window on the middle layer")
        self.reverse = QCheckBox("Reverse")
        self.reverse.setObjectName("reverse_checkbox")
        self.reverse.setToolTip("Read the stack back to front (segments whose layers run inwards)")
        self.mean_k = spin(QSpinBox(), 1, 1, "Layers averaged into each channel", "layers")
        self.mean_k.setObjectName("mean_k_spin")
        self.scale = QComboBox()
        self.scale.setObjectName("scale_combo")
        for scale in SCALES:
            self.scale.addItem(RESOLUTIONS[scale], scale)
        self.scale.setToolTip(
            "The resolution the model sees: half or quarter learn from 4x or 16x more papyrus "
            "per second (ink strokes are tens of pixels wide); its prediction is full-size"
        )
        for control in (self.z_start, self.z_count, self.mean_k):
            control.setKeyboardTracking(False)  # typed numbers count once complete
        self.preview = button(
            "Preview input", "preview_input_button", f'Show what the model reads in "{INPUT_LAYER}"'
        )

    def _lay_out(self) -> None:
        form = QFormLayout(self.body)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Channels", self.mode)
        form.addRow("First layer", self.z_start)
        form.addRow("Layers", self.z_count)
        form.addRow("Mean of", self.mean_k)
        form.addRow("Resolution", self.scale)
        flags = QHBoxLayout()
        flags.addWidget(self.reverse)
        flags.addWidget(self.centre)
        form.addRow("", flags)
        form.addRow(self.preview)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle)
        layout.addWidget(self.summary)
        layout.addWidget(self.body)
