"""The "Ink Loop" dock widget: assembles the panels and follows the segment open in the viewer."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from napari.utils.notifications import show_error
from qtpy.QtWidgets import QFileDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from inkloop._napari._brush_panel import BrushPanel
from inkloop._napari._labels import is_ink_labels
from inkloop._napari._labels_session import LabelSession
from inkloop._napari._loop import LoopSession
from inkloop._napari._loop_panel import LoopPanel, validation_region
from inkloop._napari._reader import segment_path
from inkloop.io import open_segment

if TYPE_CHECKING:
    import napari

log = logging.getLogger(__name__)


class InkLoopWidget(QWidget):
    """Dock widget driving the ink loop for the segment open in a viewer."""

    #: start the engine process as soon as a segment has labels, so that the first click on
    #: "Finetune & preview" answers in a second rather than after torch's import
    warm_engine = True
    #: torch threads of the engine process; None: one less than the cores, leaving the GUI one
    torch_threads: int | None = None

    def __init__(self, napari_viewer: napari.viewer.Viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.labels: LabelSession | None = None
        self.loop: LoopSession | None = None
        self.open_button = QPushButton("Open segment…")
        self.open_button.setObjectName("open_segment_button")
        self.open_button.clicked.connect(self._choose_segment)
        self.segment_label = QLabel()
        self.segment_label.setObjectName("segment_label")
        self.segment_label.setWordWrap(True)
        self.brush_panel = BrushPanel()
        self.loop_panel = LoopPanel(self._run_settings)
        layout = QVBoxLayout(self)
        for widget in (self.open_button, self.segment_label, self.brush_panel, self.loop_panel):
            layout.addWidget(widget)
        layout.addStretch(1)
        self._events = (self.viewer.layers.events.inserted, self.viewer.layers.events.removed)
        for event in self._events:
            event.connect(self._follow_layers)
        self._follow_layers()

    def open_segment(self, path: str) -> None:
        """Open a segment through this plugin's reader."""
        self.viewer.open(path, plugin="napari-inkloop")

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        for emitter in self._events:
            emitter.disconnect(self._follow_layers)
        self._end_labels()
        super().closeEvent(event)

    def _choose_segment(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open segment folder")
        if path:
            self.open_segment(path)

    def _follow_layers(self, event=None) -> None:
        """Paint the newest soft-label layer; show which segment it belongs to."""
        layer = next((lay for lay in reversed(self.viewer.layers) if is_ink_labels(lay)), None)
        if self.labels is None or self.labels.layer is not layer:
            self._end_labels()
            if layer is not None:
                self._begin_labels(layer)
        self._show_segment()

    def _begin_labels(self, layer) -> None:
        try:
            segment = open_segment(segment_path(layer))
        except (OSError, ValueError) as error:
            show_error(f"Cannot paint {layer.name}: {error}")
            return
        self.labels = LabelSession(layer, segment)
        self.brush_panel.set_session(self.labels)
        self.loop = LoopSession(self.viewer, self.labels, torch_threads=self.torch_threads)
        self.loop_panel.set_loop(self.loop)
        if self.warm_engine and self.labels.painter.canvas.codes.any():
            self.loop.warm_up()

    def _end_labels(self) -> None:
        if self.loop is not None:
            self.loop_panel.set_loop(None)
            self.loop.close()
            self.loop = None
        if self.labels is not None:
            self.brush_panel.set_session(None)
            self.labels.close()
            self.labels = None

    def _run_settings(self):
        """EngineSettings for the next run: the loop's, with the validation region drawn."""
        holdout = validation_region(self.viewer, self.labels.segment.shape[1:])
        return dataclasses.replace(self.loop.settings, holdout=holdout)

    def _show_segment(self) -> None:
        if self.labels is None:
            self.segment_label.setText(
                "No segment open: drop a segment folder, TIFF stack or zarr."
            )
            return
        segment = self.labels.segment
        depth, height, width = segment.shape
        summary = f"{segment.name}: {depth} layers of {height} x {width} {segment.dtype}"
        self.segment_label.setText(f"{summary}\n{segment.path}")
