"""Rounds of labelling and training at a glance: labelled area (bars) and validation F0.5
(dots) per round, drawn with QPainter like the loss plot; a dashed line before a round whose
F0.5 was scored on another region than the one before (`region_moves`): the scores either
side are not one series."""

from __future__ import annotations

from qtpy.QtCore import QPointF, QRectF, Qt
from qtpy.QtGui import QColor, QPainter, QPen
from qtpy.QtWidgets import QWidget

from inkloop._napari._loss_plot import (
    GRAPHIC_CONTRAST,
    CaptionedPlot,
    PlotColours,
    first_legible,
    plot_colours,
)

# when `inkloop._napari._rounds.RoundKeeper` records a round (the caption is one short line)
RECORDED = (
    "when a run ends (Stop, its step or time limit, another segment opened, the dock "
    "closed) and at each model saved outside a run"
)
EMPTY_CAPTION = "Recorded at each Stop or save"  # under the caption "Rounds"
BAR_COLOUR = QColor(80, 120, 200)  # blue: 3.5:1 on napari's dark and light themes
DOT_SIZE = 6  # pixels across a validation F0.5 dot


class RoundsPlot(CaptionedPlot):
    """One column per recorded round (`inkloop.rounds.Round`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(plot_height=46, parent=parent)
        self.setToolTip(
            f"One column per round of labelling and training, recorded {RECORDED}: "
            "labelled area as bars, validation F0.5 as dots; a dashed line where the "
            "validation region scored moved: F0.5 either side is not comparable"
        )
        self.rounds: list = []

    def set_rounds(self, rounds) -> None:
        self.rounds = list(rounds)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        colours = plot_colours(self)
        if not self.rounds:
            painter.setPen(colours.hint)  # a hint reads fainter
            self.draw_caption(painter, EMPTY_CAPTION)
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        top = self.caption_height()
        width, height = self.width(), self.height() - top
        column = width / len(self.rounds)
        areas = [r.ink_pixels + r.no_ink_pixels for r in self.rounds]
        most = max(max(areas), 1)
        bars = first_legible(BAR_COLOUR, colours.text, colours.background, GRAPHIC_CONTRAST)
        moves = region_moves(self.rounds)
        for index, (round_, area) in enumerate(zip(self.rounds, areas, strict=True)):
            left = index * column
            bar = area / most * height
            painter.fillRect(
                QRectF(left + column * 0.2, top + height - bar, column * 0.6, bar), bars
            )
            if round_.validation_f05 is not None:
                y = top + height - round_.validation_f05 * height
                _draw_dot(painter, QPointF(left + column / 2, y), colours)
            if index in moves:
                painter.setPen(QPen(colours.text, 1, Qt.PenStyle.DashLine))
                painter.drawLine(QPointF(left, top), QPointF(left, top + height))
        painter.setPen(colours.text)
        self.draw_caption(
            painter, _caption(self.rounds[-1], areas[-1], len(self.rounds) - 1 in moves)
        )
        painter.end()


def region_moves(rounds) -> set[int]:
    """The indices of the ``rounds`` scored on another validation region than the scored
    round before them; a round that does not record its region (None: from before
    `Round.scored_region`, or not scored) neither moves nor breaks the series."""
    moves, before = set(), None
    for index, round_ in enumerate(rounds):
        region = getattr(round_, "scored_region", None)
        if region is None:
            continue
        if before is not None and list(region) != list(before):
            moves.add(index)
        before = region
    return moves


def _caption(last, area: int, moved: bool) -> str:
    """The last round's number, F0.5 (and whether its region moved) and labelled area: the
    score first, so a narrow dock cuts off the area, which its bar shows."""
    score = "" if last.validation_f05 is None else f" · F0.5 {last.validation_f05:.2f}"
    if moved:
        score += ", region moved"
    return f"Round {last.number}{score} · {area:,} px labelled"


def _draw_dot(painter: QPainter, centre: QPointF, colours: PlotColours) -> None:
    """A dot in the curve's colour with a rim of background: it stands out over a bar."""
    for colour, size in ((colours.background, DOT_SIZE + 2), (colours.curve, DOT_SIZE)):
        painter.setPen(QPen(colour, size, cap=Qt.PenCapStyle.RoundCap))
        painter.drawPoint(centre)
