"""Unusual but valid segments in napari (r3 F1, F4): float layers with NaN "no data" open
with their labels; a one-layer segment cannot be finetuned."""

from __future__ import annotations

import numpy as np
import tifffile

from inkloop._napari._segment_panel import TOO_SHALLOW


def test_float_layers_with_nan_open_with_a_finite_contrast_and_their_labels(
    make_napari_viewer, tmp_path
):
    (tmp_path / "nan" / "layers").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for z in range(4):
        layer = rng.uniform(0.3, 0.6, (48, 64)).astype(np.float32)
        layer[:, 50:] = np.nan  # outside the mesh
        tifffile.imwrite(tmp_path / "nan" / "layers" / f"{z:02d}.tif", layer)
    viewer = make_napari_viewer()

    volume, labels = viewer.open(str(tmp_path / "nan"), plugin="napari-inkloop")

    low, high = volume.contrast_limits
    assert 0.3 <= low < high <= 0.6
    assert labels.name == "ink labels"


def test_finetune_is_off_for_a_one_layer_segment(open_in_dock, tmp_path):
    folder = tmp_path / "flat"
    (folder / "layers").mkdir(parents=True)
    layer = np.arange(48 * 64, dtype=np.uint16).reshape(48, 64)
    tifffile.imwrite(folder / "layers" / "00.tif", layer)

    _, widget = open_in_dock(folder)

    assert widget.segment_panel.window.summary.text() == TOO_SHALLOW
    assert not widget.loop_panel.finetune_button.isEnabled()
    assert widget.loop_panel.finetune_button.toolTip() == TOO_SHALLOW
