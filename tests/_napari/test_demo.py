"""`inkloop demo` end to end: a real napari window with the sample segment and the widget."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image


@pytest.mark.slow
def test_demo_renders_the_sample_segment_with_the_widget_docked(tmp_path, qapp):
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display (pytest-xvfb provides one)")
    screenshot = tmp_path / "demo.png"

    subprocess.run(
        [sys.executable, "-m", "inkloop.cli", "demo", "--screenshot", str(screenshot)],
        check=True,
        timeout=120,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # where its copy of the sample goes
    )

    image = np.asarray(Image.open(screenshot).convert("L"))
    assert image.shape[1] >= 1200  # the whole window, dock widgets included
    canvas = image[100:-100, image.shape[1] // 3 : 2 * image.shape[1] // 3]
    assert canvas.std() > 20  # the segment is drawn, not an empty canvas


def test_the_demo_window_fits_a_laptop_screen(monkeypatch, qtbot):
    """Its 1400x850 window hid Pause, Stop and the status below a 1366x768 screen's edge."""
    import napari
    from qtpy.QtCore import QRect
    from qtpy.QtGui import QScreen
    from qtpy.QtWidgets import QPushButton

    from inkloop._napari._demo import run_demo
    from inkloop._napari._widget import InkLoopWidget

    laptop = QRect(0, 0, 1366, 705)  # 1366x768 less a top bar and a title bar
    monkeypatch.setattr(QScreen, "availableGeometry", lambda _screen: laptop)
    monkeypatch.setattr(napari.Viewer, "open", lambda *_args, **_kwargs: [])  # no sample: fast
    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    seen = {}

    def shown_then_closed() -> None:  # instead of the event loop a person would use
        viewer = napari.current_viewer()
        window = viewer.window._qt_window
        stop = window.findChild(QPushButton, "stop_button")

        def stop_corner():
            return stop.mapToGlobal(stop.rect().bottomRight())

        qtbot.waitUntil(lambda: window.frameGeometry().contains(stop_corner()))  # laid out
        seen.update(window=window.frameGeometry(), stop=stop_corner())
        viewer.close()

    monkeypatch.setattr(napari, "run", shown_then_closed)
    run_demo()

    assert laptop.contains(seen["window"])
    assert laptop.contains(seen["stop"])


def test_a_demo_window_left_low_on_a_big_screen_is_moved_onto_it(monkeypatch, qtbot):
    """napari puts a window back where the last session left it: resized there, its bottom
    (Stop and the status) fell off the screen."""
    from qtpy.QtCore import QRect
    from qtpy.QtGui import QScreen
    from qtpy.QtWidgets import QMainWindow

    from inkloop._napari._demo import WINDOW_SIZE, fit_to_screen

    screen = QRect(0, 0, 1920, 1080)
    monkeypatch.setattr(QScreen, "availableGeometry", lambda _screen: screen)
    window = QMainWindow()
    qtbot.addWidget(window)
    window.move(100, 400)
    window.show()
    fit_to_screen(window)
    assert (window.width(), window.height()) == WINDOW_SIZE
    assert screen.contains(window.frameGeometry())
