"""Fixtures of the training tests: a segment's parts, and both batch streams."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop.compose import sample_normalisation
from inkloop.io import open_segment
from inkloop.train import BatchStream, LabelStore, ProcessBatchStream
from tests._helpers import FULL_RESOLUTION


@pytest.fixture
def parts(training_folder):
    """The training folder's segment, labels (all of its mask), composition, normalisation."""
    segment = open_segment(training_folder)
    composition = FULL_RESOLUTION.resolve(segment.shape[0])
    normalisation = sample_normalisation(segment, composition)
    labels = LabelStore(np.asarray(segment.ink_labels), np.asarray(segment.mask))
    return segment, labels, composition, normalisation


@pytest.fixture(params=["thread", "worker process"])
def make_stream(request):
    """``make_stream(sampler, batch_size, makers)``: a stream of ``makers`` threads, or of
    ``makers`` worker processes."""
    if request.param == "thread":
        return lambda sampler, size, makers: BatchStream(sampler, size, threads=makers)
    return lambda sampler, size, makers: ProcessBatchStream(sampler, size, workers=makers)
