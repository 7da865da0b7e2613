"""Check stack reads the papyrus mask the dock's open decoded, not the mask file again (a
full-size segment's mask PNG is ~1 s and 110 MB a decode)."""

from __future__ import annotations

from inkloop.io import _segment


def test_check_stack_decodes_no_mask_after_the_open(
    open_in_dock, segment_folder, monkeypatch, qtbot
):
    decoded = []
    decode = _segment._decode_sidecar

    def counted(path, shape, key, *args):
        decoded.append(key)
        return decode(path, shape, key, *args)

    monkeypatch.setattr(_segment, "_decode_sidecar", counted)  # before the open builds its graph
    _, widget = open_in_dock(segment_folder)
    guide = widget.guide_panel
    opened = decoded.count("mask")
    assert opened == 1

    for _ in range(2):
        guide.check_button.click()
        qtbot.waitUntil(lambda: "suggested z-window: layers" in guide.check_result.text())
        guide.check_result.setText("")

    assert decoded.count("mask") == opened
