"""Prediction out of GPU memory: fewer passes at once, then fewer tiles a pass, then one error.

The model here stands in for a GPU's memory: it raises torch's own OutOfMemoryError (or the
RuntimeError of an allocation outside torch's allocator) where a pass holds more tiles than
it has room for, or runs beside another pass. The real thing, on a GPU whose memory is
capped, is in tests/test_gpu.py.
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from inkloop.compose import sample_normalisation
from inkloop.model import build_model
from inkloop.predict import Predictor, predict_into, predict_segment
from inkloop.predict._memory import ForwardGate
from tests._helpers import FULL_RESOLUTION, tiny_model

pytestmark = pytest.mark.usefixtures("float32_cpu")  # batches of other sizes, the same sums


class SmallMemory(torch.nn.Module):
    """``model`` on a device with room for ``room`` tiles a pass and, with ``alone``, for
    one pass at a time; ``meet`` threads' first passes wait for each other (a real overlap).
    Out of room, it raises ``error`` (by default torch's OutOfMemoryError)."""

    def __init__(self, model, room: int, alone=False, meet=0, error: str | None = None) -> None:
        super().__init__()
        self.model, self.room, self.alone, self.error = model, room, alone, error
        self.meeting = threading.Barrier(meet) if meet else None
        self.in_flight, self.failures = 0, 0
        self.lock = threading.Lock()

    def forward(self, inputs):
        with self.lock:
            self.in_flight += 1
        try:
            meeting, met = self.meeting, False
            if meeting is not None:  # once: both passes in flight together, both fail
                met = meeting.wait(timeout=60) is not None
                self.meeting = None
            crowded = self.alone and (met or self.in_flight > 1)
            if crowded or len(inputs) > self.room:
                with self.lock:
                    self.failures += 1
                if self.error is not None:
                    raise RuntimeError(self.error)
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return self.model(inputs)
        finally:
            with self.lock:
                self.in_flight -= 1


def _predictor(segment, model, batch_size: int) -> Predictor:
    composition = FULL_RESOLUTION.resolve(segment.shape[0])
    normalisation = sample_normalisation(segment, composition)
    return Predictor(model, composition, normalisation, tile=32, overlap=8, batch_size=batch_size)


def _model(segment):
    torch.manual_seed(0)
    channels = FULL_RESOLUTION.resolve(segment.shape[0]).in_channels
    return build_model(dataclasses.replace(tiny_model(), in_channels=channels)).eval()


@pytest.mark.parametrize(
    "error",
    [
        None,
        "cuDNN error: CUDNN_STATUS_ALLOC_FAILED",
        "CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`",
        "CUDA error: out of memory\nCUDA kernel errors might be asynchronously reported",
    ],
    ids=["torch's allocator", "cuDNN's", "cuBLAS's", "CUDA's"],
)
def test_a_pass_out_of_memory_is_split_until_it_fits(segment, error):
    model = _model(segment)
    region = (0, 0, *segment.shape[1:])
    expected = _predictor(segment, model, batch_size=2).predict_region(segment, region)
    small = _predictor(segment, SmallMemory(model, room=2, error=error), batch_size=8)

    with pytest.warns(RuntimeWarning) as told:
        probability = small.predict_region(segment, region)

    assert [str(warning.message) for warning in told] == [
        f"out of GPU memory: predicting {n} tiles a pass, one pass at a time" for n in (4, 2)
    ]
    np.testing.assert_allclose(probability, expected, atol=1e-6)
    assert (small.memory.tiles, small.memory.limit) == (2, 1)
    assert small.model.failures == 2  # 8 tiles, then 4; the later batches go in 2s at once


def test_passes_out_of_memory_together_run_one_at_a_time(segment):
    model = _model(segment)
    mask = np.asarray(segment.mask)
    expected = _predictor(segment, model, batch_size=4).predict_region(
        segment, (0, 0, *segment.shape[1:]), mask
    )
    crowded = _predictor(segment, SmallMemory(model, room=4, alone=True, meet=2), batch_size=4)
    blocks = predict_segment(crowded, segment, mask, block=64)
    assert blocks.npartitions >= 2

    with pytest.warns(RuntimeWarning) as told:
        probability = blocks.compute(scheduler="threads", num_workers=2)

    assert [str(w.message) for w in told] == [
        "out of GPU memory: predicting 1 forward pass at a time"
    ]
    np.testing.assert_allclose(probability, expected, atol=1e-6)
    assert (crowded.memory.limit, crowded.memory.tiles) == (1, None)  # batches stay whole
    assert crowded.model.failures == 2


def test_no_room_for_one_tile_is_one_clear_error_and_leaves_no_file(segment, tmp_path):
    full = _predictor(segment, SmallMemory(_model(segment), room=0), batch_size=4)
    out = tmp_path / "ink.tif"
    with pytest.warns(RuntimeWarning), pytest.raises(MemoryError, match="a single tile"):
        predict_into(full, segment, out, progress=False, workers=1)
    assert list(tmp_path.iterdir()) == []


def test_an_error_that_is_not_out_of_memory_fails_the_prediction_as_it_is(segment, recwarn):
    unsupported = "cuDNN error: CUDNN_STATUS_NOT_SUPPORTED. This error may appear if ..."
    failing = _predictor(segment, SmallMemory(_model(segment), room=2, error=unsupported), 8)
    with pytest.raises(RuntimeError, match="CUDNN_STATUS_NOT_SUPPORTED"):
        failing.predict_region(segment, (0, 0, *segment.shape[1:]))
    assert (failing.memory.tiles, failing.memory.limit) == (None, None)
    assert not recwarn.list  # nothing was split


class CrowdedDevice:
    """A device with room for ``room`` forward passes at once: a pass fails out of memory
    where more were on it at any time during the pass. The first ``meet`` passes wait for
    each other on it (a real overlap, as passes that fill the card together)."""

    def __init__(self, room: int, meet: int) -> None:
        self.room, self.meet = room, meet
        self.meeting = threading.Barrier(meet)
        self.on: list[list[int]] = []  # per pass on the device: the most there during it
        self.started, self.failures = 0, 0
        self.lock = threading.Lock()

    def forward(self, inputs):
        crowd = [0]
        with self.lock:
            first, self.started = self.started < self.meet, self.started + 1
            self.on.append(crowd)
            for other in self.on:
                other[0] = max(other[0], len(self.on))
        try:
            if first:
                self.meeting.wait(timeout=60)
            with self.lock:
                if crowd[0] > self.room:
                    self.failures += 1
                    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return np.full(len(inputs), crowd[0], np.float32)
        finally:
            with self.lock:
                self.on.remove(crowd)


@pytest.mark.parametrize(("threads", "room"), [(4, 2), (16, 8)])
def test_passes_out_of_memory_together_halve_the_passes_at_once_once(threads, room):
    gate, device = ForwardGate(), CrowdedDevice(room, meet=threads)

    def block(_):  # a block's passes, as a whole-segment prediction's thread sends them
        return [gate.run(device.forward, torch.zeros(8, 1)) for _ in range(3)]

    with ThreadPoolExecutor(threads) as pool, pytest.warns(RuntimeWarning) as told:
        passes = [result for each in pool.map(block, range(threads)) for result in each]

    assert (gate.limit, gate.tiles) == (room, None)
    assert [str(w.message) for w in told] == [
        f"out of GPU memory: predicting {room} forward passes at a time"
    ]
    assert device.failures == threads  # each first pass once, then each fits
    assert [len(result) for result in passes] == [8] * 3 * threads
