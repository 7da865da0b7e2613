"""Intensity scaling of unusual but valid data (r3 F1-F4): NaN "no data" in float layers, a
segment smaller than the sample window without a mask, a blank layer in the window, a stack
of one layer."""

from __future__ import annotations

import dataclasses
import warnings

import dask.array as da
import numpy as np
import pytest

from inkloop._notify import InkloopWarning
from inkloop.compose import Composition, Normalisation, read_patches, sample_normalisation
from inkloop.io import Segment
from tests._helpers import tiny_model

WINDOW = Composition(z_count=8).resolve(8)
SAMPLED = WINDOW.layer_indices(8)[::2]  # the layers sample_normalisation reads: 0, 2, 4, 6


def _segment(volume: np.ndarray, **fields) -> Segment:
    return Segment(name="odd", path=".", format="test", volume=da.from_array(volume), **fields)


def _stack(height: int, width: int, dtype=np.uint16, low: int = 17000) -> np.ndarray:
    """8 layers of distinct values from ``low`` up, every layer spread over 24000 values."""
    values = np.random.default_rng(0).integers(0, 24000, (8, height, width)) + low
    return values.astype(dtype)


def _scaled_by(scale: Normalisation, values: np.ndarray) -> bool:
    """Whether ``scale`` is the 1st-99th percentile range of ``values``."""
    return (scale.low, scale.high) == pytest.approx(tuple(np.percentile(values, [1, 99])))


def test_nan_in_float_layers_is_left_out_of_the_scaling_and_reads_as_the_darkest_value():
    volume = _stack(64, 80, np.float32)
    volume[:, 10:20, 30:50] = np.nan  # "no data", as float pipelines mark air
    segment = _segment(volume)

    with pytest.warns(InkloopWarning, match=r"odd: NaN \(no data\) pixels .* darkest value"):
        scale = sample_normalisation(segment, WINDOW, windows=1)
    (patch,) = read_patches(segment, WINDOW, scale, [(0, 0)], size=64)

    sampled = volume[SAMPLED]
    assert _scaled_by(scale, sampled[np.isfinite(sampled)])
    assert np.isfinite(patch).all()
    assert not patch[:, 10:20, 30:50].any()  # 0, the darkest value
    seen = volume[:, :, :64]
    scaled = np.clip((seen - scale.low) / (scale.high - scale.low), 0, 1)
    np.testing.assert_allclose(patch[np.isfinite(seen)], scaled[np.isfinite(seen)], atol=1e-6)


def test_a_prediction_reads_nan_pixels_as_dark_and_stays_finite_around_them():
    from inkloop.model import build_model
    from inkloop.predict import Predictor

    volume = _stack(64, 96, np.float32)
    volume[:, 20:30, 40:50] = np.nan
    model = build_model(dataclasses.replace(tiny_model(), in_channels=8)).eval()
    predictor = Predictor(model, WINDOW, Normalisation(17000.0, 41000.0), tile=32, overlap=8)

    probability = predictor.predict_region(_segment(volume), (0, 0, 64, 96))

    assert np.isfinite(probability).all()


@pytest.mark.parametrize(("dtype", "low"), [(np.uint16, 17000), (np.int16, -2667)])
def test_a_segment_smaller_than_the_sample_window_without_a_mask_is_scaled_by_its_pixels(
    dtype, low
):
    volume = _stack(40, 50, dtype, low)  # the 256² window is mostly zero padding past its edge

    scale = sample_normalisation(_segment(volume), WINDOW, windows=1)

    assert _scaled_by(scale, volume[SAMPLED])


def test_a_blank_layer_is_left_out_of_the_scaling_and_named_once():
    volume = _stack(64, 80)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InkloopWarning)  # healthy layers: not a word
        healthy = sample_normalisation(_segment(volume), WINDOW, windows=1)
    volume[2] = 0  # a blank layer in the window
    numbered = {"layer_numbers": tuple(range(1, 9))}  # files 01..08

    with pytest.warns(InkloopWarning) as said:
        scale = sample_normalisation(_segment(volume, **numbered), WINDOW, windows=1)

    assert [str(w.message) for w in said] == [
        "odd: layer 2 (file 3) is blank (all 0) where sampled: left out of the intensity "
        "scaling; choose a z-window without it"
    ]
    assert _scaled_by(scale, volume[[0, 4, 6]])
    assert scale != healthy


def test_a_one_layer_segment_is_told_it_has_one_layer_and_what_to_open():
    message = "the segment has 1 layer and a model reads at least 2: open the segment's whole"
    with pytest.raises(ValueError, match=message):
        Composition().resolve(1)
    with pytest.raises(ValueError, match=message):
        Composition(z_count=2).resolve(1)
