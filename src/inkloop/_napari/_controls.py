"""Small Qt controls the dock's panels share: named buttons, spin boxes, blocked updates, and
where the keyboard and the wheel go."""

from __future__ import annotations

from pathlib import Path

from qtpy.QtCore import QEvent, QSignalBlocker, QSize, Qt, QTimer
from qtpy.QtGui import QValidator
from qtpy.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inkloop._napari._focus_policy import WHEELED, leave_keys_to_viewer, typed_into

ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


def button(text: str, name: str, tip: str = "") -> QPushButton:
    """A push button with an objectName (tests and styles find it by that) and a tooltip."""
    widget = QPushButton(text)
    widget.setObjectName(name)
    widget.setToolTip(tip)
    leave_keys_to_viewer(widget)
    return widget


def give_keys_to_viewer(widget: QWidget) -> None:
    """Hand the keyboard from ``widget`` to its main window's centre, napari's canvas (keys
    that reach the window go to napari's key map); outside a main window, to no widget."""
    window = widget.parentWidget()
    while window is not None and not isinstance(window, QMainWindow):
        window = window.parentWidget()
    centre = window.centralWidget() if window is not None else None
    if centre is not None:
        centre.setFocus(Qt.FocusReason.OtherFocusReason)
    else:
        widget.clearFocus()


def single_shot(parent, msec: int, slot) -> QTimer:
    """A timer that calls ``slot`` once, ``msec`` after its last (re)start."""
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(msec)
    timer.timeout.connect(slot)
    return timer


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


class StatusLabel(QLabel):
    """Wrapped text at least ``lines`` lines high: a status that grows or shrinks within them
    leaves the controls below where they are."""

    def __init__(self, name: str, text: str = "", lines: int = 2, parent=None) -> None:
        super().__init__(text, parent)
        self.setObjectName(name)
        self.setWordWrap(True)
        self.lines = lines
        self._fit_lines()

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit_lines()  # napari's stylesheet sets the font after construction

    def _fit_lines(self) -> None:
        margins = self.contentsMargins()
        height = self.fontMetrics().lineSpacing() * self.lines
        self.setMinimumHeight(height + margins.top() + margins.bottom())


class ElidedLine(QLabel):
    """One line of text elided to the label's width (in the middle unless ``mode`` says
    otherwise), never wrapped, and never asking for more width than a few characters: a long
    path does not widen the dock."""

    def __init__(self, mode=Qt.TextElideMode.ElideMiddle, parent=None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.mode = mode
        self.whole = ""
        self.keep = 0

    def set_whole(self, text: str, keep: int = 0) -> None:
        """Show ``text``; its first ``keep`` characters (a segment id, say) stay whole while
        they take at most two thirds of the width, and the rest is elided."""
        self.whole, self.keep = text, keep
        self._elide()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(80, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(80, super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._elide()  # napari's stylesheet sets the font after the first layout

    def _elide(self) -> None:
        # less the indent of a label with a frame (napari's stylesheet gives it one: half an
        # "x") and a last glyph's overhang, so that the text lines up with others, uncut
        metrics = self.fontMetrics()
        width = max(self.contentsRect().width() - metrics.horizontalAdvance("x"), 80)
        head, rest = self.whole[: self.keep], self.whole[self.keep :]
        fits = metrics.horizontalAdvance(self.whole) <= width
        if fits or metrics.horizontalAdvance(head) > width * 2 // 3:
            head, rest = "", self.whole
        width -= metrics.horizontalAdvance(head)
        self.setText(head + metrics.elidedText(rest, self.mode, width))


class PathLabel(QWidget):
    """Wrapped text (and ``beside`` it, a widget such as a button), and below it a path on a
    line of its own, elided in the middle to the width (``/home/me/…/20231005123335``) and
    never wrapped; the whole path is the tooltip. With ``name_first``, the path's file name
    comes first on a line of its own, elided on the left (``…35_prediction.ome.zarr``), and its
    folder on the line below."""

    def __init__(
        self, name: str, name_first: bool = False, beside: QWidget | None = None, parent=None
    ) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.lead = QLabel()
        self.lead.setWordWrap(True)
        self.lead.setTextFormat(Qt.TextFormat.PlainText)
        self.file_name = ElidedLine(Qt.TextElideMode.ElideLeft) if name_first else None
        self.path = ElidedLine()
        lead = QHBoxLayout()
        lead.addWidget(self.lead, 1)
        if beside is not None:
            lead.addWidget(beside)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(lead)
        for line in self._shown()[1:]:
            layout.addWidget(line)

    def set_path(self, lead: str, path=None) -> None:
        """Show ``lead``, then ``path`` (if any) on a line of its own (or two)."""
        path = str(path or "")
        self.lead.setText(lead)
        self.lead.setVisible(bool(lead))
        if self.file_name is None:
            self.path.set_whole(path)
        else:
            self.file_name.set_whole(Path(path).name if path else "")
            self.file_name.setVisible(bool(path))
            self.path.set_whole(str(Path(path).parent) if path else "")
        self.path.setVisible(bool(path))
        self.setToolTip(path)
        # a wrapped line more changes no size hint, so Qt tells no layout above: say so here
        self.updateGeometry()

    def text(self) -> str:
        """What shows: the lead and the elided path (its name and folder), a line each."""
        return _lines(*(line.text() for line in self._shown()))

    def full_text(self) -> str:
        return _lines(self.lead.text(), self.toolTip())

    def _shown(self) -> list[QLabel]:
        return [line for line in (self.lead, self.file_name, self.path) if line is not None]


def _lines(*parts: str) -> str:
    return "\n".join(part for part in parts if part)


class VerticalScroll(QScrollArea):
    """Scrolls ``content`` vertically only, and is never narrower than the content's minimum
    width (followed as it changes): on a small screen the dock scrolls, nothing is cut off.
    The wheel scrolls it over any control but the one with the keyboard (a notch on the way
    changes no setting), and clicks leave the keys to the viewer (`leave_keys_to_viewer`);
    a press on the arrows of what is typed into (a spin box's steps, an editable combo's
    list), or Return after typing, hands them back. All hold for controls added later too."""

    def __init__(self, content: QWidget, parent=None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # nor would a click here take the keys
        self.setWidget(content)
        self._watch(content)

    def _watch(self, widget: QWidget) -> None:
        for each in (widget, *widget.findChildren(QWidget)):
            each.installEventFilter(self)  # installed again, a filter is moved, not doubled
            leave_keys_to_viewer(each)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        width = self.widget().minimumSizeHint().width() + 2 * self.frameWidth()
        width += self.verticalScrollBar().sizeHint().width()
        return QSize(width, super().minimumSizeHint().height())

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        kind = event.type()
        if kind == QEvent.Type.Wheel and isinstance(watched, WHEELED) and not watched.hasFocus():
            event.ignore()  # so Qt offers it to the parents: the scroll area scrolls
            return True
        if kind == QEvent.Type.MouseButtonPress and typed_into(watched) and watched.isEnabled():
            give_keys_to_viewer(watched)  # before it steps or pops up: a mouse step, not typing
        elif kind == QEvent.Type.KeyPress and typed_into(watched) and event.key() in ENTER:
            watched.event(event)  # it takes the value typed, as Return always did...
            give_keys_to_viewer(watched)  # ...and the canvas has the keys again
            return True
        if kind == QEvent.Type.ChildAdded and event.child().isWidgetType():
            self._watch(event.child())
        elif kind == QEvent.Type.Polish:  # a child made in place is whole (and typed) by now
            leave_keys_to_viewer(watched)
        elif watched is self.widget() and kind == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # the content's minimum width may have changed
        return super().eventFilter(watched, event)
