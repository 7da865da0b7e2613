"""The brush section of the Ink Loop dock: brush settings, the labels layer's visibility and
opacity, undo, save and load, and where strokes are that no file beside the segment holds."""

from __future__ import annotations

import logging
import math

from qtpy.QtCore import QSignalBlocker, QSize, Qt
from qtpy.QtGui import QTextOption
from qtpy.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QRadioButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QTextEdit,
    QWidget,
)

from inkloop._napari._controls import button, spin
from inkloop._napari._keys import SHORTCUTS
from inkloop._napari._labels import LABELS_LAYER
from inkloop._napari._painter import MAX_RADIUS
from inkloop._napari._say import say_info, say_warning
from inkloop.brush import MODES, Brush

log = logging.getLogger(__name__)
MODE_NAMES = {"ink": "Ink", "no_ink": "No ink", "erase": "Erase", "accept": "Accept"}
LOAD_FAILED = "Labels not loaded"


class BrushPanel(QGroupBox):
    """Controls for the current `LabelSession` (none: everything is disabled, the brush
    controls at a new brush's values)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Labels", parent)
        self.session = None
        self.paint = button("Paint", "paint_button", f"Left-drag paints ({SHORTCUTS['paint']})")
        self.paint.setCheckable(True)
        self.modes = QButtonGroup(self)
        mode_grid = QGridLayout()  # two a row: four in one cut their names in a narrow dock
        for index, mode in enumerate(MODES):
            radio = QRadioButton(MODE_NAMES[mode])
            radio.setObjectName(f"{mode}_mode")
            radio.setToolTip(f"{MODE_NAMES[mode]} ({SHORTCUTS[mode]})")
            self.modes.addButton(radio)
            mode_grid.addWidget(radio, *divmod(index, 2))
        self.radius = spin(
            QSpinBox(),
            1,
            MAX_RADIUS,
            f"Radius in pixels ({SHORTCUTS['smaller']}, {SHORTCUTS['larger']})",
            "px",
        )
        self.hardness = spin(QDoubleSpinBox(), 0, 1, "0: soft falloff from the centre, 1: hard")
        strength_keys = SHORTCUTS["strength"]
        self.strength = spin(
            QDoubleSpinBox(),
            0,
            1,
            f"How sure: ink strength 0..1 (0 paints nothing; keys {strength_keys}: 0.1…1.0)",
        )
        self.levels = spin(
            QSpinBox(),
            0,
            16,
            "A fuzzy brush: each stamp's strengths rounded to N steps of Strength (off: smooth)",
        )
        self.ink_only = (self.hardness, self.strength, self.levels)
        for control in self.ink_only:
            control.setToolTip(f"{control.toolTip()}. Ink only: other modes take the whole disc")
        self.levels.setSpecialValueText("off")
        self.show_overlay = QCheckBox("Show")
        self.show_overlay.setToolTip(f'Show the "{LABELS_LAYER}" layer (its eye in the layer list)')
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setToolTip(f'Opacity of the "{LABELS_LAYER}" layer, to see the image under it')
        self.undo = button("Undo", "undo_button", f"Undo the last stroke ({SHORTCUTS['undo']})")
        self.redo = button("Redo", "redo_button", f"Redo the stroke undone ({SHORTCUTS['redo']})")
        self.save = button(
            "Save labels",
            "save_labels_button",
            "Write <id>_inklabels.png and <id>_supervision_mask.png beside the segment",
        )
        self.load = button(
            "Load labels…",
            "load_labels_button",
            "Replace the labels by an ink label PNG or TIFF (one undoable stroke)",
        )
        self.storage = StorageLine("labels_storage")  # until a save takes them: a notice goes
        self._lay_out(mode_grid)
        self._connect()
        self.set_session(None)

    def set_session(self, session) -> None:
        """Drive ``session``'s painter (or nothing)."""
        if self.session is not None:
            self.session.painter.brush_changed.disconnect(self._show_brush)
            self.session.painter.painting_changed.disconnect(self._show_painting)
            self.session.layer.events.opacity.disconnect(self._show_overlay)
            self.session.layer.events.visible.disconnect(self._show_overlay)
            self.session.loading_changed.disconnect(self._show_loading)
            self.session.storage_changed.disconnect(self._show_storage)
        self.session = session
        self._show_storage("" if session is None else session.storage)
        if session is None:
            self._show_brush(Brush())  # a new brush's values, not the boxes' least, greyed
        for child in self.findChildren(QWidget):
            child.setEnabled(session is not None)
        if session is None:
            return
        painter = session.painter
        painter.brush_changed.connect(self._show_brush)
        painter.painting_changed.connect(self._show_painting)
        session.layer.events.opacity.connect(self._show_overlay)
        session.layer.events.visible.connect(self._show_overlay)
        session.loading_changed.connect(self._show_loading)
        session.storage_changed.connect(self._show_storage)
        self._show_loading(session.loading)
        self._show_brush(painter.brush)
        self.paint.setChecked(painter.painting)
        self._show_overlay()

    def _lay_out(self, mode_grid) -> None:
        form = QFormLayout(self)
        form.addRow(self.paint)
        form.addRow(mode_grid)
        form.addRow("Radius", self.radius)
        form.addRow("Hardness", self.hardness)
        form.addRow("Strength", self.strength)
        form.addRow("Strength steps", self.levels)
        overlay = QHBoxLayout()
        overlay.addWidget(self.show_overlay)
        overlay.addWidget(self.opacity)
        form.addRow("Labels layer", overlay)
        for pair in ((self.undo, self.redo), (self.save, self.load)):
            row = QHBoxLayout()
            for control in pair:
                row.addWidget(control)
            form.addRow(row)
        form.addRow(self.storage)

    def _connect(self) -> None:
        self.paint.toggled.connect(lambda on: setattr(self.session.painter, "painting", on))
        self.modes.buttonClicked.connect(
            lambda radio: self._set(mode=radio.objectName().removesuffix("_mode"))
        )
        self.radius.valueChanged.connect(lambda value: self._set(radius=value))
        self.hardness.valueChanged.connect(lambda value: self._set(hardness=value))
        self.strength.valueChanged.connect(lambda value: self._set(strength=value))
        self.levels.valueChanged.connect(lambda value: self._set(levels=value or None))
        self.show_overlay.toggled.connect(lambda on: setattr(self.session.layer, "visible", on))
        self.opacity.valueChanged.connect(
            lambda value: setattr(self.session.layer, "opacity", value / 100)
        )
        self.undo.clicked.connect(lambda: self.session.painter.undo())
        self.redo.clicked.connect(lambda: self.session.painter.redo())
        self.save.clicked.connect(self._save)
        self.load.clicked.connect(self._choose_labels)

    def _set(self, **changes) -> None:
        if self.session is not None:
            self.session.painter.set_brush(**changes)

    def _show_brush(self, brush) -> None:
        controls = (self.radius, self.hardness, self.strength, self.levels)
        values = (round(brush.radius), brush.hardness, brush.strength, brush.levels or 0)
        for control, value in zip(controls, values, strict=True):
            _blocker = QSignalBlocker(control)
            control.setValue(value)
        for radio in self.modes.buttons():
            radio.setChecked(radio.objectName() == f"{brush.mode}_mode")
        for control in self.ink_only:  # greyed out where they change nothing
            control.setEnabled(brush.mode == "ink")

    def _show_painting(self, on: bool) -> None:
        self.paint.setChecked(on)

    def _show_overlay(self, event=None) -> None:
        layer = self.session.layer
        _blockers = [QSignalBlocker(control) for control in (self.show_overlay, self.opacity)]
        self.show_overlay.setChecked(layer.visible)
        self.opacity.setValue(round(layer.opacity * 100))

    def _show_loading(self, loading: bool) -> None:
        self.load.setEnabled(not loading)

    def _show_storage(self, storage: str) -> None:
        """Where unsaved strokes are, and the way out; hidden while the folder holds them."""
        self.storage.setPlainText(f"⚠ {storage}" if storage else "")
        self.storage.setVisible(bool(storage))

    def _save(self) -> None:
        self.session.save()  # a notification says how it went

    def _choose_labels(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load ink labels", "", "Images (*.png *.tif)")
        if path:
            self.start_loading(path)

    def start_loading(self, path: str):
        """Load labels… as its button does: read ``path`` off the GUI thread (seconds for a
        whole segment), then replace the labels (one undoable stroke); on bad input, one
        message and nothing changes. Returns the worker reading it."""
        session = self.session
        return session.load_in_background(
            lambda: session.read(path),
            lambda read: self._loaded(session, path, *read),
            LOAD_FAILED,
        )

    def _loaded(self, session, path: str, codes, supervision: str, warnings) -> None:
        session.painter.replace(codes)
        for warning in warnings:
            say_warning(warning)
        say_info(f"Loaded {path} (supervision: {supervision}); Ctrl+Z undoes it")


class StorageLine(QTextEdit):
    """Read-only text wrapped between words, and inside a word longer than the line (a
    path), so that it never widens the dock (a QLabel wraps between words only); as high as
    its lines, and selectable, to copy a folder from it."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setReadOnly(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # a selectable QLabel's: Ctrl+C copies
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        # a label's look, not the console's colours napari's stylesheet gives a QTextEdit
        self.setStyleSheet(
            "QTextEdit { background: transparent; padding: 1px; }"
            "QTextEdit > QWidget { background: transparent; }"
        )
        self.document().setDocumentMargin(0)
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)

    def text(self) -> str:
        """The text shown (a QLabel's name for it)."""
        return self.toPlainText()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(80, self.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return self.sizeHint()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        """Ctrl+C and Ctrl+A (Cmd on a Mac) only: Space, arrows and page keys scroll the dock
        as they did over a label, not this text's hidden scroll bars."""
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().keyPressEvent(event)
        else:
            event.ignore()

    def _fit_height(self, size) -> None:
        """As high as the lines the text wraps into at this width: none scrolled away."""
        margins = self.contentsMargins()
        self.setFixedHeight(math.ceil(size.height()) + margins.top() + margins.bottom())
