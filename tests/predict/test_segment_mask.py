"""The segment's own mask in a cluster's graph (``mask_in_graph=False``): decoded once in a
process however many blocks it masks there, with the same prediction as a mask in the graph."""

from __future__ import annotations

import numpy as np
import torch

import inkloop.io._segment as segment_files
from inkloop.compose import Normalisation
from inkloop.io import open_segment
from inkloop.predict import Predictor, predict_segment
from tests._helpers import FULL_RESOLUTION


class FirstLayer(torch.nn.Module):
    """Its first input channel, scaled, as the logit: a prediction that differs from pixel to
    pixel (its scale a parameter: a predictor finds its device from its parameters)."""

    def __init__(self) -> None:
        super().__init__()
        self.gain = torch.nn.Parameter(torch.tensor(4.0))

    def forward(self, inputs):
        return self.gain * inputs[:, :1]


def test_the_blocks_of_a_segment_decode_its_mask_once_per_process(segment_folder, monkeypatch):
    decoded = []
    decode = segment_files._decode_sidecar
    monkeypatch.setattr(  # before the segment opens: its lazy mask holds the function
        segment_files,
        "_decode_sidecar",
        lambda path, *rest: decoded.append(path) or decode(path, *rest),
    )
    segment = open_segment(segment_folder)  # a folder of its own: no block has decoded it yet
    mask = np.asarray(segment.mask)  # what chooses the tiles, as a cluster run's planner has it
    composition = FULL_RESOLUTION.resolve(segment.shape[0])
    predictor = Predictor(
        FirstLayer(), composition, Normalisation(0.0, 65535.0), tile=32, overlap=8
    )
    lazy = predict_segment(predictor, segment, mask, block=32, mask_in_graph=False)
    assert lazy.numblocks == (2, 3)
    decoded.clear()

    probability = lazy.compute(scheduler="threads")

    assert len(decoded) == 1  # not once for each of the 6 blocks
    in_graph = predict_segment(predictor, segment, mask, block=32).compute(scheduler="threads")
    np.testing.assert_array_equal(probability, in_graph)
    assert not probability[~mask].any()
    assert probability[mask].all()
