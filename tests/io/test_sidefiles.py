"""Side files: one place decides their names, folders and the formats of predictions."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from inkloop.io import (
    checkpoint_path,
    label_paths,
    open_segment,
    prediction_output,
    prediction_path,
    read_prediction,
    write_png,
)


def test_side_files_sit_beside_the_mask_named_after_the_segment(segment_folder):
    segment = open_segment(segment_folder)
    name = segment.name
    assert label_paths(segment) == (
        segment_folder / f"{name}_inklabels.png",
        segment_folder / f"{name}_supervision_mask.png",
    )
    assert label_paths(segment, autosave=True)[1].name == f"{name}_supervision_mask.autosave.png"
    assert prediction_path(segment, "zarr") == segment_folder / f"{name}_prediction.zarr"
    assert checkpoint_path(segment) == segment_folder / f"{name}_inkloop_model.pt"
    with pytest.raises(ValueError, match=r"format 'jpg'; choose one of ome\.zarr"):
        prediction_path(segment, "jpg")


def test_prediction_outputs_are_checked_before_any_work(tmp_path):
    assert prediction_output(tmp_path / "ink.png", "tif") == tmp_path / "ink.tif"
    with pytest.raises(ValueError, match=r"ink\.jpg: the output must end in \.ome\.zarr, \.png"):
        prediction_output(tmp_path / "ink.jpg")
    with pytest.raises(ValueError, match="missing"):
        prediction_output(tmp_path / "missing" / "ink.png")


def test_predictions_read_back_as_probabilities(tmp_path):
    write_png(tmp_path / "ink.png", np.array([[0, 255]], np.uint8))
    np.testing.assert_allclose(read_prediction(tmp_path / "ink.png"), [[0, 1]])
    zarr.save_array(str(tmp_path / "ink.zarr"), np.array([[0.25, 0.5]], np.float32))
    np.testing.assert_allclose(read_prediction(tmp_path / "ink.zarr"), [[0.25, 0.5]])
    with pytest.raises(FileNotFoundError, match="no such prediction"):
        read_prediction(tmp_path / "gone.tif")
