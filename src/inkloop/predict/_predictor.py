"""A model with its input recipe: batched, blended, cancellable tile prediction of a region."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inkloop.boxes import union_box
from inkloop.compose import Composition, Normalisation, compose_channels, read_patches
from inkloop.io import as_segment
from inkloop.model import autocast
from inkloop.predict._graph import inference_graph
from inkloop.predict._memory import ForwardGate
from inkloop.predict._tiles import Blend, check_region, dihedral_logits, tile_corners
from inkloop.predict._travel import TravellingModel
from inkloop.predict._window import model_window
from inkloop.settings import OVERLAP, TILE


@dataclass(frozen=True)
class RegionUpdate:
    """Part of a region whose blended probability changed: draw ``probability`` at ``box``."""

    box: tuple[int, int, int, int]  # y0, x0, y1, x1 in image pixels
    probability: np.ndarray = field(repr=False)  # float32, box-sized, 0..1
    tiles_done: int
    tiles_total: int


class Predictor(TravellingModel):
    """Predicts ink probability for regions of a segment with one model.

    Tiles of ``tile`` model pixels overlap by ``overlap`` and cross-fade where they meet
    (544/32: a stride of 512 fits large segments with 13% extra pixels); with the
    composition's ``scale`` a tile spans ``tile * scale`` image pixels (``self.tile``) and
    its output is upsampled to them. ``tta`` averages the 8 flips/rotations of every tile.
    ``device_request`` and ``weights_file``: how it travels to a dask worker
    (`TravellingModel`).
    ``logit_offset`` is subtracted from the logits: the calibration a trainer measured
    (`Trainer.logit_offset`), so that p = 0.5 is where ink becomes likelier than not.
    ``memory``: the `ForwardGate` its passes go through, shared by predictors on one device
    so that what one learns about its memory holds for all (default: one of its own).
    The model runs where its weights are, in inference mode, in mixed precision where the
    hardware has it (`inkloop.model.autocast`: bf16 on CPUs with bf16 instructions too).
    The ``segment`` of `from_checkpoint`, `stream` and `predict_region`: a Segment, or its
    path or URL (opened with `inkloop.io.open_segment`: open it once for many regions).
    """

    def __init__(
        self,
        model,
        composition: Composition,
        normalisation: Normalisation,
        *,
        tile: int = TILE,
        overlap: int = OVERLAP,
        batch_size: int | None = None,
        tta: bool = False,
        device_request: str | None = None,
        weights_file: str | None = None,
        logit_offset: float = 0.0,
        memory: ForwardGate | None = None,
    ) -> None:
        if tile % 32 or not 0 <= overlap < tile:
            raise ValueError(f"tile {tile} must be a multiple of 32 with overlap below it")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch size {batch_size} must be at least 1 tile (or unset)")
        super().__init__(model, device_request, weights_file)
        self.composition = composition
        self.normalisation = normalisation
        self.scale = composition.scale
        # tile geometry (corners, blending, blocks) is in image pixels from here on
        self.tile, self.overlap, self.tta = tile * self.scale, overlap * self.scale, tta
        self.batch_request = batch_size
        self.logit_offset = logit_offset
        self.memory = ForwardGate() if memory is None else memory

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        del state["memory"]  # a lock; each process backs off on its own device
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.memory = ForwardGate()

    @classmethod
    def from_checkpoint(
        cls, checkpoint, segment, *, device="auto", mask=None, z_start=None, reverse=None, **options
    ) -> Predictor:
        """Load ``checkpoint`` (a Checkpoint, or its file) for ``segment`` as an
        `inference_graph`, reading the layers it was trained on, or its window moved to
        ``z_start``, back to front as ``reverse`` says (`model_window`); normalisation is
        measured on this segment with the checkpoint's percentiles (``mask``: the papyrus
        mask, if in memory). The model goes to ``device``, and to ``device_request``
        (default: ``device``) in a process it is sent to."""
        import torch

        from inkloop.compose import sample_normalisation
        from inkloop.model import pick_device

        if isinstance(checkpoint, str | Path):
            from inkloop.checkpoint import load_checkpoint

            checkpoint = load_checkpoint(checkpoint)
        segment = as_segment(segment)
        composition = model_window(checkpoint, segment, z_start, reverse)
        normalisation = sample_normalisation(
            segment, composition, percentiles=checkpoint.normalisation.percentiles, mask=mask
        )
        model = inference_graph(checkpoint.build())
        model = model.to(pick_device(device), memory_format=torch.channels_last)
        options.setdefault("device_request", device)
        return cls(
            model, composition, normalisation, logit_offset=checkpoint.logit_offset, **options
        )

    @property
    def batch_size(self) -> int:
        """Tiles per forward pass: as asked, else 1 on a CPU and 8 on a GPU."""
        # One tile at a time is fastest on a CPU (2.9 vs 2.1 MP/s for 4 at once, measured on
        # 2 cores: the activations of one tile stay in cache); GPUs want batches.
        return self.batch_request or (1 if self.device.type == "cpu" else 8)

    def stream(
        self,
        segment,
        region: tuple[int, int, int, int],
        mask: np.ndarray | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Iterator[RegionUpdate]:
        """Predict ``region`` tile batch by tile batch, centre first, yielding what changed.

        ``mask`` is the segment's whole papyrus mask (or None): tiles without papyrus are
        skipped and pixels off papyrus stay 0. Stops between batches once ``should_stop()``.
        The last update of a pixel holds its final value.
        """
        segment = as_segment(segment)
        for blend, boxes, done, total in self._blend(segment, region, mask, should_stop):
            yield RegionUpdate(*_changed(blend, boxes, mask), done, total)

    def add_tiles(self, blend: Blend, segment, corners, mask: np.ndarray | None = None):
        """Predict the tiles at ``corners`` into ``blend``; returns the image box that changed
        and its blended probability there (0 off papyrus)."""
        probabilities = self.tiles(segment, corners)
        boxes = [blend.add(y, x, p) for (y, x), p in zip(corners, probabilities, strict=True)]
        return _changed(blend, boxes, mask)

    def predict_region(self, segment, region, mask: np.ndarray | None = None) -> np.ndarray:
        """The blended probability over ``region`` (float32, region-sized, 0 off papyrus)."""
        segment = as_segment(segment)
        region = check_region(region, segment.shape[1:])
        blend = Blend(region, self.tile, self.overlap)
        for blend, *_ in self._blend(segment, region, mask):  # noqa: B007 (the last one)
            pass
        return _masked(blend.result(), mask, region)

    def _blend(self, segment, region, mask, should_stop=None):
        region = check_region(region, segment.shape[1:])
        corners = tile_corners(region, segment.shape[1:], self.tile, self.overlap, mask)
        blend = Blend(region, self.tile, self.overlap)
        # the first batch is a single tile: the centre of a viewport shows up soonest
        batches = [corners[:1], *_chunks(corners[1:], self.batch_size)] if corners else []
        done = 0
        for batch, probabilities in self._predict_batches(segment, batches, should_stop):
            boxes = [blend.add(y, x, p) for (y, x), p in zip(batch, probabilities, strict=True)]
            done += len(batch)
            yield blend, boxes, done, len(corners)

    def accumulate(self, segment, corners, box) -> Blend:
        """Weighted sums of the tiles at ``corners`` over ``box`` (blocks add these up).

        The window's layers under ``box`` are read at once and the tiles cut from them: read
        tile by tile, a remote zarr's chunks, which overlapping tiles share, were fetched ~4
        times each. Memory, per block under way (one per core in `write_prediction`): box
        pixels x window layers x the volume's dtype, for as long as the block is predicted:
        2080² x 16 x uint16 = 138 MB for a default block, 571 MB at scale 4 (its box 4224²)."""
        blend = Blend(box, self.tile, self.overlap)
        batches = _chunks(corners, self.batch_size)
        read = _BoxRead(segment, self.composition.layer_indices(segment.shape[0]), box)
        with self._stream_of_its_own():
            for batch, probabilities in self._predict_batches(read, batches):
                for (y, x), probability in zip(batch, probabilities, strict=True):
                    blend.add(y, x, probability)
        return blend

    def _stream_of_its_own(self):
        """On a CUDA device, a stream for one block task's work.

        Block tasks run in many threads at once. On one shared stream each task's copies
        (its tiles onto the GPU, its probabilities back) waited for every task's queued
        kernels; on its own they wait for its own. The stream first waits for what is
        queued on the current one (the weights being put in place); nothing writes the
        weights while blocks run.
        """
        import torch

        if self.device.type != "cuda":
            return contextlib.nullcontext()
        stream = torch.cuda.Stream(self.device)  # one of torch's pool of streams
        stream.wait_stream(torch.cuda.current_stream(self.device))
        return torch.cuda.stream(stream)

    def tiles(self, segment, corners) -> np.ndarray:
        """Probabilities (N, tile, tile) for tiles at ``corners`` (image top-left pixels)."""
        import torch

        return self.forward(torch.from_numpy(self._read(segment, corners)))

    def _predict_batches(self, segment, batches, should_stop=None):
        """(batch, probabilities) per batch; the next batch is read while this one runs.
        Ends before a batch once ``should_stop()`` is true."""
        import torch

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="inkloop-tiles") as reader:
            ahead = reader.submit(self._read, segment, batches[0]) if batches else None
            for index, batch in enumerate(batches):
                if should_stop is not None and should_stop():
                    return
                layers = ahead.result()
                if index + 1 < len(batches):
                    ahead = reader.submit(self._read, segment, batches[index + 1])
                yield batch, self.forward(torch.from_numpy(layers))

    def _read(self, segment, corners) -> np.ndarray:
        return read_patches(segment, self.composition, self.normalisation, corners, self.tile)

    def forward(self, layers) -> np.ndarray:
        """Probabilities (N, H * scale, W * scale) for normalised layers (N, Z, H, W) on the
        CPU; fewer at once where the GPU runs out of memory (`ForwardGate`)."""
        return self.memory.run(self._forward, layers)

    def _forward(self, layers) -> np.ndarray:
        import torch
        from torch.nn.functional import interpolate

        inputs = compose_channels(layers.to(self.device), self.composition)
        # channels_last is faster on CPUs too (0.53 s vs 0.75 s for a 1024² viewport, 2 cores)
        inputs = inputs.contiguous(memory_format=torch.channels_last)
        training = self.model.training  # the engine predicts with the model it is training
        self.model.eval()
        try:
            with torch.inference_mode(), autocast(self.device):
                if self.tta:
                    logits = dihedral_logits(self.model, inputs)
                else:
                    logits = self.model(inputs)[:, 0].float()
                if self.scale > 1:  # upsampled as logits: ink edges stay sharper than in p
                    logits = interpolate(logits[:, None], scale_factor=self.scale, mode="bilinear")
                    logits = logits[:, 0]
        finally:
            self.model.train(training)
        return torch.sigmoid(logits - self.logit_offset).cpu().numpy()


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _changed(blend: Blend, boxes, mask) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """The image box covering ``boxes`` (region-relative) and ``blend``'s result there."""
    box = union_box(boxes)
    y0, x0 = blend.origin
    image_box = (y0 + box[0], x0 + box[1], y0 + box[2], x0 + box[3])
    return image_box, _masked(blend.result(box), mask, image_box)


def _masked(probability: np.ndarray, mask: np.ndarray | None, box) -> np.ndarray:
    if mask is not None:
        y0, x0, y1, x1 = box
        probability *= mask[y0:y1, x0:x1]
    return probability


class _BoxRead:
    """The part of ``segment``'s ``layers`` under ``box`` (y0, x0, y1, x1), read in one call,
    standing in for the segment where `read_patches` reads windows inside that box."""

    def __init__(self, segment, layers, box) -> None:
        self.shape, self.dtype = segment.shape, segment.dtype
        height, width = self.shape[1:]
        y0, x0, y1, x1 = max(box[0], 0), max(box[1], 0), min(box[2], height), min(box[3], width)
        self.origin, self.layers = (y0, x0), layers
        self.pixels = np.empty((len(layers), max(y1 - y0, 0), max(x1 - x0, 0)), self.dtype)
        if self.pixels.size:
            segment.read_into(layers, [(y0, x0, y1, x1)], [self.pixels])

    def read_into(self, layers, boxes, targets) -> None:
        """`Segment.read_into` of the layers and boxes inside what was read."""
        (top, left), (_, height, width) = self.origin, self.pixels.shape
        for (y0, x0, y1, x1), target in zip(boxes, targets, strict=True):
            inside = top <= y0 <= y1 <= top + height and left <= x0 <= x1 <= left + width
            if not (inside and np.array_equal(layers, self.layers)):
                raise ValueError(f"layers {list(layers)} at {(y0, x0, y1, x1)} were not read")
            target[...] = self.pixels[:, y0 - top : y1 - top, x0 - left : x1 - left]
