"""Composition: z-window, reversal, means/differences, percentile normalisation, patch reads."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import torch

from inkloop._image_windows import padded_window
from inkloop.compose import (
    Composition,
    Normalisation,
    compose_channels,
    downscale,
    read_patches,
    sample_normalisation,
)
from inkloop.io import Segment, open_segment
from inkloop.settings import Augmentations


def test_default_window_is_centred_on_the_middle_layer():
    assert Composition().resolve(65) == Composition("raw", 24, 16, 3, False)
    assert Composition("mean", mean_k=3).resolve(65).z_count == 15  # whole means only


@pytest.mark.parametrize(
    ("layers", "window"),
    [
        (65, (24, 16)),
        (24, (4, 16)),
        (20, (4, 12)),
        (16, (4, 8)),
        (13, (3, 6)),
        (8, (2, 4)),
        (5, (1, 2)),
        (3, (0, 2)),
    ],
)
def test_a_shallow_stack_leaves_room_for_the_z_jitter(layers, window):
    resolved = Composition().resolve(layers)
    assert (resolved.z_start, resolved.z_count) == window
    jittered = resolved.layer_indices(layers, margin=Augmentations().z_jitter)
    if layers >= 8:  # deep enough: every shifted window reads real, distinct layers
        assert len(set(jittered.tolist())) == len(jittered)


@pytest.mark.parametrize(
    ("composition", "layers", "message"),
    [
        (Composition(z_start=60, z_count=10), 65, "outside layers 0..64"),
        (Composition(z_count=70), 65, "does not fit in 65 layers"),
        (  # the 8-layer stack's default window is 4 layers: no mean of 10 fits
            Composition("mean", mean_k=10),
            8,
            r"^means of 10 layers \(mean_k, --mean-k\) do not fit in the default z-window of "
            r"4 layers of this 8-layer stack: choose a mean_k of at most 4$",
        ),
        (Composition("mean", mean_k=20), 65, "at most 16, or a z_count \\(--z-count\\) of 20$"),
    ],
)
def test_windows_that_do_not_fit_are_refused(composition, layers, message):
    with pytest.raises(ValueError, match=message):
        composition.resolve(layers)


def test_bad_settings_are_refused_when_made():
    with pytest.raises(ValueError, match="choose one of raw, mean, diff, raw\\+diff"):
        Composition("sum")
    with pytest.raises(ValueError, match="multiple of 3"):
        Composition("mean", z_count=16, mean_k=3)


@pytest.mark.parametrize(("mode", "channels"), [("raw", 12), ("mean", 4), ("diff", 11)])
def test_channel_counts(mode, channels):
    assert Composition(mode, z_count=12).resolve(20).in_channels == channels
    assert Composition("raw+diff", z_count=12).resolve(20).in_channels == 23


def test_layer_indices_reverse_then_window_with_clamped_margin():
    composition = Composition(z_start=1, z_count=3).resolve(6)
    assert composition.layer_indices(6).tolist() == [1, 2, 3]
    assert composition.layer_indices(6, margin=2).tolist() == [0, 0, 1, 2, 3, 4, 5]
    reverse = Composition(z_start=1, z_count=3, reverse=True).resolve(6)
    assert reverse.layer_indices(6).tolist() == [4, 3, 2]


def test_z_room_counts_only_the_real_layers_beside_the_window():
    assert Composition(z_start=2, z_count=4).z_room(10, 5) == (2, 4)
    assert Composition(z_start=6, z_count=4).z_room(10, 2) == (2, 0)  # at the stack's end


def test_compose_channels_match_numpy():
    rng = np.random.default_rng(0)
    raw = rng.random((2, 6, 5, 5)).astype(np.float32)
    tensor = torch.from_numpy(raw)
    diffs = np.abs(np.diff(raw, axis=1))
    means = raw.reshape(2, 2, 3, 5, 5).mean(axis=2)
    compose = {mode: Composition(mode, 0, 6, 3).resolve(6) for mode in ("raw", "mean", "diff")}
    np.testing.assert_allclose(compose_channels(tensor, compose["diff"]).numpy(), diffs)
    np.testing.assert_allclose(compose_channels(tensor, compose["mean"]).numpy(), means)
    assert compose_channels(tensor, compose["raw"]) is tensor
    both = compose_channels(tensor, Composition("raw+diff", 0, 6).resolve(6)).numpy()
    np.testing.assert_allclose(both, np.concatenate([raw, diffs], axis=1))


def test_read_patches_normalise_and_pad_past_the_edge(segment_folder):
    segment = open_segment(segment_folder)
    composition = Composition(z_start=2, z_count=4, reverse=True, scale=1)
    composition = composition.resolve(segment.shape[0])
    scale = Normalisation(low=1000.0, high=41000.0)
    patches = read_patches(segment, composition, scale, [(-8, 80), (5, 7)], size=32, margin=1)
    assert patches.shape == (2, 6, 32, 32)
    assert patches.dtype == np.float32
    volume = np.asarray(segment.volume)
    expected = np.clip((volume[[6, 5, 4, 3, 2, 1], :24, 80:96] - 1000.0) / 40000.0, 0, 1)
    patch = patches[0]
    np.testing.assert_allclose(patch[:, 8:, :16], expected, rtol=1e-6)
    inside = np.clip((volume[[6, 5, 4, 3, 2, 1], 5:37, 7:39] - 1000.0) / 40000.0, 0, 1)
    np.testing.assert_allclose(patches[1], inside, rtol=1e-6)
    assert not patch[:, :8].any()  # above the image
    assert not patch[:, :, 16:].any()  # right of the image


def test_half_resolution_reads_the_means_of_pixel_squares(segment_folder):
    segment = open_segment(segment_folder)
    full = Composition(z_count=4, scale=1).resolve(segment.shape[0])
    half = Composition(z_count=4, scale=2).resolve(segment.shape[0])
    scale = Normalisation(low=1000.0, high=41000.0)
    (patch,) = read_patches(segment, half, scale, [(-8, 80)], size=32, margin=1)
    assert patch.shape == (6, 16, 16)
    (reference,) = read_patches(segment, full, scale, [(-8, 80)], size=32, margin=1)
    np.testing.assert_allclose(
        patch[:, 5, 3], reference[:, 10:12, 6:8].mean(axis=(1, 2)), rtol=1e-6
    )
    with pytest.raises(ValueError, match="do not split into 2 x 2"):
        read_patches(segment, half, scale, [(0, 0)], size=33)
    with pytest.raises(ValueError, match="scale 3 is not one of 1, 2, 4"):
        Composition(scale=3)


def test_downscale_keeps_soft_labels_and_coverage():
    ink = np.array([[255, 255, 0, 0], [255, 0, 0, 0]], np.float32)
    np.testing.assert_allclose(downscale(ink, 2), [[191.25, 0]])
    labelled = np.array([[True, True, True, False], [False, False, False, False]])
    np.testing.assert_allclose(downscale(labelled, 2), [[0.5, 0.25]])


class _CountingLayers:
    """An array that records which 16 x 16 blocks are read."""

    def __init__(self, volume: np.ndarray) -> None:
        self.volume, self.shape, self.dtype, self.ndim = volume, volume.shape, volume.dtype, 3
        self.blocks: set = set()

    def __getitem__(self, key):
        z, y, x = key
        self.blocks.add((z.start, y.start, x.start))
        return self.volume[key]


def test_normalisation_samples_a_few_windows_inside_the_papyrus():
    from inkloop.synthetic import make_segment

    synthetic = make_segment(512, 512, 8, seed=4)
    layers = _CountingLayers(synthetic.volume)
    segment = Segment(
        name="counting",
        path=".",
        format="test",
        volume=da.from_array(layers, chunks=(1, 16, 16), asarray=False),
        mask=da.from_array(synthetic.mask),
    )
    composition = Composition(z_count=8).resolve(8)
    scale = sample_normalisation(segment, composition, windows=4, size=64)
    assert len(layers.blocks) < 8 * 32 * 32 / 8  # well under an eighth of the stack was read
    papyrus = synthetic.volume[:, synthetic.mask]
    low, high = np.percentile(papyrus, [1, 99])
    assert abs(scale.low - low) < 0.05 * (high - low)
    assert abs(scale.high - high) < 0.05 * (high - low)
    assert sample_normalisation(segment, composition, windows=4, size=64) == scale  # repeatable


@pytest.mark.parametrize(("dtype", "spread"), [(np.float32, (0.3, 0.6)), (np.uint16, (3, 9))])
def test_normalisation_keeps_a_narrow_range_of_values_as_it_is(dtype, spread):
    values = np.resize(np.array(spread, dtype), (8, 64, 64))  # low, high, low, … in every row
    segment = Segment(name="narrow", path=".", format="test", volume=da.from_array(values))
    composition = Composition(z_count=8).resolve(8)

    scale = sample_normalisation(segment, composition, windows=4, size=64, percentiles=(0, 100))

    assert (scale.low, scale.high) == pytest.approx(spread, rel=1e-6)
    assert scale.apply(values).max() == pytest.approx(1.0)


def test_windows_wholly_off_the_image_read_as_zeros(segment_folder):
    segment = open_segment(segment_folder)
    composition = Composition(z_count=4, scale=1).resolve(segment.shape[0])
    scale = Normalisation(low=1000.0, high=41000.0)
    height, width = segment.shape[1:]

    for y, x in [(-100, 8), (height + 5, 8), (8, -100), (8, width + 5)]:
        (patch,) = read_patches(segment, composition, scale, [(y, x)], size=32)
        assert patch.shape == (4, 32, 32)
        assert not patch.any()
        assert not padded_window(np.ones((height, width), bool), y, x, 32).any()
