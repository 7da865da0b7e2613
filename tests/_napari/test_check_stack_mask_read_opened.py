"""Check stack reads the papyrus mask that napari's File → Open (the reader, not the dock)
decoded, not the mask file again at each click (~1 s a decode at full size)."""

from __future__ import annotations

from inkloop._napari._widget import InkLoopWidget
from inkloop.io import _segment


def test_check_stack_after_file_open_decodes_the_mask_at_most_once(
    make_napari_viewer, segment_folder, monkeypatch, qtbot
):
    decoded, decode = [], _segment._decode_sidecar

    def counted(path, shape, key, *args):
        decoded.append(key)
        return decode(path, shape, key, *args)

    monkeypatch.setattr(_segment, "_decode_sidecar", counted)
    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    viewer.open(str(segment_folder), plugin="napari-inkloop")  # File → Open
    guide = widget.guide_panel

    for _ in range(2):
        guide.check_button.click()
        qtbot.waitUntil(lambda: "suggested z-window: layers" in guide.check_result.text())
        guide.check_result.setText("")

    assert decoded.count("mask") <= 1
