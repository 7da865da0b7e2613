"""Prediction: seamless blending, papyrus-only tiles, TTA, viewport order, stopping, dask."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inkloop.compose import Composition, Normalisation
from inkloop.io import open_segment
from inkloop.model import build_model
from inkloop.predict import Predictor, predict_segment, tile_corners
from tests._helpers import FULL_RESOLUTION, tiny_model

SCALE = Normalisation(1000.0, 40000.0)


class Constant(torch.nn.Module):
    """Outputs the same logit everywhere and counts the tiles it sees."""

    def __init__(self, probability: float) -> None:
        super().__init__()
        self.logit = torch.nn.Parameter(torch.tensor(np.log(probability / (1 - probability))))
        self.tiles = 0
        self.sides: set[int] = set()

    def forward(self, inputs):
        self.tiles += len(inputs)
        self.sides.update(inputs.shape[-2:])
        return self.logit.expand(len(inputs), 1, *inputs.shape[-2:])


def _composition(segment):
    return FULL_RESOLUTION.resolve(segment.shape[0])


@pytest.mark.parametrize(
    "region",
    [(0, 0, 96, 128), (5, 7, 61, 90), (40, 100, 96, 128), (0, 0, 33, 17), (95, 127, 96, 128)],
)
def test_a_constant_model_gives_a_constant_map_without_seams(segment, region):
    predictor = Predictor(Constant(0.7), _composition(segment), SCALE, tile=32, overlap=8)
    probability = predictor.predict_region(segment, region)
    assert probability.shape == (region[2] - region[0], region[3] - region[1])
    np.testing.assert_allclose(probability, 0.7, atol=1e-6)


class Ramp(torch.nn.Module):
    """A logit that climbs from -3 to 3 across every tile (a model biased towards its tiles'
    edges, exaggerated): overlapping tiles disagree, by up to 0.79 in probability."""

    def __init__(self) -> None:
        super().__init__()
        self.shift = torch.nn.Parameter(torch.zeros(()))  # where the predictor finds its device

    def forward(self, inputs):
        n, _, height, width = inputs.shape
        return torch.linspace(-3, 3, width).expand(n, 1, height, width) + self.shift


def test_tiles_that_disagree_are_cross_faded_without_a_seam(segment):
    tile, overlap = 32, 8  # the segment's 128 columns are 5 tiles, each overlapping the next
    predictor = Predictor(Ramp(), _composition(segment), SCALE, tile=tile, overlap=overlap)
    probability = predictor.predict_region(segment, (0, 0, *segment.shape[1:]))

    within_a_tile = torch.sigmoid(torch.linspace(-3, 3, tile)).numpy()
    left, right = within_a_tile[tile - overlap :], within_a_tile[:overlap]  # in the overlap
    disagreement = np.abs(left - right).max()
    # a fade from one tile to the next at most twice as steep as a linear one (no seam), atop
    # the ramp's own steps; a plain average would jump by half the disagreement at the edge
    bound = 2 * disagreement / overlap + np.diff(within_a_tile).max()
    assert np.abs(np.diff(probability, axis=1)).max() < bound < disagreement / 2


def test_the_logit_offset_is_taken_off_before_the_sigmoid(segment):
    offset = float(np.log(0.7 / 0.3))  # a model that says 0.7 where its labels' mix says 0.5
    predictor = Predictor(
        Constant(0.7), _composition(segment), SCALE, tile=32, overlap=8, logit_offset=offset
    )
    np.testing.assert_allclose(predictor.predict_region(segment, (0, 0, 40, 50)), 0.5, atol=1e-6)


def test_tiles_without_papyrus_are_skipped_and_stay_zero(segment):
    mask = np.zeros(segment.shape[1:], bool)
    mask[:, :40] = True
    model = Constant(0.9)
    predictor = Predictor(model, _composition(segment), SCALE, tile=32, overlap=0)
    probability = predictor.predict_region(segment, (0, 0, 96, 128), mask)
    assert model.tiles == 3 * 2  # columns 0-31 and 32-63 touch the papyrus, 64-127 do not
    np.testing.assert_allclose(probability[:, :40], 0.9, atol=1e-6)
    assert not probability[:, 40:].any()


def test_tta_makes_predictions_follow_flips_and_rotations(segment):
    torch.manual_seed(0)
    network = build_model(_tiny(8)).eval()
    predictor = Predictor(network, _composition(segment), SCALE, tta=True)
    inputs = torch.rand(1, 8, 64, 64)
    turned = predictor.forward(torch.rot90(inputs.flip(-1), 1, dims=(-2, -1)))
    expected = np.rot90(predictor.forward(inputs)[:, :, ::-1], 1, axes=(-2, -1))
    # within bf16's rounding, where the CPU predicts in bf16 (`inkloop.model.autocast`)
    np.testing.assert_allclose(turned, expected, atol=1e-3)
    plain = Predictor(network, _composition(segment), SCALE, tta=False)
    assert not np.allclose(
        plain.forward(torch.rot90(inputs, 1, dims=(-2, -1))),
        np.rot90(plain.forward(inputs), 1, axes=(-2, -1)),
        atol=1e-3,
    )


def test_tta_on_a_symmetric_input_gives_a_symmetric_map(segment):
    torch.manual_seed(1)
    predictor = Predictor(build_model(_tiny(8)).eval(), _composition(segment), SCALE, tta=True)
    grid = torch.linspace(-1, 1, 64)
    radial = (grid[:, None] ** 2 + grid[None, :] ** 2).expand(1, 8, 64, 64)
    probability = predictor.forward(radial)[0]
    np.testing.assert_allclose(probability, probability.T, atol=1e-5)
    np.testing.assert_allclose(probability, probability[::-1], atol=1e-5)


def test_the_viewport_centre_comes_first_and_streams_can_stop(segment):
    predictor = Predictor(
        Constant(0.5), _composition(segment), SCALE, tile=32, overlap=0, batch_size=1
    )
    region = (0, 0, 96, 128)
    corners = tile_corners(region, segment.shape[1:], 32, 0)
    assert corners[0] in [(32, 32), (32, 64)]  # the two tiles nearest the centre (48, 64)
    updates = list(predictor.stream(segment, region))
    assert len(updates) == 12
    first = updates[0]
    assert first.box[0] <= 48 <= first.box[2]
    assert (first.tiles_done, first.tiles_total) == (1, 12)
    seen = []
    stopped = predictor.stream(segment, region, should_stop=lambda: len(seen) >= 2)
    for update in stopped:
        seen.append(update)
    assert len(seen) == 2


def test_whole_segment_by_dask_blocks_equals_one_region(tmp_path):
    from inkloop.synthetic import write_segment

    segment = open_segment(write_segment(tmp_path / "seg", 300, 530, 8, seed=2))
    mask = np.asarray(segment.mask)
    torch.manual_seed(2)
    predictor = Predictor(
        build_model(_tiny(4)).eval(), _composition(segment), SCALE, tile=64, overlap=16
    )
    whole = predictor.predict_region(segment, (0, 0, 300, 530), mask)
    blocks = predict_segment(predictor, segment, mask, block=256)
    assert blocks.chunks == ((256, 44), (256, 256, 18))
    np.testing.assert_allclose(blocks.compute(scheduler="threads"), whole, atol=1e-5)
    part = predict_segment(predictor, segment, mask, region=(100, 200, 300, 530), block=256)
    np.testing.assert_allclose(part.compute(), whole[100:, 200:], atol=1e-5)


def _tiny(channels: int):
    config = tiny_model()
    return type(config)(config.encoder, config.decoder_channels, channels)


def test_blend_weights_cross_fade_in_the_overlap_only():
    from inkloop.predict import blend_window

    window = blend_window(64, 16)
    np.testing.assert_allclose(window, window.T)
    np.testing.assert_allclose(window, window[::-1, ::-1])
    assert (window[16:48, 16:48] == 1).all()
    assert window[0, 32] < 0.01
    edge = window[32, :16]
    assert (np.diff(edge) > 0).all()
    # two tiles overlapping by 16 px: their weights sum to 1 across the band
    np.testing.assert_allclose(window[32, 48:] + window[32, :16], 1, atol=1e-6)
    assert window.min() > 0


def test_a_half_resolution_model_spans_twice_the_image_pixels(segment):
    half = Composition(scale=2).resolve(segment.shape[0])
    model = Constant(0.3)
    predictor = Predictor(model, half, SCALE, tile=32, overlap=8)
    assert (predictor.tile, predictor.overlap) == (64, 16)
    probability = predictor.predict_region(segment, (5, 7, 61, 90))
    assert probability.shape == (56, 83)
    np.testing.assert_allclose(probability, 0.3, atol=1e-6)
    assert model.sides == {32}  # the model sees 32² of means of 64² image pixels


def test_half_resolution_blocks_equal_the_region(segment):
    torch.manual_seed(4)
    half = Composition(scale=2).resolve(segment.shape[0])
    predictor = Predictor(
        build_model(_tiny(half.in_channels)).eval(), half, SCALE, tile=32, overlap=8
    )
    whole = predictor.predict_region(segment, (0, 0, 96, 128))
    blocks = predict_segment(predictor, segment, block=64).compute(scheduler="sync")
    np.testing.assert_allclose(blocks, whole, atol=1e-5)
    assert whole.std() > 0  # a real model: the blocks agree on a map, not on a constant

    # a block smaller than a tile (2048 against a scale-4 model's 2176) grows to hold one
    grown = predict_segment(predictor, segment, block=48)
    assert grown.chunksize == (96, 96)
    np.testing.assert_allclose(grown.compute(scheduler="sync"), whole, atol=1e-5)


@pytest.mark.slow
def test_blocks_run_in_other_processes(training_folder):
    """What a dask.distributed cluster needs: the tasks pickle, with model and segment."""
    segment = open_segment(training_folder)
    torch.manual_seed(3)
    predictor = Predictor(
        build_model(_tiny(4)).eval(), _composition(segment), SCALE, tile=64, overlap=16
    )
    blocks = predict_segment(predictor, segment, block=256)
    whole = predictor.predict_region(segment, (0, 0, 96, 128))
    np.testing.assert_allclose(
        blocks.compute(scheduler="processes", num_workers=2), whole, atol=1e-5
    )
