"""On a laptop's screen the run's buttons and status stay in sight, whatever is unfolded, and
the labels' controls follow the segment without scrolling."""

from __future__ import annotations


def _wholly_shown(control) -> bool:
    """Shown and nowhere clipped, by the scroll area's viewport or anything else."""
    return control.isVisible() and control.visibleRegion().boundingRect() == control.rect()


def test_finetune_pause_stop_and_status_are_in_sight_on_a_1366x768_screen(laptop_dock, qtbot):
    _, widget = laptop_dock
    panel = widget.loop_panel
    run_controls = (panel.finetune_button, panel.pause_button, panel.stop_button, panel.status)

    assert all(_wholly_shown(control) for control in run_controls)
    widget.predict_section.toggle.click()  # everything unfolded: still in sight
    widget.engine_section.toggle.click()
    widget.model_panel.advanced.click()
    qtbot.waitUntil(lambda: widget.engine_panel.isVisible())
    assert all(_wholly_shown(control) for control in run_controls)


def test_the_labels_follow_the_segment_without_scrolling_on_a_1366x768_screen(laptop_dock, qtbot):
    """The model-input controls fold under their summary, so that after a segment opens
    the whole Labels section is in sight; unfolded, they are there to choose."""
    _, widget = laptop_dock
    brush, inputs = widget.brush_panel, widget.segment_panel.window
    labels_controls = (brush.paint, brush.radius, brush.strength, brush.save, brush.load)

    assert all(_wholly_shown(control) for control in labels_controls)
    assert _wholly_shown(inputs.summary)
    assert inputs.summary.text().startswith("reads layers")
    assert not inputs.z_start.isVisible()
    inputs.toggle.click()
    qtbot.waitUntil(lambda: inputs.z_start.isVisible())
    assert inputs.z_start.isEnabled()
