"""The "Guide" section of the dock: label where the model is least sure (Next), correct the
model instead of painting from scratch (accept), check the stack, and the rounds so far."""

from __future__ import annotations

import numpy as np
from app_model.types import KeyCode
from napari.qt.threading import create_worker
from qtpy.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QVBoxLayout,
)

from inkloop._napari import _labels as ink_labels
from inkloop._napari._controls import button, spin
from inkloop._napari._next import NEXT_KEY, NextRegion
from inkloop._napari._own_model import record_run_start
from inkloop._napari._rectangle import drawn_box, same_place
from inkloop._napari._rounds import RoundKeeper
from inkloop._napari._rounds_plot import RoundsPlot
from inkloop._napari._say import USERS_ERRORS, say_failed
from inkloop.check import layer_profile, z_start_of
from inkloop.compose import default_z_count
from inkloop.engine import Failed, ModelBuilt, OrderChecked, RunStarted

ACCEPT_LAYER = "accept rectangle"
NEXT_KEY_CODE = getattr(KeyCode, f"Key{NEXT_KEY}")
LOAD_OPTIONS_INDENT = 16  # pixels: the loading's options sit under its button
UNTRAINED = "Train first (or load a model) to check the layer order."


class GuidePanel(QGroupBox):
    """Drives the guiding tools of a `LoopSession` (bound with `set_loop`)."""

    def __init__(self, parent=None) -> None:
        super().__init__("Guide", parent)
        self.loop = self.next_region = self.rounds = None
        self._check_request: int | None = None
        self._profile = None  # the last Check stack's LayerProfile
        self._built = None  # (init, window) of the model the engine last built
        self._dense_before: bool | None = None  # the labels, as a load (under way) began
        self.next_button = button(
            f"Next ({NEXT_KEY})",
            "next_button",
            "Go to the unlabelled papyrus the model is "
            "least sure of (ranked over the whole segment) and preview it",
        )
        self.accept_button = button(
            "Accept in rectangle",
            "accept_rectangle_button",
            "Draw a rectangle: the prediction inside becomes labels (correct it after)",
        )
        self.load_button = button(
            "Load prediction as labels…",
            "load_prediction_button",
            "Start from a prediction image (e.g. a community model's PNG): labels where none yet",
        )
        self.threshold = spin(
            QDoubleSpinBox(),
            0,
            1,
            "Load prediction as labels…: ink at or above this probability, no ink below",
        )
        self.threshold.setValue(0.5)
        self.soft = QCheckBox("Soft")
        self.soft.setChecked(True)
        self.soft.setToolTip(
            "Load prediction as labels…: ink strength = probability (unticked: full-strength ink)"
        )
        self.check_button = button(
            "Check stack",
            "check_stack_button",
            "Where the papyrus surface is, and whether the layers look reversed to the model",
        )
        self.check_result = QLabel("")
        self.check_result.setObjectName("check_result")
        self.check_result.setWordWrap(True)
        self.check_result.hide()  # until Check stack: no gap
        self.plot = RoundsPlot()
        self._lay_out()
        self.next_button.clicked.connect(self.go_next)
        self.accept_button.clicked.connect(self._draw_accept_rectangle)
        self.load_button.clicked.connect(self._choose_prediction)
        self.check_button.clicked.connect(self.check_stack)
        self.set_loop(None)

    def _lay_out(self) -> None:
        column = QVBoxLayout(self)
        for control in (self.next_button, self.accept_button, self.load_button):
            column.addWidget(control)
        options = QFormLayout()  # what Load prediction as labels… takes, indented under it
        options.setContentsMargins(LOAD_OPTIONS_INDENT, 0, 0, 0)
        options.addRow("Ink from p ≥", self.threshold)
        options.addRow(self.soft)
        options.labelForField(self.threshold).setToolTip(self.threshold.toolTip())
        column.addLayout(options)
        for control in (self.check_button, self.check_result, QLabel("Rounds"), self.plot):
            column.addWidget(control)

    def set_loop(self, loop) -> None:
        if self.loop is not None:
            self.loop.changed.disconnect(self._show_event)
            self.loop.labels.loading_changed.disconnect(self._show_loading)
            self.loop.labels.layer.bind_key(NEXT_KEY_CODE, None)  # G there visits nothing now
            self._end_round()
            self._let_go_of_accept_layer()
            self.next_region.close()
            self.rounds.close()
        self.loop, self._built, self._dense_before = loop, None, None
        for control in (self.next_button, self.accept_button, self.load_button, self.check_button):
            control.setEnabled(loop is not None)
        self._show_check("")
        if loop is None:
            self.next_region = self.rounds = None
            self.plot.set_rounds([])
            return
        loop.changed.connect(self._show_event)
        loop.labels.loading_changed.connect(self._show_loading)
        self._show_loading(loop.labels.loading)
        self.next_region = NextRegion(loop)
        self.rounds = RoundKeeper(loop)
        self.rounds.on_round = lambda _round: self.plot.set_rounds(self.rounds.rounds)
        self.plot.set_rounds(self.rounds.rounds)
        layer = loop.labels.layer
        layer.bind_key(NEXT_KEY_CODE, lambda _: self.go_next(), overwrite=True)

    def _end_round(self) -> None:
        """A run the dock lets go of ends with its loop (its weights saved as it closes),
        where the event that records a round is not heard: record it now."""
        loop = self.loop
        if loop.state.running:
            steps = loop.last_step.step if loop.last_step else 0
            self.rounds.record_let_go(str(loop.settings.autosave), steps)

    def go_next(self):
        """Visit the next box to label (or rank first); the box, or None while ranking."""
        return self.next_region.go()

    def load_prediction(self, path: str):
        """Label the unlabelled papyrus from the prediction image ``path`` (one undoable
        stroke), read off the GUI thread (seconds for a whole segment); on bad input, one
        message and nothing changes. The worker reading it."""
        labels, threshold, soft = self.loop.labels, self.threshold.value(), self.soft.isChecked()
        return labels.load_in_background(
            lambda: ink_labels.prediction_codes(labels.segment, path, threshold, soft),
            lambda codes: ink_labels.label_from_prediction(labels.painter, path, codes),
            "Prediction not loaded",
        )

    def _show_loading(self, loading: bool) -> None:
        """A load (this panel's or Labels → Load labels…) began or ended: one at a time. One
        that made the labels dense thins them, as they would open (`thin_if_dense_now`)."""
        self.load_button.setEnabled(not loading)
        layer = self.loop.labels.layer
        if loading:
            self._dense_before = ink_labels.densely_labelled(layer.data)
        elif self._dense_before is not None:
            ink_labels.thin_if_dense_now(layer, self._dense_before)
            self._dense_before = None

    def check_stack(self) -> None:
        """Read the layers' profile off the GUI thread (seconds on a compressed or remote
        stack), show it and the suggested window, then ask the engine how the model reads
        the stack forward and reversed."""
        segment, loop = self.loop.labels.segment, self.loop
        self.check_button.setEnabled(False)
        self._show_check("Reading the layers…")
        worker = create_worker(_profile, segment, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda profile: self._show_profile(loop, profile))
        worker.errored.connect(lambda error: self._profile_failed(loop, error))
        worker.start()

    def _profile_failed(self, loop, error: Exception) -> None:
        """The dock's rule (`say_failed`): a user's error said, a bug raised whole."""
        if loop is self.loop:
            self.check_button.setEnabled(True)
            self._show_check("")
            say_failed("the stack could not be read", error)
        elif not isinstance(error, USERS_ERRORS):  # another segment's by now: a bug still
            raise error

    def _show_profile(self, loop, profile) -> None:
        if loop is not self.loop:  # another segment's by now
            return
        self.check_button.setEnabled(True)
        self._profile = profile
        if not _holds_weights(loop):  # the engine's answer would be an error saying so
            self._show_check(f"{self._suggestion()} {UNTRAINED}")
            return
        self._check_request = self.loop.check_order()  # None: not reached, said; no answer
        reading = "" if self._check_request is None else " Reading the stack both ways…"
        self._show_check(f"{self._suggestion()}{reading}")

    def _suggestion(self) -> str:
        """Where the papyrus is and the window to read, in stored layers, with what First
        layer takes for it (a position in the reversed stack where Reverse is ticked) once
        the window that will read it is known."""
        layers = self.loop.labels.segment.shape[0]
        window = self._reading_window()
        count = (window and window.z_count) or default_z_count(layers)
        start, count = self._profile.window(count)
        text = f"{_sentence(self._profile.described())}; suggested z-window: layers "
        text += f"{start}–{start + count - 1}"
        if window is not None:
            text += f" (First layer {z_start_of(start, count, layers, window.reverse)})"
        return f"{text}."

    def _reading_window(self):
        """The Segment section's composition, or a loaded model's window once the engine has
        built that model (None before: only the engine reads the checkpoint)."""
        settings = self.loop.next_settings()
        if settings.init is None:
            return settings.composition
        init, window = self._built or (None, None)
        return window if init == settings.init else None

    def _show_check(self, text: str) -> None:
        """The check's result, hidden while there is none (no empty gap in the panel)."""
        self.check_result.setText(text)
        self.check_result.setVisible(bool(text))

    def _show_event(self, event) -> None:
        if isinstance(event, RunStarted):  # a quit or crash before its round: said next time
            record_run_start(self.loop)
        if isinstance(event, ModelBuilt):
            self._built = (self.loop.settings.init, event.composition)
        # the check's answer: not a failure of no request (an engine that died, say)
        answered = self._check_request is not None
        answered = answered and getattr(event, "request", None) == self._check_request
        if isinstance(event, Failed) and answered:
            self._show_check(self._suggestion())  # the error says why (notification)
        if isinstance(event, OrderChecked) and answered:
            self._show_check(
                f"{self._suggestion()} The model calls {event.forward:.1%} of the papyrus ink "
                f"as stored, {event.reversed:.1%} reversed. {_sentence(event.verdict)}."
            )

    def _draw_accept_rectangle(self) -> None:
        if self.loop.labels.painter.accepted_now() is None:  # said why: none drawn in vain
            return
        viewer = self.loop.viewer
        if ACCEPT_LAYER not in viewer.layers:
            viewer.add_shapes(
                name=ACCEPT_LAYER, edge_color="lime", face_color="transparent", edge_width=3
            )
        layer = viewer.layers[ACCEPT_LAYER]
        self.loop.overlay.keep_over(layer)
        # the layer outlives a closed dock, whose panel let go of it: this panel takes it
        # over (connected once however often the button is clicked)
        layer.events.data.disconnect(self._accept_rectangle)
        layer.events.data.connect(self._accept_rectangle)
        viewer.layers.selection.active = layer
        layer.mode = "add_rectangle"

    def _let_go_of_accept_layer(self) -> None:
        layers = self.loop.viewer.layers
        if ACCEPT_LAYER in layers:
            layers[ACCEPT_LAYER].events.data.disconnect(self._accept_rectangle)

    def _accept_rectangle(self, event=None) -> None:
        if self.loop is None:  # a rectangle drawn after this panel let go of its loop
            return
        layer = self.loop.viewer.layers[ACCEPT_LAYER]
        if not len(layer.data) or getattr(event, "action", "added") != "added":
            return
        labels = self.loop.labels
        box = drawn_box(same_place(layer.data[-1], layer, labels.layer), labels.segment.shape[1:])
        layer.data = []
        self.loop.viewer.layers.selection.active = self.loop.labels.layer  # back to the brush
        if box is not None:
            self.loop.labels.painter.accept_box(box)

    def _choose_prediction(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Load a prediction as labels", "", "Images (*.png *.tif *.tiff)"
        )
        if path:
            self.load_prediction(path)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _holds_weights(loop) -> bool:
    """Whether the model a Check stack reads has learnt anything, as far as the dock knows: the
    engine in use trained, or a model is loaded (by it, or by the next: `next_init`)."""
    init = loop.trained.next_init(loop.next_settings(), loop.settings)
    return loop.own_model.trained_by == loop.generation or any((loop.settings.init, init))


def _profile(segment):
    """The layers' profile inside the papyrus (its mask decoded here too, off the GUI)."""
    return layer_profile(segment, None if segment.mask is None else np.asarray(segment.mask))
