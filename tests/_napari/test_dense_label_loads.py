"""A load that labels over a quarter of the image (a prediction loaded as labels, or a label
file) thins the labels layer to the opacity such labels open with, once, and says so: a
whole fragment's blue "no ink" hid the prediction under it at the sparse opacity."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop._napari._labels import DENSE_OPACITY, OPACITY, THINNED
from inkloop._napari._say import PREFIX
from inkloop.io import write_png
from tests._napari._gui import messages


def _load(widget, qtbot, how: str, path) -> None:
    """Load ``path`` as the Guide's or the Labels section's load does, to its end."""
    if how == "prediction":
        widget.guide_panel.load_prediction(str(path))
    else:
        widget.brush_panel.start_loading(str(path))
    qtbot.waitUntil(lambda: not widget.labels.loading)


@pytest.mark.parametrize("how", ["prediction", "labels"])
def test_a_load_that_makes_the_labels_dense_thins_the_layer_once(painting, tmp_path, qtbot, how):
    _, widget = painting
    layer = widget.labels.layer
    few = np.zeros(layer.data.shape, np.uint8)
    few[:4, :4] = 255
    write_png(tmp_path / "few_inklabels.png", few)
    write_png(tmp_path / "few_supervision_mask.png", few)  # labelled only there
    whole = np.zeros(layer.data.shape, np.uint8)
    whole[: whole.shape[0] // 3] = 220  # ink on a third; the rest of the papyrus "no ink"
    write_png(tmp_path / "whole_inklabels.png", whole)
    shown = len(messages(0))

    _load(widget, qtbot, "labels", tmp_path / "few_inklabels.png")
    assert np.count_nonzero(layer.data) == 16
    assert layer.opacity == OPACITY  # sparse: as it opened
    _load(widget, qtbot, how, tmp_path / "whole_inklabels.png")

    assert np.count_nonzero(layer.data) > layer.data.size / 4
    assert layer.opacity == DENSE_OPACITY
    assert [m for m in messages(shown) if "opacity" in m] == [
        PREFIX + THINNED.format(opacity=DENSE_OPACITY)
    ]
    assert widget.brush_panel.opacity.value() == round(DENSE_OPACITY * 100)  # the dock follows

    layer.opacity = OPACITY  # the user wants them opaque after all
    shown = len(messages(0))
    _load(widget, qtbot, how, tmp_path / "whole_inklabels.png")  # dense before: no crossing
    assert layer.opacity == OPACITY
    assert not [m for m in messages(shown) if "opacity" in m]
