"""Sections that fold away under an arrow button naming them: the Model panel's Advanced
settings, and the dock's Predict and Engine sections."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QGroupBox, QToolButton, QVBoxLayout, QWidget

from inkloop._napari._controls import set_quietly


def fold_button(text: str, name: str, tip: str) -> QToolButton:
    """A checkable button with an arrow beside ``text``: pressed, what it folds shows."""
    toggle = QToolButton()
    toggle.setObjectName(name)
    toggle.setText(text)
    toggle.setToolTip(tip)
    toggle.setCheckable(True)
    toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    return toggle


def unfold(toggle: QToolButton, body: QWidget, shown: bool) -> None:
    """Show or hide ``body``, its arrow pointing down while shown and right while folded."""
    body.setVisible(shown)
    toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
    set_quietly(toggle, "setChecked", shown)


class FoldedSection(QWidget):
    """``section`` (a titled QGroupBox) under an arrow button bearing its title; folded, the
    button alone shows, so the section is still found by its name."""

    def __init__(self, section: QGroupBox, name: str, shown: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.section = section
        title = section.title()
        self.toggle = fold_button(title, name, f"Show or hide the {title} section")
        section.setTitle("")  # the button names it
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toggle)
        layout.addWidget(section)
        self.toggle.toggled.connect(self.unfold)
        self.unfold(shown)

    @property
    def shown(self) -> bool:
        return self.toggle.isChecked()

    def unfold(self, shown: bool) -> None:
        unfold(self.toggle, self.section, shown)
