"""When and why the Ink Loop dock stops painting a labels layer: the dock leaving napari's
window or that window closing, watched (a close that would lose strokes refused once); and
the words that say what stopped, and why."""

from __future__ import annotations

from qtpy.QtCore import QEvent, QObject, QThread
from qtpy.QtWidgets import QMainWindow, QMessageBox, QWidget

from inkloop._napari._autosave import finish_flushes, start_flushes
from inkloop._napari._controls import single_shot
from inkloop._napari._label_claims import PAINTING, finish_all_closing
from inkloop._napari._labels import is_ink_labels
from inkloop._napari._private import disarm_quit, quitting, viewer_closing
from inkloop._napari._reader import segment_path
from inkloop._napari._say import say_info, say_warning

DOCK_CLOSED, WINDOW_CLOSED = "the Ink Loop dock was closed", "its napari window was closed"
OPEN_AGAIN = "open {name} again (Open segment… in the dock) to paint"
KEPT_OPEN = "The window stays open so that you can save them; closed again, it closes without them."
QUIT_KEPT_OPEN = "napari stays open so that you can save them; quit again, it quits without them."
_ASKING_LOOKS_MS = 100  # while a dialog asked within a close is open


class DockEnds(QObject):
    """Calls ``end(why)`` when the dock's ``widget`` leaves napari's window (the dock's X takes
    it out: parent None) or that window closes (X, Ctrl+W, Ctrl+Q, ``close()``). napari never
    closes a dock's widget (napari#8071), and where Python lives on (Jupyter, another
    viewer) nothing else would end what the dock runs."""

    def __init__(self, widget, end) -> None:
        super().__init__(widget)
        self._end = end
        self._closing = False  # the window was sent a close that it may still refuse
        self._refused = False  # and it refused that close (it shows yet)
        self._close_level = 0  # the event loop's level at that close
        self._watch_soon = single_shot(self, 0, self._watch_window)
        self._close_check = single_shot(self, 0, self._close_ended)
        widget.installEventFilter(self)

    def _watch_window(self) -> None:
        """Watch the window the dock is in (napari makes the dock, then docks it)."""
        window = self._napari_window()
        if window is not None:
            window.installEventFilter(self)  # again: Qt keeps one, in its new place

    def _napari_window(self) -> QMainWindow | None:
        """napari's window, the dock's (floating too); None once the dock left it."""
        window = self.parent().parentWidget()
        while window is not None and not isinstance(window, QMainWindow):
            window = window.parentWidget()
        return window

    def window_stays(self) -> bool:
        """Whether napari's window shows, the viewer in it, and no close of it began: Qt's
        events may turn (napari paints) while a hidden dock (floating too) autosaves."""
        window = self._napari_window()
        shown = window is not None and window.isVisible() and _viewer_shown(window)
        return shown and (self._refused or not self._closing)

    def _close_ended(self) -> None:
        """Once the close's dispatch ended, a window that still shows refused it (Cancel at
        napari's "Are you sure?"), so later hides turn. Its dialog, asked within the
        dispatch, turns a nested event loop: waited out, looking again every so often."""
        if QThread.currentThread().loopLevel() > self._close_level:
            self._close_check.start(_ASKING_LOOKS_MS)
            return
        window = self._napari_window()
        self._refused = self._closing and window is not None and window.isVisible()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        """A close the window accepts hides it; one its confirmation dialog cancels does not
        (napari asks only on a user's close: a script's close of a hidden window is final)."""
        kind = event.type()
        if watched is self.parent():
            if kind == QEvent.Type.ParentChange and watched.parent() is None:
                self._end(DOCK_CLOSED)
            elif kind == QEvent.Type.ParentChange:
                self._watch_soon.start()
        elif kind == QEvent.Type.Close and not watched.isVisible() and not event.spontaneous():
            self._end(WINDOW_CLOSED)  # a window never shown (show=False) is closed, not hidden
        elif kind in (QEvent.Type.Close, QEvent.Type.Show):
            self._closing = kind == QEvent.Type.Close
            self._refused = False
            if self._closing:
                self._close_level = QThread.currentThread().loopLevel()
                self._close_check.start(0)
        elif kind == QEvent.Type.Hide and self._closing and not event.spontaneous():
            self._closing = False
            self._end(WINDOW_CLOSED)
        return False


class EndsKeepingStrokes(DockEnds):
    """`DockEnds` whose window's close `keep_open` may refuse before napari's close runs (its
    confirmation, Ctrl+Q's quit); not once ``Window.close()`` closed the viewer in it (a
    script's close, or a quit's of the other windows). ``labels()``: the dock's LabelSession."""

    def __init__(self, widget, end, labels) -> None:
        super().__init__(widget, end)
        self._labels = labels

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        closing = watched is not self.parent() and event.type() == QEvent.Type.Close
        if closing and _viewer_shown(watched) and keep_open(watched, self._labels()):
            event.ignore()
            return True
        return super().eventFilter(watched, event)


def keep_open(window, labels) -> bool:
    """napari's ``window`` is closing (its X, Ctrl+W, Ctrl+Q): write the last strokes of
    ``labels`` (a LabelSession, or None), and on a quit, which closes every viewer, those of
    every window of this process, side by side on their label workers while napari paints
    (its window is whole yet). Where no folder takes some, keep it open, said in one dialog
    (a notice would go with it); once for those strokes: closed again, it closes."""
    quit_app = quitting(window)
    sessions = [labels, *(s for s in PAINTING if s is not labels)] if quit_app else [labels]
    sessions = [s for s in sessions if s is not None]
    started = start_flushes([s.autosaver for s in sessions], closing=True)
    finish_all_closing(turning=True)  # segments switched away from: written beside, said first
    lost = zip(sessions, finish_flushes(started, closing=True), strict=True)
    said = [_in_window(s, labels, text) for s, text in lost if text is not None]
    if not said:
        return False
    if quit_app:
        disarm_quit(window)
    said.append(QUIT_KEPT_OPEN if quit_app else KEPT_OPEN)
    QMessageBox.warning(window, "Ink Loop: strokes not saved", "\n\n".join(said))
    return True


def _in_window(session, labels, text: str) -> str:
    """``text``, said of ``session``'s strokes in the dialog of the window painting
    ``labels``: naming the segment where they are another window's."""
    return text if session is labels else f"In the window painting {session.segment.name}: {text}"


def _viewer_shown(window) -> bool:
    """Whether napari's ``window`` shows, and the viewer in it (its central widget's child)."""
    shown = [child for child in window.centralWidget().children() if isinstance(child, QWidget)]
    return bool(shown) and all(child.isVisible() for child in shown)


def newest_labels(viewer):
    """The soft-label layer on top of ``viewer``, the one the dock paints; None if it has
    none, or while it closes (no other segment is taken up as its layers go)."""
    if viewer_closing(viewer):
        return None
    return next((layer for layer in reversed(viewer.layers) if is_ink_labels(layer)), None)


def why_left(viewer, labels, newest) -> tuple[str, str]:
    """Why the dock stops painting the layer of ``labels`` (a LabelSession, or None) for
    ``newest`` (the labels layer on top, or None), for the stop notice; and how to paint
    them again, for their layer's help."""
    old = None if labels is None else labels.layer
    if old is None:
        return "", ""
    if viewer_closing(viewer):  # its layers go before its window: not a layer removed
        return WINDOW_CLOSED, ""
    if old not in viewer.layers:
        return f'its labels layer "{old.name}" was removed', ""
    if newest is None:
        return f'"{old.name}" holds no Ink Loop labels any more', ""
    painted = f'Ink Loop paints "{newest.name}" now'
    if str(segment_path(newest)) == str(segment_path(old)):  # File > Open, Duplicate Layer
        return f"{painted}, a newer copy", f"{painted}: delete that layer to paint these"
    again = OPEN_AGAIN.format(name="this segment")
    return f"{painted}, another segment's labels", f"{painted}: {again} these"


def why_replaced(labels, painted_again: bool) -> tuple[str, str]:
    """Why the dock stops painting the layer of ``labels`` (a LabelSession) whose data napari
    replaced (Convert data type), ``painted_again`` or not (no longer Ink Loop labels); and
    how to paint them again, for the layer's help."""
    layer, again = labels.layer, OPEN_AGAIN.format(name=labels.segment.name)
    if painted_again:  # a copy of the same type
        return f'the data of "{layer.name}" was replaced: Ink Loop paints the new data', ""
    kept = "are autosaved" if labels.elsewhere is None else f"are not ({labels.elsewhere})"
    return (
        f'the data of "{layer.name}" was replaced ({layer.data.dtype}): Ink Loop stopped '
        "painting it, and what napari's tools paint there is neither saved nor trained on. "
        f"Its labels as they were {kept}: {again} them",
        f"Ink Loop stopped painting these: their data was replaced; {again} them",
    )


def say_stopped(loop, segment_name: str, prediction_path, why: str) -> bool:
    """Say what ending ``loop`` stops, and ``why``: a run, a whole-segment prediction (into
    ``prediction_path``); whether it stops anything."""
    stopped = []
    if loop.state.running:
        stopped.append(f"training on {segment_name} stopped, its weights saved")
    if loop.predicting:
        stopped.append(
            f"the whole-segment prediction of {segment_name} into {prediction_path} was "
            "stopped, no file written (Predict whole segment starts it again)"
        )
    if stopped:
        say = say_warning if loop.predicting else say_info
        say(f"{'; '.join(stopped)}: {why}")
    return bool(stopped)
