"""The loss plot: a long run costs no more to draw than a short one, and fast steps are
drawn together."""

from __future__ import annotations

import numpy as np
from qtpy.QtGui import QPainter
from qtpy.QtWidgets import QApplication

from inkloop._napari._loss_plot import MAX_BINS, SMOOTHING, LossPlot, LossTrace
from inkloop.engine import StepDone


class _Plot(LossPlot):
    """A LossPlot that notes the caption of each repaint."""

    def __init__(self) -> None:
        super().__init__()
        self.painted: list[str] = []

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.painted.append(self.caption())
        super().paintEvent(event)


def _shown(qtbot) -> _Plot:
    plot = _Plot()
    qtbot.addWidget(plot)
    plot.resize(400, 80)
    plot.show()
    qtbot.waitUntil(lambda: bool(plot.painted))  # before its first paint it paints nothing
    return plot


def test_a_long_run_is_drawn_in_a_bounded_number_of_points(qtbot, monkeypatch):
    plot = _shown(qtbot)
    losses = np.random.default_rng(0).random(100_000) + np.linspace(1, 0, 100_000)
    trace = LossTrace()
    for loss in losses:
        trace.add(loss)
    plot.show_trace(trace)
    drawn = []
    for method in ("drawPolygon", "drawPolyline"):
        monkeypatch.setattr(QPainter, method, lambda _painter, points: drawn.append(points))

    plot.repaint()

    assert len(drawn) == 3  # the raw losses, and the smoothed ones over a rim of background
    assert all(0 < len(points) <= plot.width() for points in drawn)
    for points in drawn:  # the whole run, from left to right
        assert (points.boundingRect().left(), points.boundingRect().right()) == (
            0,
            plot.width() - 1,
        )
    smoothed = losses[0]
    for loss in losses[1:]:
        smoothed = SMOOTHING * smoothed + (1 - SMOOTHING) * loss
    low, high = losses.min(), losses.max()
    assert plot.caption() == f"Smoothed {smoothed:.3f} · {low:.2f}–{high:.2f}"
    _, ranges, _ = plot.trace.curves()
    assert (ranges.min(), ranges.max()) == (low, high)  # no spike lost to the binning


def test_steps_arriving_one_by_one_are_repainted_together(qtbot, monkeypatch):
    plot = _shown(qtbot)
    asked = []  # the redraw timer calls Qt's update, not this
    monkeypatch.setattr(plot, "update", lambda *region: asked.append(region))
    trace = LossTrace()
    plot.show_trace(trace)
    qtbot.waitUntil(lambda: plot.painted[-1] == plot.caption())
    asked.clear()
    for step in range(100):
        trace.add(1 / (step + 1))
        plot.trace_grew()
        QApplication.processEvents()  # each StepDone comes in an event of its own

    assert not asked  # no repaint asked for per step
    assert plot.caption().endswith(" · 0.01–1.00")
    qtbot.waitUntil(lambda: plot.painted[-1] == plot.caption())  # the redraw timer's repaint


def test_a_day_of_steps_keeps_the_loop_small_and_its_panel_current(segment_widget):
    widget = segment_widget
    loop = widget.loop
    for step in range(1, 50_001):  # a day at ~0.6 steps/s
        loop.event_received.emit(loop.generation, StepDone(step, 1 / step, 1e-3, 64.0, 8, 0, None))

    assert len(loop.losses.bins) <= MAX_BINS  # not a list of every step's event
    assert loop.losses.count == 50_000
    assert loop.last_step.step == 50_000
    assert widget.loop_panel.plot.trace is loop.losses
    assert widget.loop_panel.status.text().startswith("step\u00a050000")
