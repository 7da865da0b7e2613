"""A small loss-over-steps plot drawn with QPainter (no plotting library in the dock)."""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import QEvent, QPointF, Qt, QTimer
from qtpy.QtGui import QColor, QPainter, QPalette, QPen, QPolygonF
from qtpy.QtWidgets import QWidget

SMOOTHING = 0.9  # exponential moving average of the loss, as training logs show it
MAX_BINS = 160  # the curves' points (twice as many for the band): a dock's width, however long
REDRAW_MS = 100  # at most ten repaints a second, however fast training steps
CURVE_COLOUR = QColor(255, 170, 0)  # orange reads on napari's dark and light themes alike


class LossTrace:
    """The losses so far in at most MAX_BINS bins of equal runs of steps, each with its
    lowest and highest loss and the smoothed loss at its end: once all are full, neighbours
    merge. Adding a step costs the same at step 100 000 as at step 10."""

    def __init__(self) -> None:
        self.count = 0
        self.low, self.high = np.inf, -np.inf
        self.smoothed: float | None = None
        self.steps_per_bin = 1
        self.bins: list[list[float]] = []  # [low, high, smoothed at its last step]

    def add(self, loss: float) -> None:
        smoothed = self.smoothed
        self.smoothed = loss if smoothed is None else SMOOTHING * smoothed + (1 - SMOOTHING) * loss
        self.low, self.high = min(self.low, loss), max(self.high, loss)
        if self.count % self.steps_per_bin:
            last = self.bins[-1]
            last[:] = min(last[0], loss), max(last[1], loss), self.smoothed
        else:
            if len(self.bins) == MAX_BINS:
                pairs = zip(self.bins[::2], self.bins[1::2], strict=True)
                self.bins = [[min(a[0], b[0]), max(a[1], b[1]), b[2]] for a, b in pairs]
                self.steps_per_bin *= 2
            self.bins.append([loss, loss, self.smoothed])
        self.count += 1

    def curves(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where each bin is drawn (its middle step; the run's first and last steps at the
        ends), its lowest and highest loss (N, 2), and its last smoothed loss (N,)."""
        bins = np.asarray(self.bins, dtype=float).reshape(-1, 3)
        starts = np.arange(len(bins)) * self.steps_per_bin
        steps = (starts + np.minimum(starts + self.steps_per_bin, self.count) - 1) / 2
        steps[[0, -1]] = 0, self.count - 1
        return steps, bins[:, :2], bins[:, 2]


class CaptionedPlot(QWidget):
    """A plot under one line of text (its caption), both sized from the widget's font: a
    larger font (napari's preferences) gets a taller caption band, not a cut-off caption."""

    def __init__(self, plot_height: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot_height = plot_height  # the least height under the caption
        self._fit_caption()

    def caption_height(self) -> int:
        """Pixels at the top for the caption, above what is plotted."""
        return self.fontMetrics().height() + 2

    def draw_caption(self, painter: QPainter, caption: str) -> None:
        """Draw ``caption`` (elided to the width) in the caption band, in the painter's pen."""
        baseline = self.fontMetrics().ascent() + 1
        painter.drawText(4, baseline, elided(self, caption))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit_caption()  # napari's stylesheet sets the font after construction

    def _fit_caption(self) -> None:
        self.setMinimumHeight(self.caption_height() + self.plot_height)


class LossPlot(CaptionedPlot):
    """The training loss (its range per bin of steps in grey, smoothed in colour) against
    the step."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(plot_height=56, parent=parent)
        self.setToolTip(
            "Training loss per step: each step's range in grey, smoothed in orange. Above: "
            "the smoothed loss now · the lowest–highest loss plotted"
        )
        self.trace = LossTrace()
        self._redraw = QTimer(self)  # steps coming faster are drawn together
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(REDRAW_MS)
        self._redraw.timeout.connect(self.update)

    def show_trace(self, trace: LossTrace) -> None:
        """Draw ``trace`` (a loop's, shared: it grows as training steps) from now on."""
        self.trace = trace
        self.update()

    def trace_grew(self) -> None:
        """The trace has another step: drawn with the others within REDRAW_MS."""
        if not self._redraw.isActive():
            self._redraw.start()

    def caption(self) -> str:
        """The plot's line of text: the smoothed loss now (the status below says the last
        step's), and the range the curves span; short enough for the dock's default width
        (the tooltip says which is which)."""
        trace = self.trace
        if trace.count < 2:
            return "The training loss shows here"  # one short line in a narrow dock
        return f"Smoothed {trace.smoothed:.3f} · {trace.low:.2f}–{trace.high:.2f}"

    def polygons(self) -> tuple[QPolygonF, QPolygonF]:
        """What paintEvent draws: the band of the raw losses (each bin's lowest to highest)
        and the smoothed loss."""
        steps, ranges, smoothed = self.trace.curves()
        top = self.caption_height()
        width, height = self.width() - 1, self.height() - 1 - top
        span = max(self.trace.high - self.trace.low, 1e-9)
        xs = steps / max(self.trace.count - 1, 1) * width

        def polygon(xs, values) -> QPolygonF:
            ys = top + height - (values - self.trace.low) / span * height
            return QPolygonF([QPointF(x, y) for x, y in zip(xs, ys, strict=True)])

        band = np.concatenate([xs, xs[::-1]]), np.concatenate([ranges[:, 0], ranges[::-1, 1]])
        return polygon(*band), polygon(xs, smoothed)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        empty = self.trace.count < 2
        painter.setPen(theme_colour(self, 0.6 if empty else 1.0))  # a hint reads fainter
        self.draw_caption(painter, self.caption())
        if empty:
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        band, smoothed = self.polygons()
        grey = theme_colour(self, 0.35)
        painter.setPen(QPen(grey, 1))  # a line where the band is thin, early in a run
        painter.setBrush(grey)
        painter.drawPolygon(band)
        painter.setPen(QPen(CURVE_COLOUR, 1.5))
        painter.drawPolyline(smoothed)
        painter.end()


def elided(widget: QWidget, caption: str) -> str:
    """``caption`` cut to the widget's width with an ellipsis (a narrow dock)."""
    return widget.fontMetrics().elidedText(caption, Qt.TextElideMode.ElideRight, widget.width() - 8)


def theme_colour(widget: QWidget, share: float) -> QColor:
    """The text colour of ``widget`` mixed into its background, ``share`` of it text.

    napari themes its window with a stylesheet, whose colours reach a widget's palette as
    WindowText and Window (the light theme's dark text included), but not as Mid or
    PlaceholderText: fainter text and fills are mixed from those two.
    """
    palette = widget.palette()
    text = palette.color(QPalette.ColorRole.WindowText)
    back = palette.color(QPalette.ColorRole.Window)
    pairs = zip(text.getRgbF()[:3], back.getRgbF()[:3], strict=True)
    return QColor.fromRgbF(*(share * a + (1 - share) * b for a, b in pairs))
