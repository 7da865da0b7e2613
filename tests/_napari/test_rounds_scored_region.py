"""The dock's rounds record the region each F0.5 was scored on, and the rounds plot marks
where it moved (review RD of session 41, finding 4): 0.23 on one region then 0.14 on another
read as a round that got worse."""

from __future__ import annotations

import dataclasses

from inkloop._napari._loss_plot import elided
from inkloop._napari._rounds_plot import RoundsPlot, region_moves
from inkloop.engine import CheckpointSaved, Validated
from inkloop.rounds import Round, read_rounds


def _round(number: int, scored) -> Round:
    return Round(number, "t", 5, 5, 0, 10, None if scored is None else 0.2, "c.pt", "h",
                 scored_region=scored)  # fmt: skip


def test_a_dock_round_records_the_region_it_was_scored_on(open_in_dock, segment_folder, qtbot):
    _, widget = open_in_dock(segment_folder)
    loop, keeper = widget.loop, widget.guide_panel.rounds
    for step, region in ((60, (0, 0, 32, 48)), (90, (16, 8, 48, 56))):
        loop.settings = dataclasses.replace(loop.settings, validation=region)
        loop._apply(loop.generation, Validated(step, 0.61, 0.7, 0.4, 0.5))
        loop._apply(loop.generation, CheckpointSaved("model.pt", step))
    loop._apply(loop.generation, CheckpointSaved("model.pt", 95))  # not scored at its step
    qtbot.waitUntil(lambda: len(read_rounds(keeper.path)) == 3)
    recorded = [r.scored_region for r in read_rounds(keeper.path)]
    assert recorded == [[0, 0, 32, 48], [16, 8, 48, 56], None]


def test_the_plot_marks_a_moved_region_and_not_an_unknown_one(qtbot):
    a, b = [0, 0, 32, 48], [16, 8, 48, 56]
    rounds = [_round(1, None), _round(2, a), _round(3, None), _round(4, a), _round(5, b)]
    assert region_moves(rounds) == {4}
    plot = RoundsPlot()
    qtbot.addWidget(plot)
    plot.resize(200, 80)
    plot.set_rounds(rounds)
    assert not plot.grab().isNull()  # paints the dashed line without error


class _CaptionShown(RoundsPlot):
    """A rounds plot that keeps the caption as drawn: elided to its width."""

    def draw_caption(self, painter, caption: str) -> None:
        self.shown = elided(self, caption)
        super().draw_caption(painter, caption)


def test_a_moved_region_stays_in_the_caption_of_a_narrow_dock(qtbot):
    """Closing review C6 of session 41, finding 5: at 350 px '(region moved)' was cut off
    after the labelled area's count."""
    a, b = [0, 0, 32, 48], [16, 8, 48, 56]
    many = dict(ink_pixels=750_000, no_ink_pixels=1_500_000, validation_f05=0.14)
    rounds = [_round(11, a), dataclasses.replace(_round(12, b), **many)]
    plot = _CaptionShown()
    qtbot.addWidget(plot)
    plot.resize(350, 80)
    plot.set_rounds(rounds)
    plot.grab()
    assert "region moved" in plot.shown
    assert "F0.5 0.14" in plot.shown
