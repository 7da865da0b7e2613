"""Connecting the dock to an engine server (a real one on 127.0.0.1, through a forwarder that
holds what the dock sends, a round trip as long as the test needs) happens off napari's GUI
thread: the dock says so and keeps turning; a Connect elsewhere or the loop's close meanwhile
give the connect up, and the session it made ends on the server; a command that needs the
engine meanwhile is not asked, and says to try again once connected."""

from __future__ import annotations

import threading

import pytest
from qtpy.QtCore import QTimer

from inkloop._napari._engine_panel import HERE, REMOTE
from inkloop._napari._engine_start import connecting, still_connecting
from inkloop.engine.remote import EngineServer
from tests._engine import Forwarder
from tests._events import TIMEOUT

TOKEN = "a token for the tests"


@pytest.fixture
def tunnel(unlabelled_folder, tmp_path):
    """A real engine server behind a forwarder: (server, forwarder)."""
    served = EngineServer([unlabelled_folder.parent], TOKEN, tmp_path / "sessions")
    thread = threading.Thread(target=served.serve_forever, daemon=True)
    thread.start()
    forwarder = Forwarder(served.address)
    yield served, forwarder
    forwarder.close()
    served.close()
    thread.join(TIMEOUT)


def _held_connect(open_in_dock, unlabelled_folder, forwarder, qtbot):
    """The dock set to the server, Finetune clicked, and its connect held in the forwarder
    while the GUI thread turned (a timer ticked) five times: (the widget, the connect's
    thread)."""
    _, widget = open_in_dock(unlabelled_folder)
    panel = widget.engine_panel
    panel.where.setCurrentText(REMOTE)
    panel.address.setText(forwarder.address)
    panel.token.setText(TOKEN)
    panel.connect_button.click()
    forwarder.hold()
    widget.loop_panel.finetune_button.click()
    qtbot.waitUntil(forwarder.holding.is_set)
    ticks = []
    timer = QTimer(interval=1)
    timer.timeout.connect(lambda: ticks.append(forwarder.holding.is_set()))
    timer.start()
    qtbot.waitUntil(lambda: len(ticks) >= 5)  # a blocked GUI thread would not tick meanwhile
    timer.stop()
    assert widget.loop_panel.status.text() == connecting(forwarder.address)  # still held
    return widget, next(t for t in threading.enumerate() if t.name == "inkloop-connect")


def test_the_dock_connects_off_the_gui_thread_and_says_so(
    open_in_dock, unlabelled_folder, tunnel, qtbot
):
    served, forwarder = tunnel
    widget, _ = _held_connect(open_in_dock, unlabelled_folder, forwarder, qtbot)
    says = connecting(forwarder.address)
    assert widget.engine_panel.status.text() == f"Now: server {forwarder.address}\n{says}"
    assert widget.loop.engine is None

    forwarder.release()

    qtbot.waitUntil(lambda: widget.loop.engine is not None, timeout=TIMEOUT * 1000)
    assert list(served.sessions) == [widget.loop.engine.session]
    assert widget.engine_panel.status.text() == f"Now: server {forwarder.address}"


@pytest.mark.parametrize("how", ["connect elsewhere", "close"])
def test_a_connect_given_up_meanwhile_ends_its_session_there(
    open_in_dock, unlabelled_folder, tunnel, qtbot, tmp_path, how
):
    served, forwarder = tunnel
    widget, connect = _held_connect(open_in_dock, unlabelled_folder, forwarder, qtbot)
    loop = widget.loop
    if how == "close":
        loop.close()
    else:
        widget.engine_panel.where.setCurrentText(HERE)
        widget.engine_panel.connect_button.click()
        assert widget.engine_panel.status.text() == "Now: this machine"
    assert not loop.starting

    forwarder.release()

    connect.join(TIMEOUT)
    assert not connect.is_alive()
    assert any((tmp_path / "sessions").iterdir())  # the server made the session
    qtbot.waitUntil(lambda: not served.sessions, timeout=TIMEOUT * 1000)  # closed there
    assert loop.engine is None


def test_a_command_that_needs_the_engine_meanwhile_says_so_and_waits_not(
    open_in_dock, unlabelled_folder, tunnel, qtbot, tmp_path
):
    from napari.utils.notifications import notification_manager

    _, forwarder = tunnel
    widget, connect = _held_connect(open_in_dock, unlabelled_folder, forwarder, qtbot)
    shown = len(notification_manager.records)

    widget.segment_panel.preview_input()  # a blocked GUI thread returns once the connect ends
    saved = widget.model_panel.save_model(tmp_path / "model.pt")
    widget.predict_panel.predict()

    assert connect.is_alive()  # returned while the connect is held
    assert widget.loop.engine is None
    said = [(str(r.message), r.severity) for r in notification_manager.records[shown:]]
    assert said == [(f"Ink Loop: {still_connecting(forwarder.address)}", "info")] * 3
    assert not saved
    assert "model input" not in widget.loop.viewer.layers
    assert widget.predict_panel.request is None
    forwarder.release()
    qtbot.waitUntil(lambda: widget.loop.engine is not None, timeout=TIMEOUT * 1000)
    assert widget.loop.compose_view() is not None  # asked, once connected
