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
