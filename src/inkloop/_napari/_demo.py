"""`inkloop demo`: napari with the sample segment and the Ink Loop widget docked."""

from __future__ import annotations

from pathlib import Path


def run_demo(screenshot: Path | None = None) -> None:
    """Open the demo viewer; with ``screenshot`` save the window to that PNG and close."""
    import napari

    from inkloop.io import sample_copy

    viewer = napari.Viewer(title="Ink Loop demo")
    viewer.open(str(sample_copy()), plugin="napari-inkloop")
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    viewer.dims.set_current_step(0, viewer.dims.nsteps[0] // 2)
    viewer.window.resize(1400, 850)
    if screenshot is not None:
        try:
            _settle(widget)
            viewer.screenshot(str(screenshot), canvas_only=False)
        finally:  # an open viewer at interpreter exit aborts in Qt
            viewer.close()
        return
    napari.run()


def _settle(widget, timeout_s: float = 5.0) -> None:
    """Run the event loop until the dock has grown to fit its controls, as a user sees it:
    Qt widens a new dock about a second after showing it, and a grab before that cuts the
    right edge of every panel."""
    from qtpy.QtCore import QEventLoop, QTimer
    from qtpy.QtWidgets import QScrollArea

    scroll = widget.findChild(QScrollArea)
    for _ in range(int(timeout_s / 0.05)):
        fits = scroll.viewport().width() >= scroll.widget().minimumSizeHint().width()
        if scroll.isVisible() and fits:
            return
        loop = QEventLoop()
        QTimer.singleShot(50, loop.quit)
        loop.exec()
