"""The "Ink Loop" dock widget. For now: open a segment and show what is loaded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtWidgets import QFileDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from inkloop._napari._reader import segment_path

if TYPE_CHECKING:
    import napari


class InkLoopWidget(QWidget):
    """Dock widget driving the ink loop for the segments open in a viewer."""

    def __init__(self, napari_viewer: napari.viewer.Viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.open_button = QPushButton("Open segment…")
        self.open_button.setObjectName("open_segment_button")
        self.open_button.clicked.connect(self._choose_segment)
        self.segment_label = QLabel()
        self.segment_label.setObjectName("segment_label")
        self.segment_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.open_button)
        layout.addWidget(self.segment_label)
        layout.addStretch(1)
        self._events = (self.viewer.layers.events.inserted, self.viewer.layers.events.removed)
        for event in self._events:
            event.connect(self._show_segment)
        self._show_segment()

    def open_segment(self, path: str) -> None:
        """Open a segment through this plugin's reader."""
        self.viewer.open(path, plugin="napari-inkloop")

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        for emitter in self._events:
            emitter.disconnect(self._show_segment)
        super().closeEvent(event)

    def _choose_segment(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open segment folder")
        if path:
            self.open_segment(path)

    def _show_segment(self, event=None) -> None:
        layers = [layer for layer in self.viewer.layers if segment_path(layer)]
        if not layers:
            self.segment_label.setText(
                "No segment open: drop a segment folder, TIFF stack or zarr."
            )
            return
        layer = layers[-1]
        depth, height, width = layer.data[0].shape if layer.multiscale else layer.data.shape
        summary = f"{layer.name}: {depth} layers of {height} x {width} {layer.dtype}"
        self.segment_label.setText(f"{summary}\n{segment_path(layer)}")
