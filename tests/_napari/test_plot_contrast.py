"""The loss and rounds plots stand WCAG's contrast on napari's dark and light themes: 4.5:1
for their text (hints included), 3:1 for their lines, fills and dots. On the light theme the
orange loss curve was 1.55:1, the raw losses' band 2.09:1 and the hint 4.12:1."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtGui import QColor, QPainter

from inkloop._napari._loss_plot import LossTrace
from inkloop._napari._widget import InkLoopWidget
from inkloop.rounds import Round

TEXT, GRAPHIC = 4.5, 3.0  # WCAG 1.4.3 (small text) and 1.4.11 (graphical objects)


def _ratio(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio, computed here apart from the code under test."""

    def luminance(colour: QColor) -> float:
        rgb = np.array([colour.red(), colour.green(), colour.blue()]) / 255
        linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
        return float(linear @ [0.2126, 0.7152, 0.0722])

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _painted(plot) -> list[tuple[str, QColor, float]]:
    """What ``plot`` paints, as (kind, colour, pen width): kind is text, line, dot or fill."""
    marks = []

    def noting(method: str, kind: str):
        original = getattr(QPainter, method)

        def draw(painter, *args):
            pen = painter.pen()
            colour = {"fill": painter.brush().color(), "rect": args[-1]}.get(kind, pen.color())
            marks.append(("fill" if kind == "rect" else kind, QColor(colour), pen.widthF()))
            return original(painter, *args)

        patch.setattr(QPainter, method, draw)

    kinds = [("drawText", "text"), ("drawPolyline", "line"), ("drawPoint", "dot")]
    with pytest.MonkeyPatch.context() as patch:
        for method, kind in [*kinds, ("drawPolygon", "fill"), ("fillRect", "rect")]:
            noting(method, kind)
        plot.grab()  # paints it now
    return marks


def _background(plot) -> QColor:
    """The colour the plot is drawn on: a corner of it rendered before anything is plotted."""
    image = plot.grab().toImage()
    return QColor(image.pixel(image.width() - 1, image.height() - 1))


def _round(number: int, f05: float) -> Round:
    return Round(number, "2026-01-01T00:00:00", 900 * number, 300, 0, 50, f05, None, "h")


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_plots_text_and_marks_stand_out_on_napari_themes(
    make_napari_viewer, monkeypatch, qtbot, theme
):
    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    viewer.theme = theme
    loss, rounds = widget.loop_panel.plot, widget.guide_panel.plot
    dark = theme == "dark"
    qtbot.waitUntil(lambda: (_ratio(_background(loss), QColor("white")) > 2) == dark)
    backgrounds = [_background(loss), _background(rounds)]
    hints = [_painted(loss), _painted(rounds)]
    trace = LossTrace()
    for loss_value in np.random.default_rng(0).random(300) + np.linspace(1, 0, 300):
        trace.add(float(loss_value))
    loss.show_trace(trace)
    rounds.set_rounds([_round(1, 0.4), _round(2, 0.7)])
    for plot, background, hint in zip((loss, rounds), backgrounds, hints, strict=True):
        marks = _painted(plot)
        assert [kind for kind, _, _ in hint] == ["text"]
        assert {kind for kind, _, _ in marks} == {"text", "fill", "line" if plot is loss else "dot"}
        for kind, colour, width in hint + marks:
            if colour == background:  # a rim around a line or dot, wider than it
                assert any(c != colour and k == kind and w < width for k, c, w in marks)
                continue
            wanted = TEXT if kind == "text" else GRAPHIC
            assert _ratio(colour, background) >= wanted, (plot, kind, colour.name())
