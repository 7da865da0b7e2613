"""Small Qt controls the dock's panels share: named buttons, spin boxes, blocked updates."""

from __future__ import annotations

from qtpy.QtCore import QSignalBlocker
from qtpy.QtGui import QValidator
from qtpy.QtWidgets import QDoubleSpinBox, QPushButton, QSpinBox, QWidget


def button(text: str, name: str, tip: str = "") -> QPushButton:
    """A push button with an objectName (tests and styles find it by that) and a tooltip."""
    widget = QPushButton(text)
    widget.setObjectName(name)
    widget.setToolTip(tip)
    return widget


def spin(spin_box, low, high, tip: str, suffix: str = ""):
    """``spin_box`` with a range, a tooltip and a unit; double spin boxes step by 0.05."""
    spin_box.setRange(low, high)
    spin_box.setToolTip(tip)
    spin_box.setSuffix(f" {suffix}" if suffix else "")
    if isinstance(spin_box, QDoubleSpinBox):
        spin_box.setSingleStep(0.05)
    return spin_box


def set_quietly(control: QWidget, setter: str, value) -> None:
    """Call ``control.<setter>(value)`` without emitting its change signals."""
    _blocker = QSignalBlocker(control)
    getattr(control, setter)(value)


class StepSpinBox(QSpinBox):
    """An integer spin box that only takes multiples of its single step (typed values snap)."""

    def validate(self, text: str, pos: int):
        state, text, pos = super().validate(text, pos)
        if state == QValidator.State.Acceptable and self.valueFromText(text) % self.singleStep():
            state = QValidator.State.Intermediate  # fixup snaps it when editing ends
        return state, text, pos

    def fixup(self, text: str) -> str:
        try:
            value = int(text.removesuffix(self.suffix()).strip())
        except ValueError:
            return super().fixup(text)
        step = self.singleStep()
        snapped = min(max(round(value / step) * step, self.minimum()), self.maximum())
        return self.textFromValue(snapped)


class LogSpinBox(QDoubleSpinBox):
    """A positive number on a log scale: arrows multiply by ``factor``, text like ``3e-04``."""

    def __init__(self, low: float, high: float, factor: float = 10**0.25, parent=None) -> None:
        super().__init__(parent)
        self.factor = factor
        self.setDecimals(12)  # Qt rounds values to this many decimals
        self.setRange(low, high)

    def stepBy(self, steps: int) -> None:  # noqa: N802 (Qt's name)
        value = self.value() * self.factor**steps
        self.setValue(float(f"{value:.2g}"))  # round numbers: 1e-3, 1.8e-3, 3.2e-3...

    def textFromValue(self, value: float) -> str:  # noqa: N802
        return f"{value:.3g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802
        return float(text)

    def validate(self, text: str, pos: int):
        try:
            value = float(text)
        except ValueError:
            return QValidator.State.Intermediate, text, pos
        ok = self.minimum() <= value <= self.maximum()  # (False for nan)
        return (QValidator.State.Acceptable if ok else QValidator.State.Intermediate), text, pos
