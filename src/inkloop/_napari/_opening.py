"""The dock's own open of a segment (Open segment…, Open URL…), read off napari's GUI thread.

A segment on a server can take seconds to answer each of the requests an open makes (its
zarr's metadata, its side images, the chunks that contrast is sampled from): read on the
GUI thread, they froze napari ("not responding") for as long. Here they are read on a thread
of the open's own, and only what touches the viewer (its layers) happens on the GUI thread.
napari's own File → Open stays synchronous: napari calls readers on its GUI thread.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future

from qtpy.QtCore import QEventLoop, QObject, Signal

from inkloop._napari._gui_handoff import GuiHandoff
from inkloop._napari._label_claims import flush_labels_of
from inkloop._napari._reader import SEGMENT_PATH_KEY, add_layers, bring_to_top, segment_layers
from inkloop._napari._say import USERS_ERRORS, say_error, say_info, say_warning
from inkloop.io import is_url, open_segment, shown_location

log = logging.getLogger(__name__)


class DockOpens(QObject):
    """The dock's opens of segments, one at a time (`SegmentOpening`): meanwhile the Segment
    ``panel`` says "Opening …" and its open buttons wait. ``opened`` follows each open on the
    GUI thread: with the segment opened or brought back on top (its labels then followed:
    ``follow``), or None where it could not be opened (said in one message)."""

    opened = Signal(object)

    def __init__(self, viewer, panel, follow: Callable[[], None]) -> None:
        super().__init__()  # the dock's own: it ends the open under way (`drop`)
        self.viewer, self.panel, self._follow = viewer, panel, follow
        self.current: SegmentOpening | None = None  # the open under way

    def open(self, location: str) -> bool:
        """Begin opening ``location``, True; a second open while one is under way is
        refused, said (False)."""
        if self.current is not None:  # the panel's buttons wait; a script is told
            busy, asked = shown_location(self.current.location), shown_location(location)
            say_warning(f"{busy} is still opening: open {asked} after it")
            return False
        self.current = SegmentOpening(self.viewer, location)
        self.current.ended.connect(self._ended)
        self.panel.show_opening(location)
        self.current.start()
        return True

    def segment_read(self, layer):
        """The segment the open under way read, if ``layer`` is of it (else None): the
        labels' session takes it rather than open the segment a second time."""
        read = self.current.segment if self.current is not None else None
        if read is not None and layer.metadata.get(SEGMENT_PATH_KEY) == str(read.path):
            return read
        return None

    def wait(self) -> None:
        """Return once the open under way ended, Qt's events handled meanwhile: a script's
        open (`InkLoopWidget.open_segment`'s ``wait``). Never from a slot of the dock."""
        opening = self.current
        if opening is not None and not opening.done:
            waiting = QEventLoop()
            opening.ended.connect(waiting.quit)
            waiting.exec()

    def drop(self) -> None:
        """Let the open under way end unseen: the dock is closed."""
        if self.current is not None:
            self.current.ended.disconnect(self._ended)
            self.current.drop()
            self.current = None

    def cancel(self) -> None:
        """Stop waiting for the open under way (a server that does not answer): its reads end
        unseen on their thread, the open buttons work again, ``opened`` says None."""
        if self.current is None:
            return
        location = shown_location(self.current.location)
        self.drop()
        self.panel.show_opening(None)
        say_info(f"stopped opening {location}: nothing of it is added")
        self.opened.emit(None)

    def _ended(self, segment) -> None:
        try:
            if segment is not None and not self.current.added:
                self._follow()  # a move is no insertion: followed here
                say_info(f"{segment.name} is open already: its layers are back on top")
        finally:
            self.current = None
            self.panel.show_opening(None)
            self.opened.emit(segment)


class SegmentOpening(QObject):
    """One open of ``location`` (a segment folder, zarr, TIFF stack or URL) in ``viewer``.

    Its headers are read on a worker thread. A segment whose labels the viewer holds already
    is brought back to the top, as painted, and nothing more is read; otherwise its layers
    are read on the worker too (after a session painting it in another window wrote its last
    strokes, which takes the GUI thread) and added on the GUI thread. ``segment`` is the
    segment read (its headers: the dock's labels session takes it rather than open it
    again), ``added`` whether its layers were added (not brought back). ``ended`` follows on
    the GUI thread with that segment, or with None where it cannot be opened (said in one
    message). After `drop` (the dock closed), the reads finish unseen, nothing is added, and
    ``ended`` says None.
    """

    ended = Signal(object)  # the Segment opened or brought back, or None

    def __init__(self, viewer, location: str) -> None:
        super().__init__()  # no parent: the worker emits on it even after the dock is gone
        self.viewer, self.location = viewer, location
        self.segment = None
        self.added = False
        self.done = False  # ended, or dropped once its read came back
        self._dropped = False
        self._handoff = GuiHandoff()  # each read's Future, on the GUI thread (`_step`)

    def start(self) -> None:
        """Begin reading (GUI thread)."""
        self._off_gui(open_segment, self.location, then=self._headers_read)

    def drop(self) -> None:
        """Let the open end unheard: nothing is added, shown or said (the dock is closed)."""
        self._dropped = True

    def _off_gui(self, read: Callable, *args, then: Callable) -> None:
        """``read(*args)`` on a thread of its own, then ``then(its result)`` on the GUI thread.
        A daemon thread, not an executor's (`LabelWorker`'s): napari quits without waiting
        for a server that does not answer, and there is one read at a time to order."""
        future = Future()
        self._handoff.when_done(future, lambda future: self._step(future, then))
        threading.Thread(
            target=_fill, args=(future, read, *args), name="inkloop-open", daemon=True
        ).start()

    def _step(self, future: Future, then: Callable) -> None:
        if self._dropped:
            error = future.exception()
            if error is not None:  # no one to tell: the dock is closed
                log.info("dropped open of %s", shown_location(self.location), exc_info=error)
            self._end(None)
            return
        try:
            then(future.result())
        except BaseException as error:  # the server's too, once the headers came
            try:
                if not isinstance(error, USERS_ERRORS):
                    raise  # a bug: napari shows it with its traceback (`say_failed`'s rule)
                say_error(_open_failure(self.location, error))
            finally:
                self._end(None)

    def _headers_read(self, segment) -> None:
        self.segment = segment
        if bring_to_top(self.viewer, segment.path):
            self._end(segment)
            return
        painted = flush_labels_of(segment)  # opened again while painting: from the last stroke
        self._off_gui(self._read_layers, segment, painted, then=self._layers_read)

    def _read_layers(self, segment, painted: bool):
        """(worker) The segment, opened again if its labels were just written, with its mask
        decoded, its layers and the notifications about them (`segment_layers`)."""
        if painted:
            segment = open_segment(self.location)  # with the files that wrote
        return segment_layers(segment)

    def _layers_read(self, read) -> None:
        self.segment, layers, notes = read
        if not bring_to_top(self.viewer, self.segment.path):  # not opened meanwhile (File > Open)
            for show, message in notes:
                show(message)
            add_layers(self.viewer, layers)
            self.added = True
        self._end(self.segment)

    def _end(self, segment) -> None:
        if not self.done:
            self.done = True
            self.ended.emit(segment)


def _open_failure(location: str, error: BaseException) -> str:
    """What a failed open of ``location`` says: "cannot open (why): where". The reason comes
    first (a toast is one line: the rest is cut off) and the place once: inkloop.io's errors
    begin "<path>: why", and that path, where it is ``location`` (a local one as opened:
    absolute), is left out of the reason."""
    shown = shown_location(location)
    places = {shown, shown.rstrip("/")}
    if not is_url(location):  # os.path works on the string and never raises; Path.resolve may
        places.add(os.path.abspath(os.path.expanduser(location)))
    why = str(error)
    for place in places:
        if why.startswith(f"{place}: "):
            why = why[len(place) + 2 :]
            break
    return f"cannot open ({why}): {shown}"


def _fill(future: Future, read: Callable, *args) -> None:
    """(worker) ``future`` gets what ``read(*args)`` returns or raises (raised again on the
    GUI thread, by `SegmentOpening._step`)."""
    try:
        future.set_result(read(*args))
    except BaseException as error:
        future.set_exception(error)
