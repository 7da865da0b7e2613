"""A remote engine's checkpoints, copied here: a save writes the checkpoint on the server, in
its session's folder, and the copy is fetched to the path asked for; `wait` and `close` wait
for the copies under way."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from pathlib import Path

from inkloop.checkpoint import same_file
from inkloop.engine._child import ChildHandle
from inkloop.engine._events import CheckpointSaved, Failed, Notice
from inkloop.engine._kept_model import kept_said, write_keeping
from inkloop.engine._session import refuse_output
from inkloop.engine._wire import Fetch, Fetched
from inkloop.io import is_url, open_segment

log = logging.getLogger(__name__)
FETCH_TIMEOUT = 300.0  # a 50 MB checkpoint over a slow tunnel


class CheckpointCopies:
    """RemoteEngineProcess's saves and fetches (with EngineProcess's lock, ``_changed`` and
    announcer; ``_here``: the segment as this machine names it)."""

    def _init_copies(self) -> None:
        self._fetch_to: dict[str, Path] = {}  # checkpoint name -> where it goes here
        self._fetched: dict[int, object] = {}  # fetch request -> Fetched or Failed
        self._copying = 0  # saved checkpoints being fetched here (`wait` waits for them)
        self._saving = 0  # saves asked whose CheckpointSaved or Failed has not come yet
        self._own_kept = False  # the own model file here holds nothing this engine must keep

    def save(self, path) -> None:
        """Write a checkpoint on the server (in the session's folder), then fetch it to
        ``path`` here; CheckpointSaved follows once ``path`` is written (Failed if the
        copy could not be fetched: the server's copy stays); `close` lets the copy finish
        first. RequestError at once if ``path`` is a file of the segment here
        (`refuse_inputs`), which the copy would replace."""
        path = Path(path).expanduser()
        # a URL's files here are only copies; a segment on the server alone has none here
        if not is_url(self._here) and Path(self._here).exists():
            refuse_output(path, open_segment(self._here))
        with self._lock:
            self._fetch_to[path.name] = path
        with self._changed:
            self._saving += 1
        try:
            super().save(path)
        except BaseException:
            with self._changed:
                self._saving -= 1
            raise

    def _finish_copies(self, child: ChildHandle, timeout: float = FETCH_TIMEOUT) -> None:
        """Wait (``timeout`` at most) until the checkpoints saved on ``child`` are fetched
        here, or the link ended: called as the proxy closes, before the session ends."""

        def settled() -> bool:
            return not (self._saving or self._copying) or not child.alive

        with self._changed:
            if not self._changed.wait_for(settled, timeout):
                log.error("inkloop remote engine: closed before a checkpoint was fetched here")

    def wait(self, timeout: float | None = None) -> bool:
        """`EngineProcess.wait`, and until the checkpoints saved so far are fetched here (or
        their Failed told)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not super().wait(timeout):
            return False
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        with self._changed:
            return self._changed.wait_for(lambda: not self._copying, left)

    def fetch(
        self, remote: str, local: Path, timeout: float = FETCH_TIMEOUT, own: bool = False
    ) -> Path:
        """Copy the session's file ``remote`` (a checkpoint the server wrote) to ``local``
        here, written whole or not at all. RuntimeError if the server cannot send it. ``own``:
        a save, which keeps an earlier model at the own model file (`_write_fetched`)."""
        request, child = self._number(), self._child
        with self._changed:
            self._fetched[request] = None
        child.send(Fetch(request, str(remote)))
        with self._changed:
            self._changed.wait_for(lambda: self._fetched[request] or not child.alive, timeout)
            answer = self._fetched.pop(request)
        if not isinstance(answer, Fetched):
            why = answer.message if isinstance(answer, Failed) else "no answer from the server"
            raise RuntimeError(f"{remote} not fetched: {why}")
        self._write_fetched(Path(local), answer.data.tobytes(), own)
        return Path(local)

    def _copies_heard(self, message) -> bool:
        """Follow ``message`` from the server (on the reader thread) where it concerns a
        save or a fetch; whether it was for them alone (no listener hears it now)."""
        request = getattr(message, "request", None)
        if isinstance(message, (Fetched, Failed)) and request in self._fetched:
            with self._changed:
                self._fetched[request] = message
                self._changed.notify_all()
            return True
        if isinstance(message, Failed) and request is None:  # a failed save's (or step's)
            self._save_answered(answered=True, copying=False)
        if isinstance(message, CheckpointSaved):
            with self._lock:
                local = self._fetch_to.pop(Path(message.path).name, None)
            # before the Waited that follows it is read
            self._save_answered(answered=not message.autosave, copying=local is not None)
            if local is not None:  # told once fetched; not on the reader thread, which
                self._last_checkpoint = message.path  # must read the answer
                args = (message, local)
                threading.Thread(target=self._fetch_saved, args=args, daemon=True).start()
                return True
        return False

    def _save_answered(self, *, answered: bool, copying: bool) -> None:
        """A save asked for was ``answered``, and/or a checkpoint is ``copying`` here now: at
        once, so that `_finish_copies` never sees neither between them."""
        with self._changed:
            self._saving = max(0, self._saving - answered)
            self._copying += copying
            self._changed.notify_all()

    def _fetch_saved(self, saved: CheckpointSaved, local: Path) -> None:
        try:
            self.fetch(saved.path, local, own=True)
        except (RuntimeError, OSError) as error:
            message = f"the model was saved on the server only: {error}"
            log.error("inkloop remote engine: %s", message)  # a closed proxy tells no listener
            self._announcer.emit(Failed(message))
        else:
            self._announcer.emit(dataclasses.replace(saved, path=str(local), autosave=False))
        finally:
            with self._changed:
                self._copying -= 1
                self._changed.notify_all()

    def _write_fetched(self, local: Path, data: bytes, own: bool) -> None:
        """Write ``data`` to ``local``, whole or not at all. ``own`` (a save): this engine's
        first write of the own model file (``settings.autosave``) here sets aside a model
        there it did not start from, as `Training` does on the server, which sees only its
        session's folder: once written (`write_keeping`). OSError: nothing written or moved."""
        autosave, init = self.settings.autosave, self.settings.init
        first = own and not self._own_kept and autosave is not None and same_file(local, autosave)
        keep = first and not (init is not None and same_file(init, local))
        kept = write_keeping(local, data, keep)
        self._own_kept = self._own_kept or first
        if kept is not None:
            self._announcer.emit(Notice(kept_said(local, kept)))

    def _copies_lost(self) -> None:
        """The link ended: the saves' answers went with it, `close` must not wait for them."""
        with self._changed:
            if self._saving:
                log.error("inkloop remote engine: %d save(s) unanswered", self._saving)
            self._saving = 0
            self._changed.notify_all()
