"""The dock's loop on an engine server (real, on 127.0.0.1) reached through a tunnel that
stalls after the link dropped: the next Finetune re-attaches off the GUI thread, and says
once why it could not; each request says to try again once connected, then the same."""

from __future__ import annotations

import socket
import threading

import pytest

from inkloop._napari._engine_panel import REMOTE
from inkloop._napari._engine_start import REATTACH_FAILED, still_connecting
from inkloop.engine import State, _sockets
from inkloop.engine.remote import EngineServer
from tests._engine import Forwarder
from tests._events import TIMEOUT
from tests._napari._gui import paint_left_half

TOKEN = "a token for the tests"


@pytest.fixture
def tunnel(loop_folder, tmp_path):
    """A forwarder to a real engine server, standing in for an SSH tunnel: it passes one
    connection, then accepts others and says nothing on them (its far side is gone)."""
    served = EngineServer([loop_folder.parent], TOKEN, tmp_path / "sessions")
    thread = threading.Thread(target=served.serve_forever, daemon=True)
    thread.start()
    forwarder = Forwarder(served.address)
    yield forwarder
    forwarder.close()
    served.close()
    thread.join(TIMEOUT)


def _messages(since: int) -> list[str]:
    from napari.utils.notifications import notification_manager

    return [str(r.message) for r in notification_manager.records[since:]]


def _stalled(port: str) -> str:
    """Why the re-attach through the tunnel to 127.0.0.1:``port`` failed, as the dock says."""
    return (
        f"Ink Loop: {REATTACH_FAILED}: nothing came back from the engine server "
        f"127.0.0.1:{port} within 0.5 s: the network or the SSH tunnel may be stalled (check "
        "that ssh is still connected); a server older than this dock, or something that is "
        "not an inkloop engine server, also stays silent"
    )


def _dropped_while(loop_widget, tunnel, qtbot, truth, until) -> None:
    """Connect the dock to the server through ``tunnel``, paint, Finetune until ``until()``,
    then drop the link (the tunnel passes no other connection: no greeting comes)."""
    viewer, widget = loop_widget
    loop = widget.loop
    widget.engine_panel.where.setCurrentText(REMOTE)
    widget.engine_panel.address.setText(tunnel.address)
    widget.engine_panel.token.setText(TOKEN)
    widget.engine_panel.connect_button.click()
    paint_left_half(widget, viewer, qtbot, truth)
    widget.loop_panel.finetune_button.click()
    qtbot.waitUntil(until, timeout=TIMEOUT * 1000)
    loop.engine._child.events.sock.shutdown(socket.SHUT_RDWR)  # the link dropped
    qtbot.waitUntil(lambda: loop.state is State.FAILED, timeout=TIMEOUT * 1000)


@pytest.mark.slow
def test_finetune_through_a_stalled_tunnel_says_once_that_it_could_not_reconnect(
    loop_widget, tunnel, qtbot, truth, monkeypatch
):
    from napari.utils.notifications import notification_manager

    monkeypatch.setattr(_sockets, "CONNECT_TIMEOUT", 0.5)  # for the greeting that never comes
    _, widget = loop_widget
    loop, panel = widget.loop, widget.loop_panel
    _dropped_while(loop_widget, tunnel, qtbot, truth, lambda: loop.state is State.TRAINING)
    shown = len(notification_manager.records)

    panel.finetune_button.click()  # re-attaches, through the tunnel that now says nothing

    qtbot.waitUntil(lambda: not loop.starting, timeout=TIMEOUT * 1000)  # free for the next try
    said = [m for m in _messages(shown) if REATTACH_FAILED in m]
    assert said == [_stalled(tunnel.address.rpartition(":")[2])]
    assert loop.state is not State.TRAINING


@pytest.mark.slow
def test_requests_through_a_stalled_tunnel_say_once_each_that_the_model_was_not_asked(
    loop_widget, tunnel, qtbot, truth, monkeypatch
):
    """Guide's Next, Preview input and Check stack, in turn: each re-attaches, says to try
    again once connected, then why it could not."""
    from napari.utils.notifications import notification_manager

    monkeypatch.setattr(_sockets, "CONNECT_TIMEOUT", 0.5)  # for the greeting that never comes
    _, widget = loop_widget
    loop, panel = widget.loop, widget.loop_panel
    trained = lambda: loop.own_model.trained_by == loop.generation  # noqa: E731
    _dropped_while(loop_widget, tunnel, qtbot, truth, trained)  # Check stack asks a trained one
    told = [
        f"Ink Loop: {still_connecting(tunnel.address)}",
        _stalled(tunnel.address.rpartition(":")[2]),
    ]

    for button in ("next_button", "preview_input_button", "check_stack_button"):
        shown = len(notification_manager.records)

        def said(shown=shown) -> list[str]:
            return [m for m in _messages(shown) if "engine server" in m]

        with qtbot.captureExceptions() as raised:
            widget.findChild(type(panel.finetune_button), button).click()  # re-attaches
            # Check stack asks off the GUI thread: waited for
            qtbot.waitUntil(lambda: bool(raised) or len(said()) == 2, timeout=TIMEOUT * 1000)

        assert raised == [], button
        assert said() == told, button
