"""A small loss-over-steps plot drawn with QPainter (no plotting library in the dock)."""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import QPointF, Qt
from qtpy.QtGui import QColor, QPainter, QPen, QPolygonF
from qtpy.QtWidgets import QWidget

SMOOTHING = 0.9  # exponential moving average of the loss, as training logs show it
TEXT_HEIGHT = 14  # pixels at the top for the plot's one line of text, above the curves


class LossPlot(QWidget):
    """The training loss (raw in grey, smoothed in colour) against the step."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(70)
        self.setToolTip("Training loss per step (smoothed)")
        self._losses: list[float] = []

    def set_losses(self, losses) -> None:
        self._losses = [float(loss) for loss in losses]
        self.update()

    def smoothed(self) -> np.ndarray:
        values, average = [], None
        for loss in self._losses:
            average = loss if average is None else SMOOTHING * average + (1 - SMOOTHING) * loss
            values.append(average)
        return np.asarray(values)

    def caption(self) -> str:
        """The plot's line of text: the smoothed loss now, and the range the curves span."""
        if len(self._losses) < 2:
            return "the loss shows here as training runs"
        low, high = min(self._losses), max(self._losses)
        return f"loss {self.smoothed()[-1]:.3f}   (plot from {low:.2f} to {high:.2f})"

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setPen(Qt.GlobalColor.lightGray)
        painter.drawText(4, 12, self.caption())
        if len(self._losses) < 2:
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        raw = np.asarray(self._losses)
        low, high = float(raw.min()), float(raw.max()) or 1.0
        for values, colour in (
            (raw, QColor(120, 120, 120)),
            (self.smoothed(), QColor(255, 170, 0)),
        ):
            painter.setPen(QPen(colour, 1.5))
            painter.drawPolyline(self._polygon(values, low, high))
        painter.end()

    def _polygon(self, values: np.ndarray, low: float, high: float) -> QPolygonF:
        width, height = self.width() - 1, self.height() - 1 - TEXT_HEIGHT
        xs = np.linspace(0, width, len(values))
        ys = TEXT_HEIGHT + height - (values - low) / max(high - low, 1e-9) * height
        return QPolygonF([QPointF(x, y) for x, y in zip(xs, ys, strict=True)])
