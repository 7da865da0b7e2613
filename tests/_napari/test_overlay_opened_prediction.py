"""A prediction file of the dock's segment opened through the reader (a drop, File > Open)
looks like the dock's own whole-segment prediction and follows its threshold slider."""

from __future__ import annotations

import dask.array as da
import numpy as np

from inkloop._napari._widget import InkLoopWidget
from inkloop.io import open_segment
from inkloop.predict import write_prediction

SOFT = (127, 255)  # the soft view of a uint8 prediction, as the dock's own layer opens


def _prediction_of(name: str, path, shape) -> str:
    """A uint8 TIFF prediction whose record names segment ``name``, as `inkloop predict`'s."""
    probability = da.linspace(0, 1, shape[0] * shape[1]).reshape(shape).astype(np.float32)
    record = {"segment": {"name": name, "path": f"/scrolls/{name}"}}
    return str(write_prediction(probability, path, progress=False, record=record))


def test_an_opened_prediction_of_the_segment_follows_the_threshold(segment_widget, tmp_path):
    viewer, segment = segment_widget.viewer, segment_widget.labels.segment
    shape = segment.shape[1:]
    ours = _prediction_of(segment.name, tmp_path / f"{segment.name}_prediction.tif", shape)
    other = _prediction_of("20990101000000", tmp_path / "20990101000000_prediction.tif", shape)

    (layer,) = viewer.open(ours, plugin="napari-inkloop")
    (foreign,) = viewer.open(other, plugin="napari-inkloop")

    assert tuple(layer.contrast_limits) == SOFT  # no haze below p = 0.5
    assert (layer.colormap.name, layer.blending) == ("inferno", "additive")
    segment_widget.loop_panel.threshold.setValue(60)
    low, high = layer.contrast_limits
    assert low < 0.6 * 255 < high <= low + 1
    assert tuple(foreign.contrast_limits) == SOFT  # another segment's: left as opened
    segment_widget.loop_panel.threshold.setValue(0)
    assert tuple(layer.contrast_limits) == SOFT


def test_a_prediction_opened_and_its_contrast_moved_before_the_segment_follows_its_threshold(
    make_napari_viewer, segment_folder, monkeypatch, tmp_path
):
    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    viewer = make_napari_viewer()
    name, shape = segment_folder.name, open_segment(segment_folder).shape[1:]
    (layer,) = viewer.open(
        _prediction_of(name, tmp_path / f"{name}_prediction.tif", shape), plugin="napari-inkloop"
    )
    layer.contrast_limits = (10, 90)  # the user's own view: p = 1 is still 255
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    widget.open_segment(str(segment_folder), wait=True)

    widget.loop_panel.threshold.setValue(60)

    low, high = layer.contrast_limits
    assert low < 0.6 * 255 < high <= low + 1
