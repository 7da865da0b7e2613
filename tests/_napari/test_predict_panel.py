"""Predict whole segment from the dock: a file beside the labels, a progress bar, a layer."""

from __future__ import annotations

import os
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
from napari.utils.notifications import notification_manager

from inkloop._napari import _pyramid
from inkloop._napari._predict_panel import PredictPanel
from inkloop.io import PREDICTION_FORMATS, is_prediction_pyramid, label_paths, prediction_levels
from inkloop.settings import EngineSettings
from tests._helpers import linux_only, tiny_model, tiny_training
from tests._napari._gui import messages

TIMEOUT_MS = 120_000  # spawning the engine process imports torch: slow on CI machines


@pytest.fixture
def predicting(open_in_dock, segment_folder, qtbot, tmp_path):
    """A viewer with the Ink Loop widget on a small segment and a PredictPanel bound to it."""
    viewer, widget = open_in_dock(segment_folder)
    widget.loop.settings = EngineSettings(
        model=tiny_model(), train=tiny_training(), autosave=tmp_path / "model.pt", tile=64
    )
    panel = PredictPanel()
    qtbot.addWidget(panel)
    panel.set_loop(widget.loop)
    return viewer, widget, panel


def test_predict_whole_segment_writes_the_file_and_opens_it_as_a_layer(predicting, qtbot):
    viewer, widget, panel = predicting
    segment = widget.labels.segment
    out = label_paths(segment)[0].parent / f"{segment.name}_prediction.ome.zarr"
    assert panel.path_label.full_text() == f"Into\n{out}"
    shown = len(notification_manager.records)

    panel.predict_button.click()

    assert not panel.predict_button.isEnabled()
    assert panel.cancel_button.isEnabled()
    name = f"{segment.name} prediction"
    qtbot.waitUntil(lambda: name in viewer.layers, timeout=TIMEOUT_MS)
    layer = viewer.layers[name]
    assert is_prediction_pyramid(out)  # a small segment's pyramid is its one level
    np.testing.assert_array_equal(layer.data, np.asarray(prediction_levels(out)[0]))
    assert tuple(layer.contrast_limits) == (127, 255)  # the soft view, as the live overlay's
    assert (layer.colormap.name, layer.blending) == ("inferno", "additive")
    assert viewer.layers.index(layer) < viewer.layers.index(widget.labels.layer)
    assert viewer.layers.selection.active is widget.labels.layer  # the brush keeps painting
    assert panel.predict_button.isEnabled()
    assert not panel.cancel_button.isEnabled()
    assert panel.request is None
    assert any(f"written to {out}" in message for message in messages(shown))

    widget.loop_panel.threshold.setValue(50)  # the slider thresholds this layer too
    low, high = layer.contrast_limits
    assert low < 127.5 < high
    assert high - low <= 1
    widget.loop_panel.threshold.setValue(0)
    assert tuple(layer.contrast_limits) == (127, 255)


def test_a_float_zarr_prediction_replaces_the_pyramid_layer(predicting, qtbot):
    viewer, widget, panel = predicting
    segment = widget.labels.segment
    name = f"{segment.name} prediction"
    panel.predict_button.click()
    qtbot.waitUntil(lambda: name in viewer.layers, timeout=TIMEOUT_MS)
    layers = len(viewer.layers)
    panel.format.setCurrentText("zarr (float32)")
    assert panel.output_path().name == f"{segment.name}_prediction.zarr"
    assert panel.path_label.full_text().endswith("_prediction.zarr")

    panel.predict_button.click()

    qtbot.waitUntil(lambda: viewer.layers[name].data.dtype == np.float32, timeout=TIMEOUT_MS)
    assert len(viewer.layers) == layers
    assert viewer.layers[name].data.shape == segment.shape[1:]
    assert tuple(viewer.layers[name].contrast_limits) == pytest.approx((127 / 255, 1))
    assert panel.output_path().is_dir()


def test_a_chosen_file_takes_the_prediction_in_the_format_its_name_asks(
    predicting, monkeypatch, tmp_path
):
    from qtpy.QtWidgets import QFileDialog

    _, widget, panel = predicting
    chosen = tmp_path / "elsewhere" / "ink.tif"  # a read-only segment folder needs this
    chosen.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(chosen), ""))
    panel.choose_button.click()
    assert panel.output_path() == chosen
    assert panel.format.currentData() == "tif"
    assert panel.path_label.full_text() == f"Into\n{chosen}"
    panel.format.setCurrentText("PNG")  # the format still decides the ending
    assert panel.output_path() == chosen.with_suffix(".png")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))
    panel.choose_button.click()  # cancelled: nothing changes
    assert panel.output_path() == chosen.with_suffix(".png")
    panel.set_loop(widget.loop)  # a segment (re)bound: its own default again
    assert panel.output_path().parent != chosen.parent


def test_an_unwritable_output_is_refused_with_one_message(predicting, monkeypatch, tmp_path):
    _, _, panel = predicting
    missing = tmp_path / "missing" / "ink.png"
    monkeypatch.setattr(panel, "output_path", lambda: missing)
    shown = len(notification_manager.records)

    panel.predict_button.click()

    assert messages(shown) == [f"Ink Loop: {missing.parent}: folder does not exist"]
    assert panel.request is None
    assert panel.predict_button.isEnabled()


def test_a_failed_prediction_enables_the_button_again(predicting, qtbot, tmp_path):
    viewer, widget, panel = predicting
    missing = tmp_path / "missing.pt"
    widget.loop.settings = EngineSettings(model=tiny_model(), init=missing, tile=64)
    shown = len(notification_manager.records)

    panel.predict_button.click()

    qtbot.waitUntil(lambda: panel.request is None, timeout=TIMEOUT_MS)
    assert panel.predict_button.isEnabled()
    assert any("no such checkpoint file" in message for message in messages(shown))
    assert not [layer for layer in viewer.layers if layer.name.endswith(" prediction")]


def test_a_whole_segment_prediction_hides_the_live_one(predicting, monkeypatch, qtbot):
    from inkloop.engine import SegmentPredicted
    from inkloop.io import write_png

    viewer, widget, panel = predicting
    loop = widget.loop
    live = loop.prediction_layer()  # the view's preview, shown
    assert live.visible
    panel.format.setCurrentText("PNG")
    monkeypatch.setattr(loop, "predict_segment", lambda out, tta, replace: 5)  # answered below
    panel.predict_button.click()
    out = panel.output_path()
    write_png(out, np.full(widget.labels.segment.shape[1:], 200, np.uint8))
    shown = len(notification_manager.records)

    loop.changed.emit(SegmentPredicted(5, str(out), 1.0, 10))

    whole = viewer.layers[f"{widget.labels.segment.name} prediction"]
    assert whole.visible
    assert not live.visible  # two additive maps would add up to brighter ink than either
    assert any('the live "ink prediction" layer is hidden' in m for m in messages(shown))


def _held_here(path) -> bool:
    """Whether this process holds ``path`` open or mapped (Linux: /proc/self)."""
    inode = os.stat(path).st_ino
    held = [os.stat(fd.path) for fd in os.scandir("/proc/self/fd") if os.path.exists(fd.path)]
    mapped = Path("/proc/self/maps").read_text().split()
    return any(st.st_ino == inode for st in held) or str(inode) in mapped


def _replace_as_windows(monkeypatch) -> None:
    """os.replace refusing a target this process holds open, as Windows does."""
    real_replace = os.replace

    def replace(source, target, **kwargs):
        if os.path.exists(target) and _held_here(target):
            raise PermissionError(13, "in use (simulated Windows)", str(source), None, str(target))
        return real_replace(source, target, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def _finest(layer):
    return layer.data[0] if layer.multiscale else layer.data


@pytest.fixture
def answered(predicting, monkeypatch):
    """``predicting`` whose engine is played by the test: requests 5, 6, ... are started,
    and `_predicted` writes and announces what it finished."""
    _viewer, widget, _panel = predicting
    requests = iter(range(5, 10))
    monkeypatch.setattr(widget.loop, "predict_segment", lambda out, tta, replace: next(requests))
    return predicting


def _predicted(loop, out, value: float, request: int) -> None:
    """What the engine does for ``request``: write ``value`` all over ``out``, then say so."""
    from inkloop.engine import SegmentPredicted
    from inkloop.predict import write_prediction

    values = np.full(loop.labels.segment.shape[1:], value, np.float32)
    record = {"by": "tests"}  # as inkloop's own: replaced without a question
    write_prediction(da.from_array(values), out, progress=False, record=record)
    loop.changed.emit(SegmentPredicted(request, str(out), 1.0, 10))


@linux_only("/proc/self, to play Windows' refusal to replace a file held open")
@pytest.mark.parametrize("levels", [1, 2])
def test_a_tiff_shown_is_let_go_of_before_a_new_prediction_replaces_it(
    answered, monkeypatch, levels
):
    viewer, widget, panel = answered
    loop, name = widget.loop, f"{widget.labels.segment.name} prediction"
    # 2 levels: as a segment 2 x DISPLAY_LEVEL_MIN across, shown as a pyramid of strides
    monkeypatch.setattr(
        _pyramid, "DISPLAY_LEVEL_MIN", max(widget.labels.segment.shape[1:]) // levels
    )
    panel.format.setCurrentText(PREDICTION_FORMATS["tif"])
    out = panel.output_path()
    panel.predict_button.click()
    _predicted(loop, out, 0.2, 5)
    assert viewer.layers[name].multiscale == (levels > 1)
    np.asarray(_finest(viewer.layers[name])[:8, :8])  # drawn: the layer holds the file open
    assert _held_here(out)
    _replace_as_windows(monkeypatch)

    panel.predict_button.click()

    assert name not in viewer.layers
    (kept,) = out.parent.glob("*_prediction.saved-*.tif")  # kept, not replaced
    assert not _held_here(kept)
    _predicted(loop, out, 0.8, 6)  # the engine's move over the old file is allowed
    assert int(_finest(viewer.layers[name])[0, 0]) == 204


def test_a_layer_set_aside_for_a_prediction_that_failed_comes_back(answered):
    from inkloop.engine import Failed

    viewer, widget, panel = answered
    loop, name = widget.loop, f"{widget.labels.segment.name} prediction"
    panel.format.setCurrentText(PREDICTION_FORMATS["tif"])
    panel.predict_button.click()
    _predicted(loop, panel.output_path(), 0.2, 5)
    panel.predict_button.click()
    assert name not in viewer.layers

    loop.changed.emit(Failed("no room", 6))

    assert int(viewer.layers[name].data[0, 0]) == 51  # the old file, shown again
    assert viewer.layers.index(name) < viewer.layers.index(widget.labels.layer)


def test_a_tiff_the_new_prediction_could_not_replace_is_not_shown_again(answered, monkeypatch):
    """The error says to close and delete the old file: its layer must not open it again."""
    from inkloop.engine import Failed
    from inkloop.predict._placing import NotReplacedError

    viewer, widget, panel = answered
    loop, name = widget.loop, f"{widget.labels.segment.name} prediction"
    panel.format.setCurrentText(PREDICTION_FORMATS["tif"])
    out = panel.output_path()
    panel.predict_button.click()
    _predicted(loop, out, 0.2, 5)
    panel.predict_button.click()
    real_replace = os.replace

    def held_by_another_program(source, target, **kwargs):
        if os.fspath(target) == str(out):
            raise PermissionError(13, "Access is denied", os.fspath(source), None, str(out))
        return real_replace(source, target, **kwargs)

    monkeypatch.setattr(os, "replace", held_by_another_program)
    with pytest.raises(NotReplacedError) as refused:
        _predicted(loop, out, 0.8, 6)
    shown = len(notification_manager.records)

    loop.changed.emit(Failed(str(refused.value), 6))  # the loop says it (not played here)

    assert name not in viewer.layers
    assert messages(shown) == [
        f'Ink Loop: the layer "{name}" that showed {out.name} was closed, so that it can be '
        f"deleted; the new prediction is {out.name.replace('.tif', '.new.tif')}",
    ]
    assert panel.predict_button.isEnabled()


def test_a_pyramid_shown_stays_while_a_new_one_is_predicted_into_it(answered):
    """zarr holds no file open between reads: the old prediction stays in view meanwhile."""
    viewer, widget, panel = answered
    panel.predict_button.click()
    _predicted(widget.loop, panel.output_path(), 0.2, 5)
    panel.predict_button.click()
    assert f"{widget.labels.segment.name} prediction" in viewer.layers
