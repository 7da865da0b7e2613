"""Augmentations: labels move with the images; z-augmentations pick the right layers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inkloop.compose import Composition
from inkloop.settings import Augmentations
from inkloop.train import augment_batch

SPATIAL_ONLY = Augmentations(
    brightness_contrast=0, blur=0, noise=0, dropout=0, z_jitter=0, order_jitter=0
)
Z_ONLY = Augmentations(flips=False, rot90=False, brightness_contrast=0, blur=0, noise=0, dropout=0)


def _asymmetric_batch(batch=16, size=32, layers=4):
    """Layers that all show the label pattern, which has no rotational or mirror symmetry."""
    ink = torch.zeros(batch, size, size)
    ink[:, 3:9, 5:20] = 1.0
    ink[:, 9:25, 5:9] = 0.5
    weight = torch.zeros(batch, size, size, dtype=torch.bool)
    weight[:, :16, :20] = True
    stack = ink[:, None].repeat(1, layers, 1, 1) + torch.arange(layers)[None, :, None, None]
    return stack, ink, weight


def test_flips_and_rotations_move_labels_with_the_image():
    layers, ink, weight = _asymmetric_batch()
    composition = Composition(z_start=0, z_count=4).resolve(4)
    rng = np.random.default_rng(0)
    inputs, ink_out, weight_out = augment_batch(layers, ink, weight, composition, SPATIAL_ONLY, rng)
    assert inputs.shape == (16, 4, 32, 32)
    for i in range(16):
        torch.testing.assert_close(inputs[i, 0], ink_out[i])  # layer 0 is the label pattern
        torch.testing.assert_close(inputs[i, 2], ink_out[i] + 2)
        assert weight_out[i].sum() == weight[i].sum()
        assert ink_out[i][weight_out[i]].sum() == ink[i][weight[i]].sum()
    orientations = {tuple(ink_out[i].flatten().tolist()) for i in range(16)}
    assert len(orientations) > 4  # the eight orientations are actually used


def test_dropout_and_intensity_change_the_image_only():
    layers, ink, weight = _asymmetric_batch()
    composition = Composition(z_start=0, z_count=4).resolve(4)
    harsh = Augmentations(flips=False, rot90=False, dropout=1.0, blur=1.0, z_jitter=0)
    inputs, ink_out, weight_out = augment_batch(
        layers, ink, weight, composition, harsh, np.random.default_rng(1)
    )
    assert torch.equal(ink_out, ink)
    assert torch.equal(weight_out, weight)
    blanked = (inputs == 0).all(dim=1)
    assert blanked.flatten(1).any(dim=1).all()  # every sample has a dropped rectangle


def test_z_jitter_takes_a_contiguous_window_within_the_margin():
    z_count, margin = 6, 2
    layers = torch.arange(z_count + 2 * margin, dtype=torch.float32)[None, :, None, None]
    layers = layers.repeat(64, 1, 4, 4)
    ink, weight = torch.zeros(64, 4, 4), torch.ones(64, 4, 4, dtype=torch.bool)
    composition = Composition(z_start=0, z_count=z_count).resolve(z_count)
    aug = Augmentations(**{**Z_ONLY.to_dict(), "order_jitter": 0.0, "z_jitter": margin})
    inputs, _, _ = augment_batch(layers, ink, weight, composition, aug, np.random.default_rng(2))
    picked = inputs[:, :, 0, 0]
    first = picked[:, 0]
    assert torch.equal(picked, first[:, None] + torch.arange(z_count))
    assert set(first.tolist()) == {0.0, 1.0, 2.0, 3.0, 4.0}


@pytest.mark.parametrize(("z_start", "reverse"), [(0, False), (1, False), (0, True)])
def test_z_jitter_at_the_stack_edge_stays_on_real_layers(z_start, reverse):
    """A window at the edge reads repeats of the edge layer: the jitter must not pick them."""
    n_layers, z_count, margin = 8, 5, 2
    composition = Composition(z_start=z_start, z_count=z_count, reverse=reverse).resolve(n_layers)
    read = composition.layer_indices(n_layers, margin)  # what read_patches reads, clamped
    layers = torch.as_tensor(read, dtype=torch.float32)[None, :, None, None].repeat(64, 1, 2, 2)
    ink, weight = torch.zeros(64, 2, 2), torch.ones(64, 2, 2, dtype=torch.bool)
    aug = Augmentations(**{**Z_ONLY.to_dict(), "order_jitter": 0.0, "z_jitter": margin})
    room = composition.z_room(n_layers, margin)
    inputs, _, _ = augment_batch(
        layers, ink, weight, composition, aug, np.random.default_rng(0), room
    )
    windows = {tuple(row) for row in inputs[:, :, 0, 0].long().tolist()}
    step = -1 if reverse else 1
    starts = {window[0] for window in windows}
    assert all(len(set(window)) == z_count for window in windows)  # no layer read twice
    assert all(list(w) == [w[0] + step * i for i in range(z_count)] for w in windows)
    first = read[margin]  # the window's own first layer, with no shift
    expected = {first + step * shift for shift in range(-room[0], room[1] + 1)}
    assert starts == expected
    assert room == (min(margin, z_start), min(margin, n_layers - z_count - z_start))


def test_order_jitter_swaps_neighbours_and_reversal_flips_the_stack():
    layers = torch.arange(8, dtype=torch.float32)[None, :, None, None].repeat(200, 1, 2, 2)
    ink, weight = torch.zeros(200, 2, 2), torch.ones(200, 2, 2, dtype=torch.bool)
    composition = Composition(z_start=0, z_count=8).resolve(8)
    aug = Augmentations(**{**Z_ONLY.to_dict(), "z_jitter": 0, "order_jitter": 0.3})
    picked = augment_batch(layers, ink, weight, composition, aug, np.random.default_rng(3))[0]
    picked = picked[:, :, 0, 0]
    assert torch.equal(picked.sort(dim=1).values, torch.arange(8.0).expand(200, 8))
    assert (picked - torch.arange(8.0)).abs().max() == 1  # moved, but only by one place
    assert (picked != torch.arange(8.0)).any(dim=1).float().mean() > 0.5
    reverse = Augmentations(
        **{**Z_ONLY.to_dict(), "z_jitter": 0, "order_jitter": 0, "reversal": 1.0}
    )
    picked = augment_batch(layers, ink, weight, composition, reverse, np.random.default_rng(4))[0]
    assert torch.equal(picked[:, :, 0, 0], torch.arange(7.0, -1, -1).expand(200, 8))


@pytest.mark.parametrize("mode", ["mean", "diff", "raw+diff"])
def test_composition_runs_after_the_z_augmentations(mode):
    layers = torch.rand(4, 10, 8, 8)
    composition = Composition(mode, z_start=0, z_count=6).resolve(6)
    inputs, _, _ = augment_batch(
        layers,
        torch.zeros(4, 8, 8),
        torch.ones(4, 8, 8, dtype=torch.bool),
        composition,
        Augmentations(),
        np.random.default_rng(5),
    )
    assert inputs.shape == (4, composition.in_channels, 8, 8)


def test_each_orientation_is_the_rotation_of_the_flip_it_stands_for():
    from inkloop.train._augment import _DIHEDRAL

    image = torch.arange(12.0).reshape(1, 1, 3, 4)[..., :3]  # square, no symmetry
    seen = set()
    for (flip, turns), (transpose, flip_rows, flip_cols) in _DIHEDRAL.items():
        moved = image.transpose(-2, -1) if transpose else image
        moved = moved.flip(-2) if flip_rows else moved
        moved = moved.flip(-1) if flip_cols else moved
        expected = torch.rot90(image.flip(-1) if flip else image, turns, dims=(-2, -1))
        assert torch.equal(moved, expected), (flip, turns)
        seen.add(tuple(moved.flatten().tolist()))
    assert len(seen) == 8


def test_blur_matches_torchvision_with_each_samples_own_sigma():
    from torchvision.transforms.v2.functional import gaussian_blur

    from inkloop.train._augment import _blur

    layers = torch.rand(3, 4, 16, 16, generator=torch.Generator().manual_seed(0))
    sigmas = np.array([0.5, 1.0, 1.5])
    blurred = _blur(layers, sigmas)
    for sample, sigma, result in zip(layers, sigmas, blurred, strict=True):
        expected = gaussian_blur(sample, [5, 5], [float(sigma)] * 2)
        torch.testing.assert_close(result, expected, atol=1e-6, rtol=0)


def test_a_bigger_batch_takes_no_more_tensor_operations():
    """What a GPU step waits on is launches: no augmentation may loop over the samples."""
    every = Augmentations(blur=1.0, dropout=1.0, noise=0.04, order_jitter=0.5, reversal=0.5)
    composition = Composition(z_start=0, z_count=4).resolve(8)

    def operations(batch: int) -> int:
        layers = torch.rand(batch, 8, 32, 32)
        ink, weight = torch.rand(batch, 32, 32), torch.ones(batch, 32, 32, dtype=torch.bool)
        rng = np.random.default_rng(7)
        with torch.profiler.profile() as profile:
            augment_batch(layers, ink, weight, composition, every, rng)
        return sum(1 for event in profile.events() if event.cpu_parent is None)

    assert operations(64) == operations(8)
