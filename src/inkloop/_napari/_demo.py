"""`inkloop demo`: napari with the sample segment and the Ink Loop widget docked."""

from __future__ import annotations

from pathlib import Path


def run_demo(screenshot: Path | None = None) -> None:
    """Open the demo viewer; with ``screenshot`` save the window to that PNG and close."""
    import napari

    from inkloop.io import sample_segment_path

    viewer = napari.Viewer(title="Ink Loop demo")
    viewer.open(str(sample_segment_path()), plugin="napari-inkloop")
    viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    viewer.dims.set_current_step(0, viewer.dims.nsteps[0] // 2)
    viewer.window.resize(1400, 850)
    if screenshot is not None:
        from qtpy.QtWidgets import QApplication

        QApplication.processEvents()  # lay out the docks before grabbing the window
        viewer.screenshot(str(screenshot), canvas_only=False)
        viewer.close()
        return
    napari.run()
