"""The "Segment" section of the dock: the open segment, its layer composition, an input preview."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from inkloop._napari._controls import PathLabel, button, set_quietly
from inkloop._napari._input_preview import show_model_input
from inkloop._napari._window_controls import WindowControls
from inkloop._napari._windows import fit, model_summary, window_summary
from inkloop.compose import Composition
from inkloop.engine import Composed, ModelBuilt
from inkloop.engine._events import WindowRefused
from inkloop.io import shown_location
from inkloop.settings import EngineSettings

NO_SEGMENT = "No segment open: drop a segment folder or zarr, or use Open segment… for TIFF stacks."
TOO_SHALLOW = "This segment has one layer: the model needs a window of at least two"
WINDOW_REFUSED = "the model's layers are not in this stack: move First layer"


class SegmentPanel(QGroupBox):
    """The open segment and which of its layers the model reads (see `apply`).

    ``open_segment(path)`` opens a segment (folder, zarr or TIFF stack) in the viewer;
    `show_opening` says while it does.
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
        self.model_reverse: bool | None = None  # Reverse ticked for it; None: not touched
        self._built: ModelBuilt | None = None  # what the engine said of the loaded model
        self._refused = False  # the engine said its trained layers are not in this stack
        self._request: int | None = None  # the input preview awaited
        self.opening: str | None = None  # the location being opened
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
        # shown while an open waits: a server that does not answer holds it for a while
        self.cancel_open_button = button("Cancel", "cancel_open_button", "Stop opening it")
        self.segment_label = PathLabel("segment_label")
        self.window = WindowControls()
        self._lay_out()
        self._connect()
        self.set_loop(None)

    def set_loop(self, loop) -> None:
        """Follow ``loop``'s segment (a LoopSession; None: no segment is open)."""
        if self.loop is not None:
            self.loop.changed.disconnect(self._show_event)
        self.loop, self._request, self._built = loop, None, None  # its engine says anew
        self._refused = False
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
        this stack (As trained puts it back on the layers it was trained on), and Reverse,
        which says that this stack is stored back to front."""
        self.model, self.model_z_start, self.model_reverse = checkpoint, None, None
        self._built, self._refused = None, False
        self._show_composition()

    def show_opening(self, location: str | None) -> None:
        """Say that ``location`` is being opened, its open buttons waiting (a second open
        waits for this one); None: the open ended."""
        self.opening = location
        self.open_button.setEnabled(location is None)
        self.open_url_button.setEnabled(location is None)
        self.cancel_open_button.setVisible(location is not None)
        self._show_segment()

    def apply(self, settings: EngineSettings) -> EngineSettings:
        """``settings`` with this panel's composition, or with a loaded model where its window
        goes and whether this stack is stored back to front (the composition's reverse, which
        is all the engine reads of it with a model: `resolve_run`)."""
        if not self.model_loaded:
            return dataclasses.replace(settings, composition=self.composition, init_z_start=None)
        stored = dataclasses.replace(self.composition, reverse=self.model_reverse is True)
        return dataclasses.replace(settings, composition=stored, init_z_start=self.model_z_start)

    def preview_input(self) -> None:
        """Show what the model reads in the visible area as the "model input" layer.

        A running training is not disturbed: the preview then shows its composition.
        """
        self._request = self.loop.compose_view()

    def _lay_out(self) -> None:
        layout = QVBoxLayout(self)
        opens = QHBoxLayout()
        opens.addWidget(self.open_button)
        opens.addWidget(self.open_url_button)
        opens.addWidget(self.cancel_open_button)
        self.cancel_open_button.setVisible(False)
        layout.addLayout(opens)
        layout.addWidget(self.segment_label)
        layout.addWidget(self.window)

    def _connect(self) -> None:
        opens = self.open_button.menu()
        opens.addAction("Segment folder or zarr…").triggered.connect(self._choose_folder)
        opens.addAction("Multi-page TIFF stack…").triggered.connect(self._choose_tiff)
        self.open_url_button.clicked.connect(self._ask_url)
        window = self.window
        window.mode.currentTextChanged.connect(lambda mode: self._change(mode=mode))
        window.z_start.valueChanged.connect(self._move_start)
        window.z_count.valueChanged.connect(lambda count: self._change(z_count=count))
        window.centre.clicked.connect(lambda: self._move_start(None))
        window.reverse.toggled.connect(self._reverse)
        window.mean_k.valueChanged.connect(lambda k: self._change(mean_k=k))
        window.scale.currentIndexChanged.connect(
            lambda index: self._change(scale=window.scale.itemData(index))
        )
        window.preview.clicked.connect(self.preview_input)

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

    def _reverse(self, on: bool) -> None:
        """Reverse: this panel's window, or how the stack a loaded model reads is stored."""
        if not self.model_loaded:
            self._change(reverse=on)
            return
        self.model_reverse = on
        self._show_composition()
        self.composition_changed.emit()  # the next run's composition: what carries over

    def _show_segment(self) -> None:
        if self.opening is not None:
            self.segment_label.set_path("Opening…", shown_location(self.opening))  # no login
            return
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
            self.window.summary.setText("" if self.loop is None else TOO_SHALLOW)
            return
        if not self.model_loaded:
            resolved = self.composition.resolve(self.layers)
            self.window.show_window(resolved, self.layers)
            centred = ["centred"] if self.composition.z_start is None else []
            self.window.summary.setText(window_summary(resolved, self.layers, centred))
            return
        resolved = self._model_window()
        if resolved is not None:
            self.window.show_window(resolved, self.layers)
        else:  # not the panel's own tick
            set_quietly(self.window.reverse, "setChecked", self.model_reverse is True)
        trained_reversed = self._built is not None and self._built.trained_reversed
        summary = model_summary(resolved, self.model_z_start, self.layers, trained_reversed)
        refused = self._refused and self.model_z_start is None  # As trained: still not there
        self.window.summary.setText(WINDOW_REFUSED if refused else summary)

    def _enable_controls(self) -> None:
        editable = self.layers is not None and not self.model_loaded
        movable = self.model_loaded and self.layers is not None  # the model's window may move
        own_order = self._built is not None and self._built.reversed_as_trained
        self.window.enable(editable, self.composition.mode, self.model_loaded, movable, own_order)
        self.window.preview.setEnabled(self.loop is not None)

    def _model_window(self) -> Composition | None:
        """The loaded model's window as it will read this stack (back to front where Reverse
        was ticked for it, except on its own stack, which keeps its order); None until the
        engine has built the model (ModelBuilt), as only it can read the checkpoint."""
        if self._built is None:
            return None
        window, reverse = self._built.composition, self.model_reverse
        if reverse is None or self._built.reversed_as_trained:
            reverse = window.reverse
        start = self.model_z_start
        if start is None:
            start = self._built.trained_start
        start = window.z_start if start is None else start
        start = min(start, self.layers - window.z_count)
        return dataclasses.replace(window, z_start=start, reverse=reverse)

    def _show_event(self, event) -> None:
        if isinstance(event, Composed) and event.request == self._request:
            show_model_input(self.loop.viewer, event, below=self.loop.labels.layer)
        elif isinstance(event, ModelBuilt) and self.model_loaded and self._shows(event):
            self._built, self._refused = event, False
            self._show_composition()
        elif isinstance(event, WindowRefused) and self.model_loaded and self._shows(event):
            self._refused = True
            self._show_composition()

    def _shows(self, event: ModelBuilt | WindowRefused) -> bool:
        """Whether ``event`` is of the model loaded here (not of an engine before): as the
        loop's own settings say, since an engine server names the model by its own path."""
        return self.loop.settings.init == self.model
