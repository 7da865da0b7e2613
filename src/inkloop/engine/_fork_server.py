"""inkloop's own fork server for engine children (Linux; see `_child_start`): started at the
first child with `PRELOAD`, stopped `IDLE_S` after the last child ended. Not multiprocessing's
one server per process, which a user's code (or Python 3.14's default start method) shares,
so neither changes the other's preload or Ctrl+C. Imported only where processes fork."""

from __future__ import annotations

import io
import os
import threading
from multiprocessing import forkserver, popen_forkserver, spawn, util
from multiprocessing.context import ForkServerProcess, reduction, set_spawning_popen

from inkloop.engine._child_start import IDLE_THREAD

PRELOAD = ["inkloop.engine._child_preload"]
IDLE_S = 60.0  # a new engine within this of the last one's end (a segment switch) forks at once


class _Server:
    """inkloop's fork server, started at the first child and stopped `IDLE_S` after the last."""

    def __init__(self) -> None:
        self.server = _new_server()
        self.lock = threading.Lock()
        self.live: set[_Popen] = set()  # the children's Popens, until each is seen ended
        self.idle: threading.Timer | None = None

    def connect(self, popen: _Popen) -> tuple[int, int]:
        """A new child's pipes from the server (started if it is not running)."""
        with self.lock:
            if self.idle is not None:
                self.idle.cancel()
            self.live.add(popen)
        try:
            return self.server.connect_to_new_process(popen._fds)
        except BaseException:
            self.ended(popen)
            raise

    def ended(self, popen: _Popen) -> None:
        """``popen``'s child has ended (or never started): the last one starts the idle wait."""
        with self.lock:
            if popen not in self.live:
                return
            self.live.discard(popen)
            if self.live:
                return
            self.idle = threading.Timer(IDLE_S, self._stop_if_idle)
            self.idle.name, self.idle.daemon = IDLE_THREAD, True
            try:
                self.idle.start()
            except RuntimeError:  # Python 3.12+ at its exit: the server ends with this process
                self.idle = None

    def _stop_if_idle(self) -> None:
        with self.lock:
            if self.live:
                return
            idle, self.server = self.server, _new_server()
        idle._stop()  # outside the lock: it waits for the server's exit, which a fork of this
        # process (a user's fork-started pool) holding its "alive" pipe puts off

    def stop(self) -> None:
        """End the server (it ends by itself when this process does); the next child starts
        a new one."""
        with self.lock:
            idle, self.server = self.server, _new_server()
        idle._stop()


def _new_server() -> forkserver.ForkServer:
    server = forkserver.ForkServer()
    server.set_forkserver_preload(PRELOAD)
    return server


SERVER = _Server()


class _Popen(popen_forkserver.Popen):
    """multiprocessing's forkserver Popen, through `SERVER` instead of the per-process one."""

    def _launch(self, process_obj) -> None:  # popen_forkserver.Popen._launch, but for its server
        prep_data = spawn.get_preparation_data(process_obj._name)
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = SERVER.connect(self)
        try:
            _parent_w = os.dup(w)  # the child's sentinel of this process, as in _launch
            self.finalizer = util.Finalize(self, util.close_fds, (_parent_w, self.sentinel))
            with open(w, "wb", closefd=True) as f:
                f.write(buf.getbuffer())
            self.pid = forkserver.read_signed(self.sentinel)
        except BaseException:  # no child to wait for (the server died, a Ctrl+C)
            SERVER.ended(self)
            raise

    def poll(self, flag: int = os.WNOHANG) -> int | None:
        code = super().poll(flag)
        if code is not None:  # as the child is joined (the engine's reader does, at its end)
            SERVER.ended(self)
        return code


class ForkedProcess(ForkServerProcess):
    """A process forked by inkloop's fork server."""

    @staticmethod
    def _Popen(process_obj):  # noqa: N802  (multiprocessing's name)
        return _Popen(process_obj)
