"""Opening a segment URL that fails says so in one message, without the URL's login."""

from __future__ import annotations

from inkloop._napari._widget import InkLoopWidget
from tests._http import LOGIN, NAME, serve, write_served_segment


def test_a_refused_login_is_one_message_that_leaves_the_password_out(
    make_napari_viewer, tmp_path, synthetic, monkeypatch
):
    from napari.utils.notifications import notification_manager

    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    monkeypatch.setenv("INKLOOP_DATA", str(tmp_path / "data"))
    write_served_segment(tmp_path, NAME, synthetic)
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    shown = len(notification_manager.records)
    with serve(tmp_path) as (base, _server):
        url = f"{base}/private/{NAME}.zarr".replace("//", f"//{LOGIN[0]}:wrong-secret@", 1)

        widget.open_segment(url, wait=True)

    (message,) = [record.message for record in notification_manager.records[shown:]]
    why = "the login in the URL was refused (401 Unauthorized)"  # first: toasts cut the rest off
    assert message == f"Ink Loop: cannot open ({why}): {base}/private/{NAME}.zarr"
    assert "wrong-secret" not in message
    assert widget.labels is None
