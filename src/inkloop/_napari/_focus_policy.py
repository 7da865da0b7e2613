"""Which of the dock's controls a click gives the keyboard, and which ones a wheel notch turns:
the rules `VerticalScroll` (in _controls.py) applies to every control in the dock."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QSlider, QWidget

WHEELED = (QAbstractSpinBox, QComboBox, QSlider)  # controls whose value a wheel notch changes


def leave_keys_to_viewer(control: QWidget) -> None:
    """A click on a button, radio, check box, slider or combo box leaves the keyboard where it
    was, on napari's canvas (Space pans, arrows step layers), as napari's own layer controls
    do; Tab still reaches it. What is typed into (spin boxes, editable combo boxes) takes it
    by a click in its text or Tab, never by the wheel (`VerticalScroll` gives it back)."""
    if isinstance(control, (QAbstractButton, QSlider)):
        control.setFocusPolicy(Qt.FocusPolicy.TabFocus)
    elif isinstance(control, QComboBox):  # (made editable, say, since it was first seen)
        typed = control.isEditable()
        control.setFocusPolicy(Qt.FocusPolicy.StrongFocus if typed else Qt.FocusPolicy.TabFocus)
    elif isinstance(control, WHEELED) and control.focusPolicy() == Qt.FocusPolicy.WheelFocus:
        control.setFocusPolicy(Qt.FocusPolicy.StrongFocus)


def typed_into(control: QWidget) -> bool:
    """A spin box or an editable combo box: its text is a QLineEdit child, so a mouse press on
    the control itself is on its arrows (or frame)."""
    return isinstance(control, QAbstractSpinBox) or (
        isinstance(control, QComboBox) and control.isEditable()
    )
