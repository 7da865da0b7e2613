"""The loss and rounds plots' captions fit their font: with a larger font (napari's
preferences) the caption band grows, and no glyph is cut off at the top."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter
from qtpy.QtWidgets import QApplication

from inkloop._napari._loss_plot import LossPlot
from inkloop._napari._rounds_plot import EMPTY_CAPTION, RoundsPlot

LARGE = 24  # pixels: far above the plots' old fixed 14 px caption band


def _ink_rows(image: QImage, background: QColor) -> np.ndarray:
    """The rows of ``image`` with any pixel unlike ``background``."""
    rows = []
    for y in range(image.height()):
        if any(QColor(image.pixel(x, y)) != background for x in range(image.width())):
            rows.append(y)
    return np.asarray(rows)


def _reference_rows(font: QFont, text: str, width: int) -> int:
    """How many rows ``text`` covers in ``font``, drawn well inside an image."""
    metrics = QFontMetrics(font)
    image = QImage(width, 3 * metrics.height(), QImage.Format.Format_RGB32)
    image.fill(QColor("black"))
    painter = QPainter(image)
    painter.setFont(font)
    painter.setPen(QColor("white"))
    painter.drawText(4, metrics.height() + metrics.ascent(), text)
    painter.end()
    rows = _ink_rows(image, QColor("black"))
    return int(rows.max() - rows.min() + 1)


@pytest.mark.parametrize(("plot_type", "caption"), [(LossPlot, None), (RoundsPlot, EMPTY_CAPTION)])
def test_an_empty_plots_caption_is_whole_in_a_large_font(qtbot, plot_type, caption):
    plot = plot_type()
    qtbot.addWidget(plot)
    font = QFont(plot.font())
    font.setPixelSize(LARGE)
    plot.setFont(font)
    QApplication.processEvents()
    plot.resize(600, plot.minimumHeight())
    image = plot.grab().toImage()
    background = QColor(image.pixel(image.width() - 1, image.height() - 1))
    rows = _ink_rows(image, background)
    text = caption or plot.caption()
    assert rows.min() > 0  # nothing reaches the top edge: not cut off there
    assert rows.max() - rows.min() + 1 == _reference_rows(font, text, 600)
    assert plot.minimumHeight() > QFontMetrics(font).height()  # and room left to plot
