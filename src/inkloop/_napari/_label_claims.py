"""Who may write a segment's labels: the claim that lets one window of one process paint
them (a lock file the system lets go of with the process), the sessions of this process that
paint now, and the files' stamps that tell whether another window wrote them since."""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from concurrent.futures import Future, wait
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from npe2 import PluginManifest
from qtpy.QtCore import QCoreApplication, QEventLoop, QTimer

from inkloop._locks import claim, holder
from inkloop._napari._gui_handoff import GuiHandoff
from inkloop._napari._say import say_error, say_info, say_warning
from inkloop.io import label_paths

if TYPE_CHECKING:
    from inkloop._napari._labels_session import LabelSession

#: the sessions of this process painting now (each LabelSession adds itself, until it closes)
PAINTING: weakref.WeakSet[LabelSession] = weakref.WeakSet()
_CLAIMED: dict[Path, object] = {}  # labels lock files this process holds -> their open files
#: labels lock files -> the last writes of sessions closed, each with what follows it
_CLOSING: dict[Path, dict[Future, Callable[[], None]]] = {}
STAMP_KEY = "inkloop_label_files"  # a layer's metadata: `label_files_now` as its labels last were
#: a layer's metadata, True: it holds strokes that no file has (its last write failed)
UNWRITTEN_KEY = "inkloop_unwritten_strokes"
LOCK_SUFFIX = ".inkloop-labels.lock"  # after "." and the segment's name, beside its labels


def _painting(labels_file: Path) -> list[LabelSession]:
    """The sessions painting the segment whose label file is ``labels_file`` (any spelling)."""
    labels_file = labels_file.resolve()
    return [s for s in PAINTING if label_paths(s.segment)[0].resolve() == labels_file]


def flush_labels_of(segment) -> bool:
    """Finish writing the labels painted on ``segment`` (a Save, strokes not autosaved yet):
    opened again (the reader calls this), it starts from all of them; whether it is painted."""
    sessions = _painting(label_paths(segment)[0])  # whatever path it was opened by
    closed = finish_closing(segment)
    for session in sessions:
        session.autosaver.flush(final=False)  # painting goes on
    return bool(sessions) or closed


def let_go_once_written(segment, written: Future, let_go: Callable[[], None]) -> None:
    """Have ``let_go()`` follow ``written`` (a closed session's last write of ``segment``'s
    labels, still under way): at `finish_closing`, which whatever opens them again calls."""
    _CLOSING.setdefault(labels_lock_path(segment), {})[written] = let_go


def finish_closing(segment, written: Future | None = None, turning: bool = False) -> bool:
    """Wait for the last writes of ``segment``'s closed sessions (or only ``written``), each
    followed by its `let_go_once_written`, once; whether any was still to finish.
    ``turning`` (napari's GUI thread): Qt's events turn meanwhile, all but the user's input
    (seconds at full size: napari paints, no click starts anything), and a notice says why."""
    tell = _telling([segment.name]) if turning else None
    return _finish_closing(labels_lock_path(segment), written, tell)


def wait_turning(writes: list[tuple[str, Future]], closing: bool = True) -> None:
    """Wait for ``writes`` (each segment's name, a write of its strokes, all started) as
    `finish_closing` does, turning: napari's GUI thread, its window whole (a close not begun
    yet); the notice names every segment, and says "the last strokes" where ``closing`` (not
    where a dock hides, its painting going on)."""
    pending = [(name, written) for name, written in writes if not written.done()]
    if pending:
        names = [name for name, _ in pending]
        _turn_until_done([written for _, written in pending], _telling(names, closing))


def _telling(names: list[str], closing: bool = True) -> Callable[[], None]:
    """What says that the strokes of the segments ``names`` are being written: their last
    (``closing``) or autosaved."""
    what = "writing the last strokes" if closing else "autosaving the strokes"
    told = f"{what} of {', '.join(dict.fromkeys(names))}…"
    return lambda: say_info(told)


def finish_all_closing(turning: bool = False) -> None:
    """`finish_closing` for every segment: before a window closes or the interpreter ends,
    so that a last write that failed is said (and its strokes rescued) while it can be.
    ``turning``: as `finish_closing`'s (napari's close veto: its window still whole)."""
    for path in list(_CLOSING):
        name = path.name[1:].removesuffix(LOCK_SUFFIX)  # the segment's, as labels_lock_path
        _finish_closing(path, tell=_telling([name]) if turning else None)


def _finish_closing(path: Path, written: Future | None = None, tell=None) -> bool:
    pending, finished = _CLOSING.get(path, {}), False
    for last in list(pending) if written is None else [written]:
        if last not in pending:
            continue
        if tell is not None and not last.done():
            _turn_until_done([last], tell)
        wait([last])
        let_go = pending.pop(last, None)  # popped once written: a wait begun meanwhile, too
        if let_go is not None:
            let_go()
            finished = True
    if not pending and _CLOSING.get(path) is pending:
        _CLOSING.pop(path, None)
    return finished


def _turn_until_done(futures: list[Future], tell: Callable[[], None], after_ms=400) -> None:
    """Handle Qt's events, all but the user's input, until ``futures`` are done: no click,
    key or stroke reaches a closing dock (they wait their turn), while timers and painting
    go on; ``tell()`` once the wait is one a user notices (a last write that had nothing to
    write ends sooner)."""
    handoff = GuiHandoff()
    notice = QTimer(singleShot=True, interval=after_ms, timeout=tell)
    for future in futures:
        handoff.when_done(future, lambda _: None)  # an event: wakes the wait below once done
    notice.start()
    flags = QEventLoop.ProcessEventsFlag
    while not all(future.done() for future in futures):
        QCoreApplication.processEvents(flags.ExcludeUserInputEvents | flags.WaitForMoreEvents)
    notice.stop()


def session_of_layer_data(data, labels_file: Path) -> LabelSession | None:
    """The session painting ``data`` (a layer's codes) whose own label file is
    ``labels_file``: saving there is its Save."""
    return next((s for s in _painting(labels_file) if s.layer.data is data), None)


def labels_lock_path(segment) -> Path:
    """The hidden lock file beside ``segment``'s labels that the process painting them holds."""
    folder = label_paths(segment)[0].parent.resolve()
    return folder / f".{segment.name}{LOCK_SUFFIX}"


def claim_labels(segment, layer=None) -> str | None:
    """Claim ``segment``'s labels for a session painting ``layer`` (an flock the system lets
    go of when the process ends, however it ends); None if it may write them, else why not:
    a session of this process painting another layer of them (another viewer) holds them
    too, and so does one closed whose last write is pending (`finish_closing`). None where
    the lock file cannot be made (read-only) or takes no locks (Windows)."""
    path = labels_lock_path(segment)
    if any(session.layer is not layer for session in _holders(path)):
        return f"the labels of {segment.name} are open in another viewer of this process"
    if _CLOSING.get(path):  # its write would land over this session's: after it, the stamps
        return f"the labels of {segment.name} are still being written by another viewer"
    if path in _CLAIMED:  # the same layer's session (or one never closed): held already
        return None
    try:
        file = claim(path)
    except OSError as error:
        say_warning(
            f"the labels of {segment.name} cannot be locked ({error}): another napari may "
            "write them too; painting goes on"
        )
        return None
    if file is None:
        pid = holder(path)
        process = "another inkloop/napari" + ("" if pid is None else f" (process {pid})")
        # its window may have left them already, its last strokes still being written
        return f"the labels of {segment.name} are open in, or still being written by, {process}"
    _CLAIMED[path] = file
    return None


def way_out(segment) -> str:
    """What a window whose labels are held elsewhere can do with its strokes (that window
    may have left them already, its last strokes still being written)."""
    name = segment.name
    return (
        f"save this layer under another name ({save_selected_layers()}), or close that window "
        f"(or, if it left {name} already, wait until it has written its strokes) and open "
        f"{name} again here"
    )


@functools.cache
def save_selected_layers() -> str:
    """How to save "ink labels" through napari's menu, naming the Ink Loop file type as
    napari's dialog lists it: napari's default type, given a .png name, leaves that file
    empty (its writer opens the file, then fails on 16-bit labels)."""
    manifest = PluginManifest.from_file(files("inkloop") / "napari.yaml")
    writer = manifest.contributions.writers[0]
    patterns = " ".join(f"*{ending}" for ending in writer.filename_extensions)
    kind = f"{manifest.display_name} {writer.display_name} ({patterns})"
    return f'File → Save Selected Layers, type "{kind}"'


def _holders(path: Path) -> list[LabelSession]:
    """The sessions painting now that may write the labels whose lock file is ``path``."""
    return [s for s in PAINTING if s.elsewhere is None and labels_lock_path(s.segment) == path]


def label_files_now(segment) -> list[tuple[int, int, int] | None]:
    """``segment``'s label files and autosave copies as they are now (each file's inode,
    time of writing and size; None if missing): every write replaces one."""
    stamps = []
    for path in (*label_paths(segment), *label_paths(segment, autosave=True)):
        try:
            stat = path.stat()
            stamps.append((stat.st_ino, stat.st_mtime_ns, stat.st_size))
        except OSError:
            stamps.append(None)
    return stamps


def let_go_of_labels(segment) -> None:
    """Let go of the lock on ``segment``'s labels unless a session of this process paints them."""
    path = labels_lock_path(segment)
    file = None if _holders(path) else _CLAIMED.pop(path, None)
    if file is not None:
        file.close()


class SavesNothing:
    """The autosaver of labels held elsewhere (`claim_labels`): it writes nothing, and a Save
    says ``why`` not, once per click. Its ticks (`save_if_changed`, every ``interval_s``
    until it closes) call ``tick``, which tries the claim again; ``painted``: since it began."""

    def __init__(self, why: str, painter, tick: Callable, interval_s: float) -> None:
        self.why, self.painter, self.painted, self.save_if_changed = why, painter, False, tick
        painter.labels_changed.connect(self.mark_changed)
        self._timer = QTimer()
        self._timer.setInterval(int(interval_s * 1000))
        self._timer.timeout.connect(tick)
        self._timer.start()

    def save(self) -> Future:
        say_error(f"Labels not saved: {self.why}")
        refused = Future()
        refused.set_exception(PermissionError(self.why))
        return refused

    def flush(self, closing=False, turning=False, final=True) -> None:
        """Nothing to write: a closing window may close (its strokes were said unsaved)."""

    def start_flush(self, closing: bool = False) -> None:
        """Nothing to write (`flush`)."""

    def close(self) -> None:
        """Nothing to write: stop trying (idempotent)."""
        self._timer.stop()
        self.painter.labels_changed.disconnect(self.mark_changed)  # a no-op the second time

    def mark_changed(self, box=None) -> None:
        """Strokes no file holds (``box``: the painter's report; None: before it began)."""
        self.painted = True
