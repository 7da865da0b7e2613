"""The "Segment" section of the dock: the open segment, its layer composition, an input preview."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QSpinBox,
    QWidget,
)

from inkloop._napari._controls import PathLabel, button, set_quietly, spin
from inkloop._napari._input_preview import INPUT_LAYER, show_model_input
from inkloop._napari._windows import RESOLUTIONS, fit, model_summary, window_summary
from inkloop.compose import MODES, SCALES, Composition
from inkloop.engine import Composed, ModelBuilt
from inkloop.io import shown_location
from inkloop.settings import EngineSettings

NO_SEGMENT = "No segment open: drop a segment folder or zarr, or use Open segment… for TIFF stacks."
TOO_SHALLOW = "This segment has one layer: the model needs a window of at least two"
FROM_CHECKPOINT = "The loaded model reads the layers it was trained on; clear it to choose here"
MOVE_MODEL = "Where the loaded model's window starts on this stack (its layers stay its own)"
AS_TRAINED = "Read the layers the loaded model was trained on, found by their file numbers"
MODE_TIPS = {
    "raw": "one channel per layer",
    "mean": "means of consecutive layers (mend gaps)",
    "diff": "|L[i+1] - L[i]| of neighbouring layers (ink dispersion)",
    "raw+diff": "the layers and their differences",
}


class SegmentPanel(QGroupBox):
    """The open segment and which of its layers the model reads (see `apply`).

    ``open_segment(path)`` opens a segment (folder, zarr or TIFF stack) in the viewer.
    """

    composition_changed = Signal()  # the user chose other layers or channels

    def __init__(self, open_segment: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__("Segment", parent)
        self.open_segment = open_segment
        self.loop = None
        self.layers: int | None = None  # depth of the open segment
        self.composition = Composition()
        self.model: Path | None = None  # a loaded model (it brings its own composition)
        self.model_z_start: int | None = None  # where the user moved its window; None: as trained
        self._built: ModelBuilt | None = None  # what the engine said of the loaded model
        self._request: int | None = None  # the input preview awaited
        self.open_button = button("Open segment…", "open_segment_button", "A folder, zarr or TIFF")
        # a menu: no one dialog picks a folder or a file; and napari leaves a dropped *.tif to
        # its own reader (see napari.yaml), so a TIFF stack opens from here
        self.open_button.setMenu(QMenu(self.open_button))
        self.open_url_button = button(
            "Open URL…",
            "open_url_button",
            "A segment's zarr on an HTTP server: only the chunks in view are fetched; "
            "labels are saved on this machine",
        )
        self.segment_label = PathLabel("segment_label")
        self._make_controls()
        self._lay_out()
        self._connect()
        self.set_loop(None)

    def set_loop(self, loop) -> None:
        """Follow ``loop``'s segment (a LoopSession; None: no segment is open)."""
        if self.loop is not None:
            self.loop.changed.disconnect(self._show_event)
        self.loop, self._request, self._built = loop, None, None  # its engine says anew
        depth = loop.labels.segment.shape[0] if loop is not None else 0
        self.layers = depth if depth >= 2 else None  # a z-window needs two layers
        if loop is not None:
            loop.changed.connect(self._show_event)
        if self.layers is not None:
            self.composition = fit(self.layers, **self.composition.to_dict())
        self._show_segment()
        self._show_composition()

    @property
    def model_loaded(self) -> bool:
        return self.model is not None

    def show_model(self, checkpoint: Path | None) -> None:
        """With a loaded model (``checkpoint``, the Model panel's) its own composition
        applies: the controls grey out but First layer, which moves the model's window on
        this stack (As trained puts it back on the layers it was trained on)."""
        self.model, self.model_z_start, self._built = checkpoint, None, None
        self._show_composition()

    def apply(self, settings: EngineSettings) -> EngineSettings:
        """``settings`` with this panel's composition, and where a loaded model's window goes."""
        moved = self.model_z_start if self.model_loaded else None
        return dataclasses.replace(settings, composition=self.composition, init_z_start=moved)

    def preview_input(self) -> None:
        """Show what the model reads in the visible area as the "model input" layer.

        A running training is not disturbed: the preview then shows its composition.
        """
        self._request = self.loop.compose_view()

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
        self._tips = {control: control.toolTip() for control in self._composition_controls()}
        self.summary = QLabel()
        self.summary.setObjectName("composition_summary")
        self.summary.setWordWrap(True)
        self.preview = button(
            "Preview input", "preview_input_button", f'Show what the model reads in "{INPUT_LAYER}"'
        )

    def _lay_out(self) -> None:
        form = QFormLayout(self)
        opens = QHBoxLayout()
        opens.addWidget(self.open_button)
        opens.addWidget(self.open_url_button)
        form.addRow(opens)
        form.addRow(self.segment_label)
        form.addRow("Channels", self.mode)
        form.addRow("First layer", self.z_start)
        form.addRow("Layers", self.z_count)
        form.addRow("Mean of", self.mean_k)
        form.addRow("Resolution", self.scale)
        flags = QHBoxLayout()
        flags.addWidget(self.reverse)
        flags.addWidget(self.centre)
        form.addRow("", flags)
        form.addRow(self.summary)
        form.addRow(self.preview)

    def _connect(self) -> None:
        opens = self.open_button.menu()
        opens.addAction("Segment folder or zarr…").triggered.connect(self._choose_folder)
        opens.addAction("Multi-page TIFF stack…").triggered.connect(self._choose_tiff)
        self.open_url_button.clicked.connect(self._ask_url)
        self.mode.currentTextChanged.connect(lambda mode: self._change(mode=mode))
        self.z_start.valueChanged.connect(self._move_start)
        self.z_count.valueChanged.connect(lambda count: self._change(z_count=count))
        self.centre.clicked.connect(lambda: self._move_start(None))
        self.reverse.toggled.connect(lambda on: self._change(reverse=on))
        self.mean_k.valueChanged.connect(lambda k: self._change(mean_k=k))
        self.scale.currentIndexChanged.connect(
            lambda index: self._change(scale=self.scale.itemData(index))
        )
        self.preview.clicked.connect(self.preview_input)

    def _composition_controls(self) -> tuple[QWidget, ...]:
        return (
            self.mode,
            self.z_start,
            self.z_count,
            self.centre,
            self.reverse,
            self.mean_k,
            self.scale,
        )

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open segment folder")
        if path:
            self.open_segment(path)

    def _choose_tiff(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a TIFF stack", "", "TIFF (*.tif *.tiff)")
        if path:
            self.open_segment(path)

    def _ask_url(self) -> None:
        url, ok = QInputDialog.getText(
            self, "Open segment URL", "http(s):// address of the segment's zarr:"
        )
        if ok and url.strip():
            self.open_segment(url.strip())

    def _change(self, **changes) -> None:
        self.composition = fit(self.layers, **{**self.composition.to_dict(), **changes})
        self._show_composition()
        self.composition_changed.emit()

    def _move_start(self, start: int | None) -> None:
        """First layer or Centre / As trained: this panel's window, or the loaded model's."""
        if self.model_loaded:
            self.model_z_start = start
            self._show_composition()
        else:
            self._change(z_start=start)

    def _show_segment(self) -> None:
        if self.loop is None:
            self.segment_label.set_path(NO_SEGMENT)
            return
        segment = self.loop.labels.segment
        depth, height, width = segment.shape
        summary = f"{segment.name}: {depth} layers of {height} x {width} {segment.dtype}"
        self.segment_label.set_path(summary, shown_location(segment.path))  # no login

    def _show_composition(self) -> None:
        self._enable_controls()
        if self.layers is None:
            self.summary.setText("" if self.loop is None else TOO_SHALLOW)
            return
        if not self.model_loaded:
            resolved = self.composition.resolve(self.layers)
            self._show_window(resolved)
            centred = ["centred"] if self.composition.z_start is None else []
            self.summary.setText(window_summary(resolved, self.layers, centred))
            return
        resolved = self._model_window()
        if resolved is not None:
            self._show_window(resolved)
        self.summary.setText(model_summary(resolved, self.model_z_start, self.layers))

    def _enable_controls(self) -> None:
        editable = self.layers is not None and not self.model_loaded
        for control in self._composition_controls():
            control.setEnabled(editable)
            control.setToolTip(FROM_CHECKPOINT if self.model_loaded else self._tips[control])
        self.mean_k.setEnabled(editable and self.composition.mode == "mean")
        self.centre.setText("As trained" if self.model_loaded else "Centre")
        if self.model_loaded and self.layers is not None:  # the model's window may move
            for control, tip in ((self.z_start, MOVE_MODEL), (self.centre, AS_TRAINED)):
                control.setEnabled(True)
                control.setToolTip(tip)
        self.preview.setEnabled(self.loop is not None)

    def _model_window(self) -> Composition | None:
        """The loaded model's window as it will read this stack; None until the engine has
        built the model (ModelBuilt), as only it can read the checkpoint."""
        if self._built is None:
            return None
        window = self._built.composition
        start = self.model_z_start
        if start is None:
            start = self._built.trained_start
        start = window.z_start if start is None else start
        return dataclasses.replace(window, z_start=min(start, self.layers - window.z_count))

    def _show_window(self, resolved: Composition) -> None:
        """The controls' values for the resolved window ``resolved``."""
        set_quietly(self.mode, "setCurrentText", resolved.mode)
        self.z_count.setSingleStep(resolved.mean_k if resolved.mode == "mean" else 1)
        for control, high, value in (
            (self.mean_k, self.layers, resolved.mean_k),
            (self.z_count, self.layers, resolved.z_count),
            (self.z_start, self.layers - resolved.z_count, resolved.z_start),
        ):
            set_quietly(control, "setMaximum", high)
            set_quietly(control, "setValue", value)
        set_quietly(self.reverse, "setChecked", resolved.reverse)
        set_quietly(self.scale, "setCurrentIndex", self.scale.findData(resolved.scale))

    def _show_event(self, event) -> None:
        if isinstance(event, Composed) and event.request == self._request:
            show_model_input(self.loop.viewer, event, below=self.loop.labels.layer)
        elif isinstance(event, ModelBuilt) and self.model_loaded and self._shows(event):
            self._built = event
            self._show_composition()

    def _shows(self, event: ModelBuilt) -> bool:
        """Whether ``event`` is of the model loaded here (not of an engine before)."""
        return self.loop.settings.init == self.model
