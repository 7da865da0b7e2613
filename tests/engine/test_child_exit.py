"""A closed engine child ends as soon as its work is done and said: it skips tearing its
interpreter down, which took seconds of CPU (torch's objects) at its low priority while a
dock's or a script's exit waited, and sometimes CLOSE_TIMEOUT and a SIGTERM (review RB, F1)."""

from __future__ import annotations

import _thread
import atexit
from dataclasses import replace
from pathlib import Path

from inkloop.checkpoint import load_checkpoint
from inkloop.engine import EngineProcess
from inkloop.engine._child_start import spawn_child
from tests._engine import folder_labels, process_settings
from tests._events import TIMEOUT, Recorder, steps_done
from tests._helpers import linux_only
from tests.engine._shared_memory import shared_memory_of, still_named


class _Stuck:
    """An object whose finaliser never returns, as a teardown slower than CLOSE_TIMEOUT."""

    def __init__(self) -> None:
        self._never = _thread.allocate_lock()  # no module globals: they go first at teardown
        self._never.acquire()

    def __del__(self) -> None:
        self._never.acquire()


_STUCK: list[_Stuck] = []


def _stuck_at_teardown(threads: int, ran_at_exit: Path) -> int:
    """Called as the child unpickles its spec: its teardown will never end from then on; its
    atexit hook touches ``ran_at_exit``."""
    _STUCK.append(_Stuck())
    atexit.register(ran_at_exit.touch)
    return threads


class _Threads(int):
    """A torch thread count that leaves the child unpickling it stuck at teardown."""

    ran_at_exit: Path

    def __reduce__(self):
        return _stuck_at_teardown, (int(self), self.ran_at_exit)


class _StuckAtTeardown(EngineProcess):
    """An engine process whose child would never finish tearing its interpreter down, and
    touches ``ran_at_exit`` in an atexit hook."""

    def __init__(self, *args, ran_at_exit: Path, **kwargs) -> None:
        self.ran_at_exit = ran_at_exit
        super().__init__(*args, **kwargs)

    def _start_child(self, settings):
        threads = _Threads(self._spec.torch_threads)
        threads.ran_at_exit = self.ran_at_exit
        return spawn_child(replace(self._spec, torch_threads=threads), settings)


@linux_only("/proc/PID/maps and /dev/shm, to see the child's shared memory")
def test_a_closed_child_saves_and_ends_without_tearing_its_interpreter_down(
    training_folder, tmp_path, caplog
):
    recorder, autosave = Recorder(), tmp_path / "autosave.pt"
    settings = process_settings()
    train = replace(settings.train, loader_workers=1)  # shared memory and semaphores
    settings = replace(settings, train=train, autosave=autosave)
    ink, supervised = folder_labels(training_folder)
    ran_at_exit = tmp_path / "ran_at_exit"
    args = (training_folder, ink, supervised, settings, recorder)
    proxy = _StuckAtTeardown(*args, ran_at_exit=ran_at_exit)
    proxy.start()
    recorder.wait_for(steps_done(1))
    shared = shared_memory_of(proxy.pid)
    assert shared
    proxy.close()
    assert proxy.join(2 * TIMEOUT)
    assert proxy._child.process.exitcode == 0  # ended itself: not terminated after 20 s
    assert "terminate" not in caplog.text
    assert load_checkpoint(autosave).step >= 1  # saved as the run stopped at close
    assert not still_named(shared)  # multiprocessing's finalisers ran: nothing left behind
    assert ran_at_exit.exists()  # as did the atexit hooks (logging's flush, coverage's save)
