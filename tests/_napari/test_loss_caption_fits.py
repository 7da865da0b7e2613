"""The loss plot's caption is read whole at the dock's default width on a 1366x768 screen:
"Smoothed 1.295 (range 1.21–1.5…" never showed the range's upper end."""

from __future__ import annotations

import numpy as np

from inkloop._napari._loss_plot import elided


def test_the_loss_caption_is_whole_at_the_default_dock_width(laptop_dock):
    _, widget = laptop_dock
    plot, trace = widget.loop_panel.plot, widget.loop.losses
    for loss in np.linspace(1.53, 1.21, 400):  # a real crop's losses, as the review saw them
        trace.add(float(loss))
    plot.show_trace(trace)

    caption = plot.caption()
    assert elided(plot, caption) == caption
    assert caption.startswith(f"Smoothed {trace.smoothed:.3f}")
    assert caption.endswith("1.21–1.53")  # the range's upper end, read whole
