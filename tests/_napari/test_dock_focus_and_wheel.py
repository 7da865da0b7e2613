"""The dock keeps its hands off the wheel and the keyboard (keyboard review R3, findings 1-3;
closing review C1, finding 1): the wheel scrolls it over any setting but the one being typed
in, and a click on one of its buttons, radios, check boxes, sliders or combo boxes, or on a
spin box's arrows, leaves the keys (Space to pan, arrows to step layers, digits for the ink
strength) to napari's canvas; Return after typing into a setting hands them back."""

from __future__ import annotations

import pytest
from qtpy.QtCore import QPoint, QPointF, Qt
from qtpy.QtGui import QWheelEvent
from qtpy.QtTest import QTest
from qtpy.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QStyle,
    QStyleOptionComboBox,
    QStyleOptionSpinBox,
    QWidget,
)

from inkloop.engine import State, StateChanged
from tests._napari._fakes import fake_engines
from tests._napari._gui import canvas

SETTINGS = (QAbstractSpinBox, QComboBox, QSlider)  # what a wheel notch turns


def wheel_over(control: QWidget, dy: int = -120) -> QWidget | None:
    """One notch down over ``control``'s centre, delivered by Qt's rule for a real wheel
    (QApplication::notify): to the widget under the pointer, then to its parents until one
    accepts it. A QWheelEvent sent from here is not spontaneous, so Qt would not pass it on
    itself. The widget that took it."""
    centre = control.rect().center()
    point, widget = control.mapToGlobal(centre), control.childAt(centre) or control
    while widget is not None:
        local = QPointF(widget.mapFromGlobal(point))
        event = QWheelEvent(
            local, QPointF(point), QPoint(), QPoint(0, dy), Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
        )  # fmt: skip
        if QApplication.sendEvent(widget, event) and event.isAccepted():
            return widget
        widget = None if widget.isWindow() else widget.parentWidget()
    return None


def _value(control):
    return control.currentText() if hasattr(control, "currentText") else control.value()


def test_the_wheel_scrolls_the_dock_over_every_setting_but_the_one_with_the_keys(
    laptop_dock, qtbot
):
    _, widget = laptop_dock
    widget.segment_panel.window.toggle.click()  # Model input and Model → Advanced unfolded
    widget.model_panel.advanced.click()
    scroll = widget.findChild(QScrollArea)
    bar = scroll.verticalScrollBar()
    settings = [
        control
        for control in scroll.widget().findChildren(QWidget)
        if isinstance(control, SETTINGS) and control.isVisible() and control.isEnabled()
    ]
    assert len(settings) > 15  # window, brush, threshold, guide and model settings
    for control in settings:
        scroll.ensureWidgetVisible(control, 0, 80)
        before, top = _value(control), bar.value()
        taker = wheel_over(control)
        assert _value(control) == before, control.objectName() or control.toolTip()
        assert taker is not control
        assert bar.value() > top or top == bar.maximum()  # the dock scrolled instead

    radius = widget.brush_panel.radius
    scroll.ensureWidgetVisible(radius, 0, 80)
    radius.setFocus(Qt.FocusReason.TabFocusReason)  # chosen with the keyboard: it is turned
    assert wheel_over(radius) is radius
    assert radius.value() == 19
    assert widget.labels.painter.brush.radius == 19

    # settings added later (a section built when unfolded, say) are kept from it too
    panel = widget.engine_panel
    widget.engine_section.toggle.click()
    made_in_place = QSpinBox(panel)  # built under the content, typed only once polished
    added = [QSpinBox(), QPushButton("Later")]  # built first, then laid out in it
    for control in (made_in_place, *added):
        panel.layout().addWidget(control)
    qtbot.waitUntil(lambda: made_in_place.isVisible())

    assert made_in_place.focusPolicy() == Qt.FocusPolicy.StrongFocus  # never by the wheel
    assert added[0].focusPolicy() == Qt.FocusPolicy.StrongFocus
    assert added[1].focusPolicy() == Qt.FocusPolicy.TabFocus
    made_in_place.setRange(0, 9)
    made_in_place.setValue(5)
    scroll.ensureWidgetVisible(made_in_place, 0, 80)
    assert wheel_over(made_in_place) is not made_in_place
    assert made_in_place.value() == 5


def _keys_to(viewer):
    """Where a key pressed now goes: the focus widget, or the window (napari passes keys
    to the canvas from either)."""
    return QApplication.focusWidget() or viewer.window._qt_window


def test_a_click_in_the_dock_leaves_space_and_the_arrows_to_the_canvas(laptop_dock, qtbot):
    viewer, widget = laptop_dock
    brush, painter = widget.brush_panel, widget.labels.painter
    canvas(viewer).native.setFocus()
    painter.stamp_along([(20, 20), (20, 60)])
    painter.stamp_along([(40, 20), (40, 60)])
    strokes = painter.canvas.codes.copy()
    painter.undo()
    one_undone = painter.canvas.codes.copy()

    QTest.mouseClick(brush.undo, Qt.MouseButton.LeftButton)  # a second stroke undone
    QTest.mouseClick(brush.redo, Qt.MouseButton.LeftButton)
    assert (painter.canvas.codes == one_undone).all()
    QTest.keyPress(_keys_to(viewer), Qt.Key.Key_Space)  # hold Space to pan...
    assert not painter.painting  # ...and a drag pans
    QTest.keyRelease(_keys_to(viewer), Qt.Key.Key_Space)
    assert (painter.canvas.codes == one_undone).all()  # Redo not clicked again
    assert not (painter.canvas.codes == strokes).all()

    layer = viewer.dims.current_step[0]
    erase = brush.findChild(QRadioButton, "erase_mode")
    for control in (erase, brush.show_overlay, brush.opacity, widget.loop_panel.threshold):
        QTest.mouseClick(control, Qt.MouseButton.LeftButton)
        QTest.keyClick(_keys_to(viewer), Qt.Key.Key_Right)  # the next layer, not the next radio
        assert viewer.dims.current_step[0] == layer + 1
        layer += 1
    assert painter.brush.mode == "erase"


def _title_bar_has_keys(widget) -> bool:
    dock = widget.parentWidget()
    while not isinstance(dock, QDockWidget):
        dock = dock.parentWidget()
    focused = QApplication.focusWidget()
    return dock.isAncestorOf(focused) and not widget.isAncestorOf(focused)


def test_a_run_button_going_grey_hands_the_keys_on_not_to_the_dock_s_hide_button(
    laptop_dock, monkeypatch
):
    """Qt gives the keys of a button disabled to the next in the focus chain: after the run
    bar, the dock's title-bar hide button, which the next Space (a pan) clicks."""
    fake_engines(monkeypatch)
    _, widget = laptop_dock
    loop, panel = widget.loop, widget.loop_panel
    monkeypatch.setattr(loop, "stop", lambda: None)  # the engine would end the run later
    panel.finetune_button.setFocus(Qt.FocusReason.TabFocusReason)

    QTest.keyClick(panel.finetune_button, Qt.Key.Key_Space)  # off until the run begins
    assert not panel.finetune_button.isEnabled()
    assert not _title_bar_has_keys(widget)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert widget.isVisible()

    loop.event_received.emit(loop.generation, StateChanged(State.TRAINING, State.IDLE))
    panel.pause_button.setFocus(Qt.FocusReason.TabFocusReason)
    loop.event_received.emit(loop.generation, StateChanged(State.STOPPED, State.TRAINING))
    assert panel.finetune_button.hasFocus()  # the run ended (its time up): what comes next
    loop.event_received.emit(loop.generation, StateChanged(State.TRAINING, State.STOPPED))
    assert panel.pause_button.hasFocus()  # a run begun (a key, a script): Pause is on first

    panel.stop_button.setFocus(Qt.FocusReason.TabFocusReason)
    QTest.keyClick(panel.stop_button, Qt.Key.Key_Space)  # Stopping…: Pause and Stop go off
    assert not panel.stop_button.isEnabled()
    assert not _title_bar_has_keys(widget)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert widget.isVisible()


def _arrow(control, part=QStyle.SubControl.SC_SpinBoxUp) -> QPoint:
    """The centre of a spin box's up (or ``part``) arrow, or of a combo box's arrow, as its
    style draws it."""
    combo = isinstance(control, QComboBox)
    option = QStyleOptionComboBox() if combo else QStyleOptionSpinBox()
    control.initStyleOption(option)
    kind = QStyle.ComplexControl.CC_ComboBox if combo else QStyle.ComplexControl.CC_SpinBox
    part = QStyle.SubControl.SC_ComboBoxArrow if combo else part
    return control.style().subControlRect(kind, option, part, control).center()


def test_a_click_on_a_spin_box_s_arrows_leaves_space_and_the_digits_to_the_canvas(laptop_dock):
    """The review's case (C1 #1): after Radius "+", Space+drag painted and 5 typed Radius 5."""
    viewer, widget = laptop_dock
    brush, painter = widget.brush_panel, widget.labels.painter
    canvas(viewer).native.setFocus()
    radius = brush.radius
    widget.findChild(QScrollArea).ensureWidgetVisible(radius, 0, 80)
    before = radius.value()

    QTest.mouseClick(radius, Qt.MouseButton.LeftButton, pos=_arrow(radius))
    assert radius.value() == before + radius.singleStep()  # the click stepped it...
    assert not radius.hasFocus()  # ...and left the keys to the canvas
    assert wheel_over(radius) is not radius  # (so a notch scrolls the dock past it)
    assert painter.painting
    QTest.keyPress(_keys_to(viewer), Qt.Key.Key_Space)  # hold Space: a drag pans
    assert not painter.painting
    QTest.keyRelease(_keys_to(viewer), Qt.Key.Key_Space)
    QTest.keyClick(_keys_to(viewer), Qt.Key.Key_5)  # ink at strength 0.5, not Radius 5
    assert painter.brush.strength == pytest.approx(0.5)
    assert radius.value() == before + radius.singleStep()

    down = QStyle.SubControl.SC_SpinBoxDown
    QTest.mouseClick(brush.strength, Qt.MouseButton.LeftButton, pos=_arrow(brush.strength, down))
    assert brush.strength.value() == pytest.approx(0.45)
    QTest.keyClick(_keys_to(viewer), Qt.Key.Key_3)
    assert painter.brush.strength == pytest.approx(0.3)


def test_a_value_picked_with_the_mouse_leaves_the_arrows_to_the_canvas(laptop_dock, qtbot):
    """C1 #1: a combo box's value picked with the mouse (Channels there) kept the keys: →
    stepped no layer, and ↓ changed the setting silently."""
    viewer, widget = laptop_dock
    widget.model_panel.advanced.click()
    device = widget.model_panel.findChild(QComboBox, "device_combo")
    widget.findChild(QScrollArea).ensureWidgetVisible(device, 0, 80)
    canvas(viewer).native.setFocus()

    QTest.mouseClick(device, Qt.MouseButton.LeftButton)  # the popup opens...
    qtbot.waitUntil(lambda: device.view().isVisible())
    view = device.view()
    pick = view.visualRect(view.model().index(device.count() - 1, 0)).center()
    QTest.mouseMove(view.viewport(), pick)  # (a popup takes no click before the mouse moved)
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pick)  # ...a value in it
    qtbot.waitUntil(lambda: not view.isVisible())
    picked = device.currentText()
    assert picked == device.itemText(device.count() - 1)

    layer = viewer.dims.current_step[0]
    QTest.keyClick(_keys_to(viewer), Qt.Key.Key_Right)  # the next layer, not the next device
    assert viewer.dims.current_step[0] == layer + 1
    QTest.keyClick(_keys_to(viewer), Qt.Key.Key_Up)
    assert device.currentText() == picked
    assert device.focusPolicy() == Qt.FocusPolicy.TabFocus  # Tab still reaches it


def test_typing_into_a_spin_box_still_works_and_return_leaves_the_keys_to_the_canvas(
    laptop_dock, qtbot
):
    viewer, widget = laptop_dock
    brush, painter = widget.brush_panel, widget.labels.painter
    radius = brush.radius
    widget.findChild(QScrollArea).ensureWidgetVisible(radius, 0, 80)
    canvas(viewer).native.setFocus()

    QTest.mouseClick(radius.lineEdit(), Qt.MouseButton.LeftButton)  # in its text: typing
    assert radius.hasFocus()
    radius.selectAll()
    QTest.keyClicks(radius, "7")
    assert painter.brush.radius == 7
    QTest.keyClick(radius, Qt.Key.Key_Return)
    assert not radius.hasFocus()
    layer = viewer.dims.current_step[0]
    QTest.keyClick(_keys_to(viewer), Qt.Key.Key_Right)
    assert viewer.dims.current_step[0] == layer + 1
    assert radius.value() == 7

    encoder = widget.model_panel.findChild(QComboBox, "encoder_combo")  # typed into too
    widget.model_panel.advanced.click()
    widget.findChild(QScrollArea).ensureWidgetVisible(encoder, 0, 80)
    QTest.mouseClick(encoder.lineEdit(), Qt.MouseButton.LeftButton)
    assert encoder.hasFocus()
    encoder.lineEdit().selectAll()
    QTest.keyClicks(encoder, "tu-test")
    assert encoder.currentText() == "tu-test"
    QTest.keyClick(encoder, Qt.Key.Key_Return)
    assert not encoder.hasFocus()
    QTest.mouseClick(encoder, Qt.MouseButton.LeftButton, pos=_arrow(encoder))  # its list
    qtbot.waitUntil(encoder.view().isVisible)
    encoder.hidePopup()  # (while it shows, the list has the keys)
    assert not encoder.hasFocus()  # a pick from the list is the mouse's too
