"""Rounds of labelling and training at a glance: labelled area (bars) and validation F0.5
(dots) per round, drawn with QPainter like the loss plot."""

from __future__ import annotations

from qtpy.QtCore import QPointF, QRectF, Qt
from qtpy.QtGui import QColor, QPainter, QPen
from qtpy.QtWidgets import QWidget

from inkloop._napari._loss_plot import CURVE_COLOUR, CaptionedPlot, theme_colour

# when `inkloop._napari._rounds.RoundKeeper` records a round (the caption is one short line)
RECORDED = (
    "when a run ends (Stop, its step or time limit, another segment opened, the dock "
    "closed) and at each model saved outside a run"
)
EMPTY_CAPTION = "Recorded at each Stop or save"  # under the caption "Rounds"


class RoundsPlot(CaptionedPlot):
    """One column per recorded round (`inkloop.rounds.Round`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(plot_height=46, parent=parent)
        self.setToolTip(
            f"One column per round of labelling and training, recorded {RECORDED}: "
            "labelled area as bars, validation F0.5 as dots"
        )
        self.rounds: list = []

    def set_rounds(self, rounds) -> None:
        self.rounds = list(rounds)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        if not self.rounds:
            painter.setPen(theme_colour(self, 0.6))  # a hint reads fainter
            self.draw_caption(painter, EMPTY_CAPTION)
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        top = self.caption_height()
        width, height = self.width(), self.height() - top
        column = width / len(self.rounds)
        areas = [r.ink_pixels + r.no_ink_pixels for r in self.rounds]
        most = max(max(areas), 1)
        for index, (round_, area) in enumerate(zip(self.rounds, areas, strict=True)):
            left = index * column
            bar = area / most * height
            painter.fillRect(
                QRectF(left + column * 0.2, top + height - bar, column * 0.6, bar),
                QColor(80, 120, 200),
            )
            if round_.validation_f05 is not None:
                painter.setPen(QPen(CURVE_COLOUR, 6, cap=Qt.PenCapStyle.RoundCap))
                y = top + height - round_.validation_f05 * height
                painter.drawPoint(QPointF(left + column / 2, y))
        painter.setPen(theme_colour(self, 1.0))
        last = self.rounds[-1]
        score = "" if last.validation_f05 is None else f" · F0.5 {last.validation_f05:.2f}"
        caption = f"Round {last.number} · {areas[-1]:,} px labelled{score}"
        self.draw_caption(painter, caption)
        painter.end()
