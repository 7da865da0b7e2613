"""`inkloop demo`: napari with the sample segment and the Ink Loop widget docked."""

from __future__ import annotations

from pathlib import Path

WINDOW_SIZE = (1400, 850)  # the demo's window where the screen has room (the docs' screenshots)


def run_demo(screenshot: Path | None = None) -> None:
    """Open the demo viewer; with ``screenshot`` save the window to that PNG and close."""
    import napari

    from inkloop.io import sample_copy

    viewer = napari.Viewer(title="Ink Loop demo")
    viewer.open(str(sample_copy()), plugin="napari-inkloop")
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    viewer.dims.set_current_step(0, viewer.dims.nsteps[0] // 2)
    if screenshot is not None:  # the same picture on every machine: no person needs to reach it
        viewer.window.resize(*WINDOW_SIZE)
        try:
            _settle(widget)
            viewer.screenshot(str(screenshot), canvas_only=False)
        finally:  # an open viewer at interpreter exit aborts in Qt
            viewer.close()
        return
    fit_to_screen(widget.window())
    napari.run()


def fit_to_screen(window, size: tuple[int, int] = WINDOW_SIZE) -> None:
    """Give ``window`` ``size``, or on a smaller screen (a 1366x768 laptop) maximise it there:
    Qt keeps no window inside its screen, and a bigger one hides the dock's Stop button."""
    free = window.screen().availableGeometry()
    frame, inner = window.frameGeometry(), window.geometry()  # the title bar's room too
    width, height = size
    outer_width = width + frame.width() - inner.width()
    outer_height = height + frame.height() - inner.height()
    if outer_width <= free.width() and outer_height <= free.height():
        window.resize(width, height)
        # napari puts a window back where the last session left it: keep it all on screen
        x = min(max(frame.x(), free.left()), free.right() + 1 - outer_width)
        y = min(max(frame.y(), free.top()), free.bottom() + 1 - outer_height)
        window.move(x, y)
        return
    # a window manager maximises it, frame included; without one these bounds hold it
    window.setGeometry(free.x(), free.y(), min(width, free.width()), min(height, free.height()))
    window.showMaximized()


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
