"""The "Ink Loop" dock widget: assembles the panels and follows the segment open in the viewer."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from qtpy.QtWidgets import QVBoxLayout, QWidget

from inkloop._napari import _dock_ends as ends
from inkloop._napari._brush_panel import BrushPanel
from inkloop._napari._collapsible import FoldedSection
from inkloop._napari._controls import VerticalScroll, single_shot
from inkloop._napari._engine_panel import EnginePanel
from inkloop._napari._guide_panel import GuidePanel
from inkloop._napari._keys import CONTROLS_HINT, LoopKeys
from inkloop._napari._label_claims import finish_all_closing
from inkloop._napari._labels import is_ink_labels
from inkloop._napari._labels_session import LabelSession
from inkloop._napari._loop import LoopSession
from inkloop._napari._loop_panel import LoopPanel, validation_region
from inkloop._napari._model_panel import ModelPanel
from inkloop._napari._opening import DockOpens
from inkloop._napari._own_model import own_model_held_out, readable_own_model
from inkloop._napari._predict_panel import PredictPanel
from inkloop._napari._private import show_soft_label_controls
from inkloop._napari._reader import segment_path, with_shown_mask
from inkloop._napari._say import say_error, say_info, say_warning
from inkloop._napari._segment_layers import restore_segment_layers, retire_segment_layers
from inkloop._napari._segment_panel import SegmentPanel
from inkloop._napari._selected_layer import SelectToPaint
from inkloop.io import checkpoint_path, open_segment

if TYPE_CHECKING:
    import napari

log = logging.getLogger(__name__)


class InkLoopWidget(QWidget):
    """Dock widget driving the ink loop for the segment open in a viewer: segment and
    composition, brush, Finetune & preview, model settings, whole-segment prediction.
    ``opens.opened`` says when an `open_segment` ended."""

    #: start the engine process as soon as a segment has labels (an unlabelled one: at its
    #: first stroke), so that the first click on "Finetune & preview" answers in a second
    #: rather than after torch's import
    warm_engine = True
    #: torch threads of the engine process; None: one less than the cores, leaving the GUI one
    torch_threads: int | None = None

    def __init__(self, napari_viewer: napari.viewer.Viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.labels: LabelSession | None = None
        self.loop: LoopSession | None = None
        self._last_segment = None  # the segment of the labels painted before these
        self._own_model = None  # the segment's own model, continued from when it was opened
        self._switching = False  # layers the switch itself removes change nothing followed
        self._following = True  # until the dock ends (`_end`)
        self.segment_panel = SegmentPanel(self.open_segment)
        self.brush_panel = BrushPanel()
        self.loop_panel = LoopPanel()
        self.guide_panel = GuidePanel()
        self.model_panel = ModelPanel()
        self.predict_panel = PredictPanel()
        self.engine_panel = EnginePanel()
        self.loop_keys = LoopKeys(self.loop_panel)  # T and O on the labels painted
        self.select_to_paint = SelectToPaint(self.viewer, self.brush_panel)
        self._loop_panels = (  # the panels that follow the loop session, in the dock's order
            *(self.segment_panel, self.loop_panel, self.guide_panel, self.model_panel),
            *(self.predict_panel, self.engine_panel),
        )
        # folded at first, as Model → Advanced: less to scroll through
        self.predict_section = FoldedSection(self.predict_panel, "predict_section_button")
        self.engine_section = FoldedSection(self.engine_panel, "engine_section_button")
        self.opens = DockOpens(self.viewer, self.segment_panel, self._follow_layers)
        self.segment_panel.cancel_open_button.clicked.connect(self.opens.cancel)
        self.model_panel.checkpoint_changed.connect(self.segment_panel.show_model)
        self.model_panel.checkpoint_changed.connect(self._load_model)
        self.segment_panel.composition_changed.connect(self.model_panel.show_next_start)
        self._lay_out()
        # after the event that asked: closing a viewer removes layer after layer, and each
        # removal makes the next-newest segment's labels the ones painted for a moment
        self._warm_soon = single_shot(self, 0, self._warm_up)
        self._follow_soon = single_shot(self, 0, self._follow_layers)  # napari's setter done
        self._ends = ends.EndsKeepingStrokes(self, self._end, lambda: self.labels)
        self._events = (self.viewer.layers.events.inserted, self.viewer.layers.events.removed)
        for event in self._events:
            event.connect(self._follow_layers)
        self._follow_layers()

    @property
    def segment_label(self):
        return self.segment_panel.segment_label

    def open_segment(self, path: str, wait: bool = False) -> None:
        """Open a segment (a multi-page TIFF too) through this plugin's reader, read off the
        GUI thread (`DockOpens`), or say in one line why it cannot be (napari's own message
        only says that the reader refused it). One open in the viewer already is brought
        back to the top, with its labels as painted: no second copy. ``wait``: return once
        it ended, Qt's events handled meanwhile (a script's open; never from a slot); one
        refused while another is under way returns at once, said."""
        if self.opens.open(path) and wait:
            self.opens.wait()

    # napari never closes a dock's widget (napari#8071): quitting and closing the window only
    # hide it, and the dock's X hides it and takes it out of the window (parent None). So the
    # last strokes are written when it hides, and the loop ends (`DockEnds`) when it leaves
    # the window or the window closes.
    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self._end(ends.DOCK_CLOSED)
        super().closeEvent(event)

    def hideEvent(self, event) -> None:  # noqa: N802
        if not event.spontaneous() and self.labels is not None:  # not a minimised window
            # napari paints meanwhile unless its window closes (torn down, or its strokes
            # written by the close veto)
            self.labels.autosaver.flush(turning=self._ends.window_stays(), final=False)
        super().hideEvent(event)

    def _end(self, why: str) -> None:
        """Stop following the viewer, end the loop (its labels autosaved); idempotent."""
        self._following = False
        self._follow_soon.stop()
        self.opens.drop()  # nothing is added to a viewer no dock follows
        self.select_to_paint.close()
        for emitter in self._events:
            emitter.disconnect(self._follow_layers)  # a no-op the second time
        self._end_labels(why)
        finish_all_closing()  # segments switched away from: their last writes said now

    def _lay_out(self) -> None:
        panels = QWidget()
        column = QVBoxLayout(panels)
        segment, *others = self._loop_panels
        folded = {self.predict_panel: self.predict_section, self.engine_panel: self.engine_section}
        for panel in (segment, self.brush_panel, *others):
            column.addWidget(folded.get(panel, panel))
        column.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(VerticalScroll(panels), 1)
        # never scrolled away: on a laptop's screen Segment and Labels alone fill the dock
        layout.addWidget(self.select_to_paint.note)
        layout.addWidget(self.loop_panel.run_bar)

    def _follow_layers(self, event=None) -> None:
        """Paint the newest soft-label layer and drive the loop of its segment."""
        if self._switching:  # an older retired copy removed (`retire_segment_layers`), or
            return  # a segment's open ended while the last write waited: looked for after it
        layer = ends.newest_labels(self.viewer)
        if self.labels is None or self.labels.layer is not layer:
            self._switching = True
            try:
                why = ends.why_left(self.viewer, self.labels, layer)
                # another segment's labels: the last strokes are written behind the GUI
                self._end_labels(*why, wait=layer is None)
                if layer is None and self._following:  # Qt's events turned while it waited
                    layer = ends.newest_labels(self.viewer)
                if layer is not None:
                    self._begin_labels(layer)
            finally:
                self._switching = False

    def _begin_labels(self, layer) -> None:
        try:  # the segment the dock's open just read (its headers), not read again
            segment = self.opens.segment_read(layer)
            segment = segment or with_shown_mask(open_segment(segment_path(layer)))
        except (OSError, ValueError) as error:
            say_error(f"Cannot paint {layer.name}: {error}")
            return
        last = self._last_segment
        if last is not None and last.path != segment.path:
            retire_segment_layers(self.viewer, last)
        restore_segment_layers(self.viewer, segment, layer)
        self.labels = LabelSession(layer, segment)
        show_soft_label_controls(self.viewer, layer, CONTROLS_HINT)
        layer.events.help.connect(self._show_brush_help)
        layer.events.data.connect(self._follow_data)
        self._show_brush_help()
        self.brush_panel.set_session(self.labels)
        self.select_to_paint.follow(self.labels)
        self.loop = LoopSession(
            self.viewer, self.labels, self.run_settings, torch_threads=self.torch_threads
        )
        for panel in (*self._loop_panels, self.loop_keys):
            panel.set_loop(self.loop)
        self.loop_panel.restore_validation()  # its labels stay held out, as before
        self._continue_own_model(segment)
        if self.warm_engine and self.labels.blank:  # opened to look at, maybe: not yet
            self.loop.starts.warm_on_first_stroke()
        elif self.warm_engine:
            self._warm_soon.start()

    def _continue_own_model(self, segment) -> None:
        """A segment trained in the dock before continues from the model saved beside it,
        if it can be read (else a fresh one is trained, and the user told so once).
        Otherwise a model chosen with *Load model…* stays chosen, and another segment's own
        model continued that way is let go. What the own model's training held out is read
        from its round: a region drawn since warns that its F0.5 reads high."""
        own, panel = checkpoint_path(segment), self.model_panel
        continued = own.is_file() and readable_own_model(own, segment.name)
        if continued:
            panel.load_model(own)
            self.loop.trained.know_model(own, own_model_held_out(segment, own))
            say_info(
                f"{segment.name} continues from the model trained on it before "
                f"({own}); Model → Clear starts a fresh one"
            )
        elif panel.init is not None and panel.init == self._own_model:
            panel.clear_model()
        self._own_model = own if continued else None

    def _follow_data(self, event=None) -> None:
        """napari replaced the labels' data (Convert data type): the brush would paint unseen.
        Let go of them (autosaved); follow the layers once napari made them editable again."""
        labels = self.labels
        if labels is None or labels.layer.data is labels.painter.canvas.codes:
            return
        again = is_ink_labels(labels.layer)  # a copy of the same type
        why, how_to_paint = ends.why_replaced(labels, again)
        if not self._end_labels(why, how_to_paint) and not again:
            say_warning(why)
        self._follow_soon.start()

    def _end_labels(self, why: str = "", how_to_paint: str = "", wait: bool = True) -> bool:
        """Let go of the labels painted (their help: ``how_to_paint`` them again; ``wait``: for
        their last write) and end their loop; whether that stopped something under way (said
        with ``why``)."""
        loop, labels = self.loop, self.labels
        said = loop is not None and ends.say_stopped(
            loop, labels.segment.name, self.predict_panel.output_path(), why
        )
        if loop is not None:
            for panel in (*self._loop_panels, self.loop_keys):
                panel.set_loop(None)
            loop.close()
            self.loop = None
        if labels is not None:
            self._last_segment = labels.segment
            labels.layer.events.help.disconnect(self._show_brush_help)
            labels.layer.events.data.disconnect(self._follow_data)
            self.brush_panel.set_session(None)
            self.select_to_paint.follow(None)
            labels.painter.detach(how_to_paint)  # the session's own detach keeps it
            self._show_brush_help()  # the closed brush's words, not its keys, if selected
            self.labels = None  # before the wait, whose timers may follow the layers
            # not while napari's window or dock is torn down: a repaint then draws a canvas
            # half gone (GL errors)
            labels.close(wait, turning=why not in (ends.WINDOW_CLOSED, ends.DOCK_CLOSED))
        return said

    def _show_brush_help(self, event=None) -> None:
        """The status bar speaks of the brush's keys (napari updates it on its own modes only)."""
        if self.viewer.layers.selection.active == self.labels.layer:
            self.viewer.help = self.labels.layer.help

    def _load_model(self, checkpoint) -> None:
        """The next run starts from the model chosen, not from what was trained since. The
        engine loads one now: the Segment section then shows the layers it reads, and a
        model that does not fit this stack says so at once."""
        if self.loop is not None:
            self.loop.trained.start_over()
        if checkpoint is not None and self.warm_engine:
            self._warm_soon.start()

    def _warm_up(self) -> None:
        """Start the engine of the segment painted now, with the dock's settings. Not while a
        run or a whole-segment prediction goes on: a new engine would end them (the next
        click starts it)."""
        loop = self.loop
        if loop is not None and not (loop.state.running or loop.predicting):
            loop.warm_up()

    def run_settings(self):
        """EngineSettings for the next run: the panels' choices and the validation region."""
        settings = self.model_panel.apply(self.segment_panel.apply(self.loop.settings))
        validation = validation_region(self.viewer, self.labels.segment.shape[1:])
        return dataclasses.replace(settings, validation=validation)
