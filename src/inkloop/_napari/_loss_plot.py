"""A small loss-over-steps plot drawn with QPainter (no plotting library in the dock)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from qtpy.QtCore import QEvent, QPointF, Qt, QTimer
from qtpy.QtGui import QColor, QPainter, QPalette, QPen, QPolygonF
from qtpy.QtWidgets import QWidget

SMOOTHING = 0.9  # exponential moving average of the loss, as training logs show it
MAX_BINS = 160  # the curves' points (twice as many for the band): a dock's width, however long
REDRAW_MS = 100  # at most ten repaints a second, however fast training steps
CURVE_COLOUR = QColor(255, 170, 0)  # orange; plot_colours darkens it on a light background
GRAPHIC_CONTRAST = 3.0  # WCAG 1.4.11: lines, fills and marks against their background
TEXT_CONTRAST = 4.5  # WCAG 1.4.3: small text, the fainter hints included


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
        colours = plot_colours(self)
        painter.setPen(colours.hint if empty else colours.text)  # a hint reads fainter
        self.draw_caption(painter, self.caption())
        if empty:
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        band, smoothed = self.polygons()
        painter.setPen(QPen(colours.band, 1))  # a line where the band is thin, early in a run
        painter.setBrush(colours.band)
        painter.drawPolygon(band)
        # the curve runs over the band: a rim of background between them keeps it legible
        painter.setPen(QPen(colours.background, 3.5))
        painter.drawPolyline(smoothed)
        painter.setPen(QPen(colours.curve, 1.5))
        painter.drawPolyline(smoothed)
        painter.end()


def elided(widget: QWidget, caption: str) -> str:
    """``caption`` cut to the widget's width with an ellipsis (a narrow dock)."""
    return widget.fontMetrics().elidedText(caption, Qt.TextElideMode.ElideRight, widget.width() - 8)


class PlotColours(NamedTuple):
    """A plot's colours on its theme, each legible against ``background`` (WCAG)."""

    background: QColor
    text: QColor
    hint: QColor  # the faintest text that still stands TEXT_CONTRAST
    band: QColor  # the faintest fill that still stands GRAPHIC_CONTRAST
    curve: QColor  # CURVE_COLOUR, darkened on a light theme to stand GRAPHIC_CONTRAST


def plot_colours(widget: QWidget) -> PlotColours:
    """The colours to draw ``widget``'s plot in, from its palette.

    napari themes its window with a stylesheet, whose colours reach a widget's palette as
    WindowText and Window (the light theme's dark text included), but not as Mid or
    PlaceholderText: fainter text and fills are mixed from those two.
    """
    palette = widget.palette()
    text = palette.color(QPalette.ColorRole.WindowText)
    back = palette.color(QPalette.ColorRole.Window)
    away = QColor("black") if luminance(back) > luminance(text) else QColor("white")
    return PlotColours(
        background=back,
        text=text,
        hint=first_legible(back, text, back, TEXT_CONTRAST),
        band=first_legible(back, text, back, GRAPHIC_CONTRAST),
        curve=first_legible(CURVE_COLOUR, away, back, GRAPHIC_CONTRAST),
    )


def first_legible(start: QColor, end: QColor, background: QColor, ratio: float) -> QColor:
    """The first of the colours from ``start`` to ``end`` (in 32 steps) that stands
    ``ratio``:1 against ``background``; ``end`` if none does."""
    for step in range(33):
        colour = mixed(end, start, step / 32)
        if contrast(colour, background) >= ratio:
            return colour
    return end


def mixed(a: QColor, b: QColor, share: float) -> QColor:
    """``share`` of ``a`` mixed into ``b``."""
    pairs = zip(a.getRgbF()[:3], b.getRgbF()[:3], strict=True)
    return QColor.fromRgbF(*(share * x + (1 - share) * y for x, y in pairs))


def contrast(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio of two colours, from 1 (the same) to 21 (black on white)."""
    lighter, darker = sorted((luminance(a), luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def luminance(colour: QColor) -> float:
    """WCAG 2 relative luminance of an sRGB colour, 0 (black) to 1 (white)."""

    def linear(value: int) -> float:
        value /= 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = colour.red(), colour.green(), colour.blue()
    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
