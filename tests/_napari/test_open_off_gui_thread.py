"""The dock's Open URL… (and Open segment…) reads the segment off napari's GUI thread, once:
napari stays responsive while a slow server answers (it froze for as long before), the
Segment panel says what it opens and its open buttons wait, and a dock closed meanwhile
gets nothing added. The segment is read once per open, not three times."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from qtpy.QtWidgets import QInputDialog

from inkloop._napari._segment_panel import NO_SEGMENT
from inkloop._napari._widget import InkLoopWidget
from inkloop.io import open_segment
from tests import _http
from tests._http import LOGIN, NAME, serve, write_served_segment
from tests._napari._gui import messages

SIDE_FILES = [f"/{NAME}{end}" for end in ("_mask.png", "_inklabels.png", "_supervision_mask.png")]


@pytest.fixture
def dock(make_napari_viewer, tmp_path, synthetic, monkeypatch):
    """(viewer, dock, widget) with nothing open yet, and ``synthetic`` ready to serve from tmp_path;
    /lagging/ holds its answers until the server's ``release``, however long that takes."""
    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    monkeypatch.setenv("INKLOOP_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(_http, "LAG_S", 60)
    write_served_segment(tmp_path, NAME, synthetic)
    viewer = make_napari_viewer()
    dock, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    return viewer, dock, widget


def _with_login(url: str) -> str:
    return url.replace("//", f"//{LOGIN[0]}:{LOGIN[1]}@", 1)


def _held(server) -> bool:
    """Whether the server holds an answer (a /lagging/ request other than a zarr.json)."""
    return any(not path.endswith("/zarr.json") for path in server.requests)


def _click_open_url(widget, url: str, monkeypatch) -> None:
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: (url, True))
    widget.segment_panel.open_url_button.click()


def _opens_waiting(panel) -> bool:
    return not panel.open_button.isEnabled() and not panel.open_url_button.isEnabled()


def test_napari_stays_free_while_a_server_holds_the_open_and_the_panel_says_so(
    dock, tmp_path, monkeypatch, qtbot
):
    viewer, _, widget = dock
    panel = widget.segment_panel
    with serve(tmp_path) as (base, server):
        url = _with_login(f"{base}/private/lagging/{NAME}.zarr")

        _click_open_url(widget, url, monkeypatch)
        qtbot.waitUntil(lambda: _held(server))  # the GUI thread turns meanwhile

        assert len(viewer.layers) == 0
        shown = panel.segment_label
        assert shown.full_text() == f"Opening…\n{base}/private/lagging/{NAME}.zarr"  # no login
        assert _opens_waiting(panel)
        opening, said = widget.opens.current, len(messages(0))
        widget.open_segment(url, wait=True)  # a script's second open: refused at once, said
        assert widget.opens.current is opening
        assert [m for m in messages(said) if "is still opening: open" in m] != []
        with qtbot.waitSignal(widget.opens.opened, timeout=10_000) as opened:
            server.release.set()
        assert opened.args[0].path == url
        assert [layer.name for layer in viewer.layers] == [NAME, f"{NAME} mask", "ink labels"]
        assert widget.labels.layer is viewer.layers["ink labels"]
        assert not _opens_waiting(panel)
        assert shown.full_text().startswith(f"{NAME}: 8 layers")
        assert LOGIN[1] not in shown.full_text()


def test_a_failed_open_is_one_message_and_the_buttons_open_again(
    dock, tmp_path, monkeypatch, qtbot
):
    viewer, _, widget = dock
    panel = widget.segment_panel
    with serve(tmp_path) as (base, server):
        url = f"{base}/lagging/missing/{NAME}.zarr"  # after zarr.json, what it tries is held
        said = len(messages(0))
        _click_open_url(widget, url, monkeypatch)
        qtbot.waitUntil(lambda: _held(server))
        assert _opens_waiting(panel)

        with qtbot.waitSignal(widget.opens.opened, timeout=10_000) as opened:
            server.release.set()

    assert opened.args == [None]
    (message,) = messages(said)
    assert message.startswith("Ink Loop: cannot open (not found on the server (404)")
    assert message.endswith(f"): {url}")
    assert message.count(url) == 1
    assert not _opens_waiting(panel)
    assert panel.segment_label.full_text() == NO_SEGMENT
    assert len(viewer.layers) == 0
    assert widget.labels is None


def test_one_open_of_a_url_reads_its_metadata_and_side_files_once(dock, tmp_path, qtbot):
    _, _, widget = dock
    with serve(tmp_path) as (base, server):
        url = f"{base}/{NAME}.zarr"
        widget.open_segment(url)
        qtbot.waitUntil(lambda: widget.labels is not None)
        asked = Counter(server.requests)
        server.requests.clear()
        open_segment(url)  # the headers alone, once
        once = Counter(server.requests)

    assert widget.labels.segment.path == url
    assert {path: asked[path] for path in SIDE_FILES} == dict.fromkeys(SIDE_FILES, 1)
    metadata = {path for path in asked if ".zarr/" in path and "/c/" not in path}
    assert {path: asked[path] for path in metadata} == {path: once[path] for path in metadata}


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("closed", ["dock", "window"])
def test_a_dock_closed_while_it_opens_gets_nothing_added(dock, tmp_path, qtbot, closed):
    viewer, dock_widget, widget = dock
    with serve(tmp_path) as (base, server):
        said = len(messages(0))
        widget.open_segment(f"{base}/lagging/{NAME}.zarr")
        opening = widget.opens.current
        qtbot.waitUntil(lambda: _held(server))

        if closed == "dock":
            viewer.window.remove_dock_widget(dock_widget)
        else:
            viewer.close()
        server.release.set()
        qtbot.waitUntil(lambda: opening.done)  # its reads came back, unseen

    assert len(viewer.layers) == 0
    assert widget.labels is None
    assert widget.opens.current is None
    assert messages(said) == []


class _PlanesRead:
    """A (layers, y, x) stack that records which layers napari reads."""

    def __init__(self, layers: int) -> None:
        self.stack, self.read = np.zeros((layers, 64, 64), np.uint8), []
        self.shape, self.dtype, self.ndim = self.stack.shape, self.stack.dtype, 3

    def __getitem__(self, key):
        self.read.append(key[0] if isinstance(key, tuple) else key)
        return self.stack[key]


def test_the_opened_volume_is_drawn_at_its_middle_layer_only(make_napari_viewer):
    from inkloop._napari._reader import add_layers

    viewer, volume = make_napari_viewer(), _PlanesRead(16)

    (layer,) = add_layers(viewer, [(volume, {"name": "segment"}, "image")])

    assert layer.visible
    assert volume.read == [slice(7, 8)]  # not the first layer too: a remote read for nothing


def test_an_open_a_server_holds_can_be_cancelled_and_another_opened(
    dock, tmp_path, monkeypatch, qtbot
):
    """Open URL… waited as long as the server held its answer, the open buttons with it."""
    viewer, _, widget = dock
    panel = widget.segment_panel
    with serve(tmp_path) as (base, server):
        _click_open_url(widget, f"{base}/lagging/{NAME}.zarr", monkeypatch)
        qtbot.waitUntil(lambda: _held(server))
        opening = widget.opens.current
        assert panel.cancel_open_button.isVisibleTo(panel)

        with qtbot.waitSignal(widget.opens.opened, timeout=10_000) as opened:
            panel.cancel_open_button.click()

        assert opened.args == [None]
        assert not _opens_waiting(panel)
        assert not panel.cancel_open_button.isVisibleTo(panel)
        assert panel.segment_label.full_text() == NO_SEGMENT
        server.release.set()
        qtbot.waitUntil(lambda: opening.done)  # its reads came back, unseen
        assert len(viewer.layers) == 0
        widget.open_segment(f"{base}/{NAME}.zarr")
        qtbot.waitUntil(lambda: widget.labels is not None)
    assert viewer.layers[0].name == NAME
