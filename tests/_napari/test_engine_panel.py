"""The Engine panel: the dock's loop on a real engine server on 127.0.0.1, as it runs here."""

from __future__ import annotations

import threading

import pytest

from inkloop._napari._engine_panel import REMOTE
from inkloop.engine import State
from inkloop.engine.remote import EngineServer, RemoteEngineProcess
from tests._events import TIMEOUT
from tests._napari._gui import drag, paint_left_half

TOKEN = "a token for the tests"


@pytest.fixture
def server(loop_folder, tmp_path):
    served = EngineServer([loop_folder.parent], TOKEN, tmp_path / "sessions")
    thread = threading.Thread(target=served.serve_forever, daemon=True)
    thread.start()
    yield served
    served.close()
    thread.join(TIMEOUT)


def _use_server(widget, server, token=TOKEN) -> None:
    panel = widget.engine_panel
    host, port = server.address
    panel.where.setCurrentText(REMOTE)
    panel.address.setText(f"{host}:{port}")
    panel.token.setText(token)
    panel.connect_button.click()


@pytest.mark.slow
def test_the_loop_trains_and_previews_on_an_engine_server(loop_widget, server, qtbot, truth):
    viewer, widget = loop_widget
    loop, panel = widget.loop, widget.loop_panel
    _use_server(widget, server)
    host, port = server.address
    assert widget.engine_panel.status.text() == f"Now: server {host}:{port}"
    paint_left_half(widget, viewer, qtbot, truth)

    panel.finetune_button.click()

    # made once its labels decoded and the connect (a thread of its own) is done
    qtbot.waitUntil(lambda: loop.engine is not None, timeout=TIMEOUT * 1000)
    assert isinstance(loop.engine, RemoteEngineProcess)
    qtbot.waitUntil(lambda: loop.prediction_updates >= 2, timeout=TIMEOUT * 1000)
    assert loop.state is State.TRAINING
    drag(viewer, [(150, 20), (150, 60)], qtbot)  # labels painted here reach the server
    qtbot.waitUntil(
        lambda: loop.last_step and loop.last_step.labels_version >= loop.labels_sent,
        timeout=TIMEOUT * 1000,
    )
    assert list(server.sessions) == [loop.engine.session]
    panel.stop_button.click()
    qtbot.waitUntil(lambda: loop.state is State.STOPPED, timeout=TIMEOUT * 1000)


def test_an_unreachable_server_is_one_message_and_nothing_starts(loop_widget, qtbot):
    from napari.utils.notifications import notification_manager

    _viewer, widget = loop_widget
    widget.engine_panel.where.setCurrentText(REMOTE)
    widget.engine_panel.address.setText("127.0.0.1:9")  # the discard port: nobody listens
    widget.engine_panel.token.setText(TOKEN)
    widget.engine_panel.connect_button.click()
    shown = len(notification_manager.records)

    widget.loop_panel.finetune_button.click()

    def told() -> bool:
        messages = [str(r.message) for r in notification_manager.records[shown:]]
        return any("cannot reach the engine server 127.0.0.1:9" in m for m in messages)

    qtbot.waitUntil(told)  # once the labels it would start from are decoded
    assert widget.loop.engine is None
    assert not widget.loop.starting


def test_switching_engines_while_the_segment_is_predicted_is_refused(segment_widget):
    from napari.utils.notifications import notification_manager

    panel, loop = segment_widget.engine_panel, segment_widget.loop
    assert panel.status.text() == "Now: this machine"
    loop.whole_segment.requests.add(1)  # a whole-segment prediction under way
    shown = len(notification_manager.records)
    panel.where.setCurrentText(REMOTE)
    panel.address.setText("127.0.0.1:9")
    panel.token.setText(TOKEN)
    panel.connect_button.click()
    assert loop.remote is None
    assert panel.target is None
    # it does not claim the server, and says that the choice is not applied
    assert panel.status.text() == "Now: this machine\nConnect to use the engine server"
    messages = [str(r.message) for r in notification_manager.records[shown:]]
    assert any("whole segment is being predicted" in m for m in messages)
