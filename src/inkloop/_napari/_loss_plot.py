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
        self._losses = np.zeros(0)
        self._smoothed = np.zeros(0)

    def set_losses(self, losses) -> None:
        # smoothed once here, not on every repaint (a long run repaints thousands of points)
        self._losses = np.asarray(losses, dtype=float)
        values, average = [], None
        for loss in self._losses.tolist():
            average = loss if average is None else SMOOTHING * average + (1 - SMOOTHING) * loss
            values.append(average)
        self._smoothed = np.asarray(values)
        self.update()

    def smoothed(self) -> np.ndarray:
        return self._smoothed

    def caption(self) -> str:
        """The plot's line of text: the smoothed loss now, and the range the curves span."""
        if len(self._losses) < 2:
            return "the loss shows here as training runs"
        low, high = self._losses.min(), self._losses.max()
        return f"loss {self._smoothed[-1]:.3f}   (plot from {low:.2f} to {high:.2f})"

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setPen(Qt.GlobalColor.lightGray)
        painter.drawText(4, 12, self.caption())
        if len(self._losses) < 2:
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        low, high = float(self._losses.min()), float(self._losses.max())
        for values, colour in (
            (self._losses, QColor(120, 120, 120)),
            (self._smoothed, QColor(255, 170, 0)),
        ):
            painter.setPen(QPen(colour, 1.5))
            painter.drawPolyline(self._polygon(values, low, high))
        painter.end()

    def _polygon(self, values: np.ndarray, low: float, high: float) -> QPolygonF:
        width, height = self.width() - 1, self.height() - 1 - TEXT_HEIGHT
        xs = np.linspace(0, width, len(values))
        ys = TEXT_HEIGHT + height - (values - low) / max(high - low, 1e-9) * height
        return QPolygonF([QPointF(x, y) for x, y in zip(xs, ys, strict=True)])
