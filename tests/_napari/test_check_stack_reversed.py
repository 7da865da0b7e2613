"""Check stack's suggested window is given as First layer takes it: with Reverse ticked, a
position in the reversed stack."""

from __future__ import annotations

import inkloop._napari._guide_panel as guide_module
from inkloop.check import LayerProfile


def test_the_suggestion_is_what_first_layer_takes_with_reverse_ticked(
    segment_widget, qtbot, monkeypatch
):
    guide, panel = segment_widget.guide_panel, segment_widget.segment_panel
    sheet_at_5 = LayerProfile((0.0, 0.0, 0.0, 0.0, 1.0, 5.0, 1.0, 0.0))  # of 8 layers
    monkeypatch.setattr(guide_module, "_profile", lambda segment: sheet_at_5)
    monkeypatch.setattr(segment_widget.loop, "check_order", lambda: 7)  # were one asked
    panel.window.reverse.setChecked(True)

    guide.check_button.click()

    qtbot.waitUntil(lambda: guide.check_button.isEnabled())  # the profile is shown
    # stored layers 4..7 (around the sheet) are the reversed stack's positions 0..3
    assert "suggested z-window: layers 4–7 (First layer 0)." in guide.check_result.text()
    panel.window.z_start.setValue(0)
    assert panel.window.summary.text().startswith("reads layers 4–7 of 8 (reversed)")
