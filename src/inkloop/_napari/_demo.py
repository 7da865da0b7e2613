"""`inkloop demo`: napari with the sample segment and the Ink Loop widget docked."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path


def run_demo(screenshot: Path | None = None) -> None:
    """Open the demo viewer; with ``screenshot`` save the window to that PNG and close."""
    import napari

    viewer = napari.Viewer(title="Ink Loop demo")
    viewer.open(str(sample_copy()), plugin="napari-inkloop")
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


def sample_copy() -> Path:
    """A scratch copy of the bundled sample: the labels' autosave and the model checkpoint are
    written beside the segment, and the installed package's folder is no place for them."""
    from inkloop.io import sample_segment_path

    sample = sample_segment_path()
    copy = Path(tempfile.mkdtemp(prefix="inkloop-demo-")) / sample.name
    shutil.copytree(sample, copy)
    return copy
