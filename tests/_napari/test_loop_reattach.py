"""The dock's loop on an engine server (real, on 127.0.0.1) reached through a tunnel that
stalls after the link dropped: the next Finetune says once why the run did not start."""

from __future__ import annotations

import socket
import threading

import pytest

from inkloop._napari._engine_panel import REMOTE
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
def test_finetune_through_a_stalled_tunnel_says_once_that_the_run_did_not_start(
    loop_widget, tunnel, qtbot, truth, monkeypatch
):
    from napari.utils.notifications import notification_manager

    monkeypatch.setattr(_sockets, "CONNECT_TIMEOUT", 0.5)  # for the greeting that never comes
    _, widget = loop_widget
    loop, panel = widget.loop, widget.loop_panel
    _dropped_while(loop_widget, tunnel, qtbot, truth, lambda: loop.state is State.TRAINING)
    shown = len(notification_manager.records)

    panel.finetune_button.click()  # re-attaches, through the tunnel that now says nothing

    port = tunnel.address.rpartition(":")[2]
    said = [m for m in _messages(shown) if "the run did not start" in m]
    assert said == [
        f"Ink Loop: the run did not start: nothing came back from the engine server "
        f"127.0.0.1:{port} within 0.5 s: the network or the SSH tunnel may be stalled (check "
        "that ssh is still connected); a server older than this dock, or something that is "
        "not an inkloop engine server, also stays silent"
    ]
    assert not loop.starting  # the button is free for the next try
    assert loop.state is not State.TRAINING


@pytest.mark.slow
def test_requests_through_a_stalled_tunnel_say_once_each_that_the_model_was_not_asked(
    loop_widget, tunnel, qtbot, truth, monkeypatch
):
    """Guide's Next, Preview input and Check stack, in turn: each re-attaches and is told."""
    from napari.utils.notifications import notification_manager

    monkeypatch.setattr(_sockets, "CONNECT_TIMEOUT", 0.5)  # for the greeting that never comes
    _, widget = loop_widget
    loop, panel = widget.loop, widget.loop_panel
    trained = lambda: loop.own_model.trained_by == loop.generation  # noqa: E731
    _dropped_while(loop_widget, tunnel, qtbot, truth, trained)  # Check stack asks a trained one
    port = tunnel.address.rpartition(":")[2]
    told = (
        f"Ink Loop: the model could not be asked: nothing came back from the engine server "
        f"127.0.0.1:{port} within 0.5 s: the network or the SSH tunnel may be stalled (check "
        "that ssh is still connected); a server older than this dock, or something that is "
        "not an inkloop engine server, also stays silent"
    )

    for button in ("next_button", "preview_input_button", "check_stack_button"):
        shown = len(notification_manager.records)

        def said(shown=shown) -> list[str]:
            return [m for m in _messages(shown) if "the model could not be asked" in m]

        with qtbot.captureExceptions() as raised:
            widget.findChild(type(panel.finetune_button), button).click()  # re-attaches
            # Check stack asks off the GUI thread: waited for
            qtbot.waitUntil(lambda: bool(raised or said()), timeout=TIMEOUT * 1000)

        assert raised == [], button
        assert said() == [told], button
