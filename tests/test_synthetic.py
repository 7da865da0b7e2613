"""Synthetic segments: deterministic, papyrus-like, and ink that needs several layers to find."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from inkloop.io import open_segment, read_label_image, sample_segment_path, sample_truth_path
from inkloop.synthetic import make_segment, write_segment
from tests._helpers import best_threshold_f05


@pytest.fixture(scope="module")
def hard_case():
    return make_segment(384, 384, 16, seed=11)


def test_same_seed_same_segment_other_seed_other_segment():
    first, again = make_segment(64, 64, 6, seed=5), make_segment(64, 64, 6, seed=5)
    other = make_segment(64, 64, 6, seed=6)

    np.testing.assert_array_equal(first.volume, again.volume)
    np.testing.assert_array_equal(first.ink, again.ink)
    assert not np.array_equal(first.volume, other.volume)


def test_shapes_dtypes_and_value_ranges(synthetic):
    assert synthetic.volume.shape == (8, 64, 96)
    assert synthetic.volume.dtype == np.uint16
    assert synthetic.ink.shape == (64, 96)
    assert synthetic.ink.dtype == np.float32
    assert synthetic.ink.min() >= 0
    assert synthetic.ink.max() <= 1
    assert not synthetic.ink[~synthetic.mask].any()  # ink only on papyrus


def test_mask_is_a_papyrus_region_with_holes(hard_case):
    mask = hard_case.mask
    filled = ndimage.binary_fill_holes(mask)
    assert 0.5 < mask.mean() < 0.95
    assert (filled & ~mask).sum() > 100  # enclosed holes, not only a ragged border


def test_intensity_follows_depth_and_ink_lives_in_middle_layers(hard_case):
    volume, ink, mask = hard_case.volume.astype(np.float32), hard_case.ink > 0.5, hard_case.mask
    papyrus_mean = [layer[mask].mean() for layer in volume]
    assert papyrus_mean[0] < 0.5 * max(papyrus_mean)
    assert papyrus_mean[-1] < 0.5 * max(papyrus_mean)
    contrast = [layer[ink & mask].mean() - layer[~ink & mask].mean() for layer in volume]
    peak = int(np.argmax(contrast))
    assert 5 <= peak <= 10  # the ink band sits around the middle layer
    assert contrast[0] < 0.2 * contrast[peak]
    assert contrast[-1] < 0.2 * contrast[peak]


def test_fibres_run_horizontally_on_top_and_vertically_below(hard_case):
    def anisotropy(layer):  # > 1: smoother along x than along y, i.e. horizontal fibres
        return np.abs(np.diff(layer, axis=0)).mean() / np.abs(np.diff(layer, axis=1)).mean()

    crop = hard_case.volume[:, 96:288, 96:288].astype(np.float32)
    assert anisotropy(crop[6]) > 1.1
    assert anisotropy(crop[10]) < 0.9


def test_ink_is_not_recoverable_from_any_single_layer_but_from_several(hard_case):
    volume, ink, mask = hard_case.volume.astype(np.float32), hard_case.ink > 0.5, hard_case.mask
    single = [best_threshold_f05(layer[mask], ink[mask]) for layer in volume]
    assert max(single) < 0.3

    # A linear model over all (smoothed, depth-normalised) layers, fitted on a checkerboard of
    # 48-px blocks and scored on the other blocks
    smooth = ndimage.gaussian_filter(volume, (0, 2, 2))
    features = (smooth / smooth.mean(axis=0, keepdims=True)).reshape(len(volume), -1).T
    features = np.c_[features, np.ones(len(features))]
    rows, cols = np.indices(mask.shape)
    fit_blocks = (rows // 48 + cols // 48) % 2 == 0
    train = (fit_blocks & mask).ravel()
    weights = np.linalg.lstsq(features[train], ink.ravel()[train], rcond=None)[0]
    score = (features @ weights).reshape(mask.shape)
    test = ~fit_blocks & mask
    assert best_threshold_f05(score[test], ink[test]) > 0.5


def test_reversed_segment_is_the_same_stack_back_to_front():
    forward = make_segment(48, 48, 6, seed=2)
    backward = make_segment(48, 48, 6, seed=2, reverse=True)
    np.testing.assert_array_equal(forward.volume[::-1], backward.volume)


def test_written_segment_round_trips_in_vesuvius_layout(tmp_path):
    expected = make_segment(64, 80, 12, seed=4, dtype="uint8")
    folder = write_segment(tmp_path / "seg", 64, 80, 12, seed=4, dtype="uint8", compression="zlib")

    assert sorted(p.name for p in folder.iterdir()) == [
        "layers",
        "seg_inklabels.png",
        "seg_mask.png",
    ]
    assert (folder / "layers" / "00.tif").exists()
    assert (folder / "layers" / "11.tif").exists()
    segment = open_segment(folder)
    np.testing.assert_array_equal(segment.volume.compute(), expected.volume)
    np.testing.assert_array_equal(segment.mask.compute(), expected.mask)


def test_bundled_sample_is_what_its_command_makes(tmp_path):
    sample = open_segment(sample_segment_path())
    command = (sample_segment_path().parent / "README.md").read_text()
    options = "--height 768 --width 768 --layers 16 --seed 7 --dtype uint8 --compression zlib"
    assert f"{options} --ink-contrast 0.25 --demo-strokes" in command

    fresh = make_segment(768, 768, 16, seed=7, dtype="uint8", ink_contrast=0.25)

    assert sample.shape == fresh.volume.shape
    np.testing.assert_array_equal(sample.volume.compute(), fresh.volume)
    truth = read_label_image(sample_truth_path(), fresh.ink.shape, ink=True)
    np.testing.assert_array_equal(truth, (fresh.ink > 0.5) * 255)
    size = sum(p.stat().st_size for p in sample_segment_path().rglob("*") if p.is_file())
    assert size < 8e6
