"""A dock whose session on the engine server ended (the server reaped it, or restarted)
reconnects off napari's GUI thread, as a first connect does: a real server on 127.0.0.1
behind a tunnel that holds what the dock sends; the GUI thread keeps turning meanwhile, the
Start clicked runs once connected, other commands are told to try again; a server that cannot
be reached is said once, and the next click tries again."""

from __future__ import annotations

import contextlib
import socket
import threading

import numpy as np
import pytest
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication

from inkloop._napari._engine_panel import HERE, REMOTE
from inkloop._napari._engine_start import REATTACH_FAILED, connecting, still_connecting
from inkloop.engine import Failed, Notice, RunStarted, State, StateChanged
from inkloop.engine.remote import EngineServer
from tests._engine import Forwarder
from tests._events import TIMEOUT

TOKEN = "a token for the tests"


class Tunnel(Forwarder):
    """A Forwarder for every connection the dock opens, not only its first (a re-attach is
    another); while ``refusing``, one that hangs up on each (nothing listens at its far end)."""

    refusing = False
    refused = 0

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # the listener closed at the end of the test
            while True:
                near, _ = self._listener.accept()
                if self.refusing:
                    self.refused += 1
                    near.close()
                    continue
                far = socket.create_connection(self._target)
                self._sockets += [near, far]
                for pump in ((far, near, False), (near, far, True)):
                    threading.Thread(target=self._pump, args=pump, daemon=True).start()

    def cut(self) -> None:
        """The link drops (ssh died): every connection forwarded is closed, the listener kept."""
        forwarded, self._sockets = self._sockets[1:], self._sockets[:1]
        for sock in forwarded:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@pytest.fixture
def tunnel(unlabelled_folder, tmp_path):
    """A real engine server behind a tunnel: (server, tunnel)."""
    served = EngineServer([unlabelled_folder.parent], TOKEN, tmp_path / "sessions")
    thread = threading.Thread(target=served.serve_forever, daemon=True)
    thread.start()
    tunnel = Tunnel(served.address)
    yield served, tunnel
    tunnel.close()
    served.close()
    thread.join(TIMEOUT)


@pytest.fixture
def ended(open_in_dock, unlabelled_folder, tunnel, qtbot):
    """A dock connected through the tunnel, whose session the server then ended:
    (widget, the ended session's id)."""
    served, tunnel_ = tunnel
    _, widget = open_in_dock(unlabelled_folder)
    panel = widget.engine_panel
    panel.where.setCurrentText(REMOTE)
    panel.address.setText(tunnel_.address)
    panel.token.setText(TOKEN)
    panel.connect_button.click()
    loop = widget.loop
    loop.warm_up()
    qtbot.waitUntil(lambda: loop.engine is not None, timeout=TIMEOUT * 1000)
    first = loop.engine.session
    served.sessions[first].end("the test reaped it")
    qtbot.waitUntil(lambda: loop.state is State.FAILED, timeout=TIMEOUT * 1000)
    assert not loop.engine.alive
    return widget, first


def _turns_while_held(tunnel_: Tunnel, qtbot) -> None:
    """Wait until the dock's bytes wait in the tunnel, and the GUI thread turned (a timer
    ticked) five times while they did."""
    qtbot.waitUntil(tunnel_.holding.is_set, timeout=TIMEOUT * 1000)
    ticks = []
    timer = QTimer(interval=1)
    timer.timeout.connect(lambda: ticks.append(tunnel_.holding.is_set()))
    timer.start()
    qtbot.waitUntil(lambda: len(ticks) >= 5)  # a blocked GUI thread would not tick meanwhile
    timer.stop()


def test_a_start_after_the_session_ended_reconnects_off_the_gui_thread(
    ended, tunnel, qtbot, tmp_path
):
    from napari.utils.notifications import notification_manager

    widget, first = ended
    served, tunnel_ = tunnel
    loop, says = widget.loop, connecting(tunnel_.address)
    heard = []
    loop.changed.connect(heard.append)
    tunnel_.hold()

    widget.loop_panel.finetune_button.click()  # the old dock sent the Spawn here, and waited

    _turns_while_held(tunnel_, qtbot)
    assert widget.loop_panel.status.text() == says
    assert widget.engine_panel.status.text() == f"Now: server {tunnel_.address}\n{says}"
    shown = len(notification_manager.records)
    assert not widget.model_panel.save_model(tmp_path / "model.pt")  # not asked: said why
    said = [str(r.message) for r in notification_manager.records[shown:]]
    assert said == [f"Ink Loop: {still_connecting(tunnel_.address)}"]
    tunnel_.release()
    qtbot.waitUntil(lambda: not loop.starting, timeout=TIMEOUT * 1000)
    assert loop.engine.alive
    assert loop.engine.session != first  # a new session there
    assert list(served.sessions) == [loop.engine.session]
    answered = [e for e in heard if isinstance(e, RunStarted | Failed)]
    assert answered, "the Start was not sent once connected"


def test_a_server_not_reached_again_is_said_once_and_the_next_click_tries_again(
    ended, tunnel, qtbot
):
    from napari.utils.notifications import notification_manager

    widget, first = ended
    _, tunnel_ = tunnel
    loop, lost = widget.loop, widget.loop.engine
    tunnel_.refusing = True
    shown = len(notification_manager.records)

    widget.loop_panel.finetune_button.click()

    qtbot.waitUntil(lambda: not loop.starting, timeout=TIMEOUT * 1000)
    said = [str(r.message) for r in notification_manager.records[shown:]]
    assert len(said) == 1
    assert said[0].startswith(f"Ink Loop: {REATTACH_FAILED}: ")
    assert loop.engine is lost  # kept, its session's id with it
    assert widget.engine_panel.status.text() == f"Now: server {tunnel_.address}"
    tunnel_.refusing = False

    widget.loop_panel.finetune_button.click()

    qtbot.waitUntil(lambda: loop.engine is not None, timeout=TIMEOUT * 1000)
    qtbot.waitUntil(lambda: not loop.starting, timeout=TIMEOUT * 1000)
    assert loop.engine is lost
    assert lost.alive
    assert lost.session != first


def _finetune_held(widget, tunnel_: Tunnel, qtbot):
    """Finetune clicked after the session ended, the re-attach's bytes held in the tunnel:
    the re-attach under way."""
    tunnel_.hold()
    widget.loop_panel.finetune_button.click()
    qtbot.waitUntil(tunnel_.holding.is_set, timeout=TIMEOUT * 1000)
    return widget.loop.starts.pending.engine


def _reattached_then_cut(widget, tunnel_: Tunnel, qtbot) -> None:
    """The re-attach done but not yet taken by the GUI thread, and its new link cut."""
    lost = widget.loop.engine
    reattaching = _finetune_held(widget, tunnel_, qtbot)
    tunnel_.release()
    reattaching.result(TIMEOUT)  # the GUI thread does not turn: the engine is not taken yet
    tunnel_.refusing = True
    tunnel_.cut()
    assert lost.wait(TIMEOUT)  # its end told


def _said_since(shown: int) -> list[str]:
    from napari.utils.notifications import notification_manager

    return [str(r.message) for r in notification_manager.records[shown:]]


def _shown() -> int:
    from napari.utils.notifications import notification_manager

    return len(notification_manager.records)


def test_strokes_painted_during_a_failed_reattach_reach_the_next_session(ended, tunnel, qtbot):
    widget, _ = ended
    served, tunnel_ = tunnel
    loop, painter = widget.loop, widget.labels.painter
    _finetune_held(widget, tunnel_, qtbot)
    painter.set_brush(mode="ink", radius=4, hardness=1.0, strength=1.0)
    painter.stamp_along([(50, 40), (50, 120)])  # while the re-attach runs
    tunnel_.cut()  # it fails
    qtbot.waitUntil(lambda: not loop.starting, timeout=TIMEOUT * 1000)
    tunnel_.release()

    widget.loop_panel.finetune_button.click()

    qtbot.waitUntil(lambda: loop.engine is not None, timeout=TIMEOUT * 1000)
    qtbot.waitUntil(lambda: not loop.starting, timeout=TIMEOUT * 1000)
    assert loop.engine.alive
    loop.engine.wait(TIMEOUT)
    folder = served.sessions[loop.engine.session].labels.folder
    assert np.load(folder / "ink.npy", mmap_mode="r")[50, 60] == 255


def test_a_link_ended_before_the_reattached_engine_is_taken_is_lost(ended, tunnel, qtbot):
    widget, _ = ended
    _, tunnel_ = tunnel
    loop, lost = widget.loop, widget.loop.engine
    _reattached_then_cut(widget, tunnel_, qtbot)
    shown = _shown()

    qtbot.waitUntil(lambda: not loop.starting, timeout=TIMEOUT * 1000)

    assert loop.engine is lost
    assert not lost.alive
    assert not loop.ready
    assert loop.state is State.FAILED
    assert tunnel_.refused == 0  # the Start did not re-attach on the GUI thread
    assert [s for s in _said_since(shown) if "did not start" in s] == []


def test_a_reattach_given_up_says_nothing_more(ended, tunnel, qtbot):
    widget, _ = ended
    _, tunnel_ = tunnel
    loop = widget.loop
    reattaching = _finetune_held(widget, tunnel_, qtbot)
    panel = widget.engine_panel
    panel.where.setCurrentText(HERE)
    panel.connect_button.click()
    shown = _shown()

    tunnel_.release()

    qtbot.waitUntil(reattaching.done, timeout=TIMEOUT * 1000)
    QApplication.processEvents()  # what it said meanwhile is shown now
    assert _said_since(shown) == []
    assert loop.state is State.IDLE


def test_a_save_clicked_before_the_lost_reattach_is_taken_is_not_sent(
    ended, tunnel, qtbot, tmp_path
):
    widget, _ = ended
    _, tunnel_ = tunnel
    loop, lost = widget.loop, widget.loop.engine
    _reattached_then_cut(widget, tunnel_, qtbot)

    assert not loop.save_checkpoint(tmp_path / "model.pt")  # the user's Save, before the turn

    assert tunnel_.refused == 0  # not re-attached on the GUI thread
    assert loop.engine is lost
    assert loop.state is State.FAILED


def test_an_event_posted_before_the_switch_to_this_machine_is_dropped(ended, tunnel, qtbot):
    widget, _ = ended
    _, tunnel_ = tunnel
    loop, lost = widget.loop, widget.loop.engine
    _finetune_held(widget, tunnel_, qtbot)
    (listener,) = lost._announcer.listeners  # as the reader thread calls it, on a thread
    for event in (StateChanged(State.TRAINING, State.IDLE), Notice("a new link")):
        posting = threading.Thread(target=listener, args=(event,))
        posting.start()
        posting.join()  # posted, not yet applied
    widget.engine_panel.where.setCurrentText(HERE)
    widget.engine_panel.connect_button.click()
    shown = _shown()
    QApplication.processEvents()  # the posted events are delivered now

    assert loop.state is State.IDLE
    assert _said_since(shown) == []
    tunnel_.release()
