"""Training batches: patches centred on labelled pixels, read lazily, prefetched in threads."""

from __future__ import annotations

import itertools
import queue
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from inkloop.compose import Composition, Normalisation, downscale, read_patches
from inkloop.train._labels import LabelStore
from inkloop.train._seeds import batch_generator

WAIT_SLICE_S = 0.1  # how often a wait for a batch asks whether to give way


class WaitInterruptedError(Exception):
    """A batch stream stopped waiting for a batch because ``interrupt()`` said so (a command
    came while a stalled server held the batch up); that batch is still the next."""


@dataclass(frozen=True)
class Batch:
    """One batch on the host: raw normalised layers (with z margin), soft ink and loss weights."""

    layers: np.ndarray  # (B, Z + 2 * margin, S, S) float32
    ink: np.ndarray  # (B, S, S) float32, 0..1
    weight: np.ndarray  # (B, S, S) bool, True = supervised (counts in the loss)
    label_version: int  # LabelStore.version the labels were cut from


class PatchSampler:
    """Draws patches whose centre pixel is labelled; ``ink_share`` of them centred on ink.

    ``patch_size`` is in model pixels: a patch spans ``patch_size * composition.scale`` image
    pixels, read and labelled at full resolution, then downscaled."""

    def __init__(
        self,
        segment,
        composition: Composition,
        normalisation: Normalisation,
        labels: LabelStore,
        *,
        patch_size: int,
        z_margin: int = 0,
        ink_share: float = 0.5,
    ) -> None:
        self.segment = segment
        self.composition = composition
        self.normalisation = normalisation
        self.labels = labels
        self.patch_size = patch_size
        self.z_margin = z_margin
        self.ink_share = ink_share

    def batch(self, size: int, rng: np.random.Generator) -> Batch:
        version = self.labels.version
        centres = self.labels.sample_centres(rng, size, self.ink_share)
        scale = self.composition.scale
        span = self.patch_size * scale  # image pixels under one patch
        corners = (centres - span // 2).tolist()
        layers = read_patches(
            self.segment, self.composition, self.normalisation, corners, span, self.z_margin
        )
        cuts = [self.labels.cut(y, x, span) for y, x in corners]
        ink, weight = (np.stack(part) for part in zip(*cuts, strict=True))
        covered = downscale(weight, scale)
        # a model pixel's ink is that of its labelled image pixels: unlabelled ones (ink 0)
        # would pull the edge of every stroke towards "no ink" at scale 2 or 4
        ink = downscale(ink * weight, scale) / np.maximum(covered, np.float32(1e-6))
        # it counts in the loss where most of its image pixels are labelled
        return Batch(layers, ink, covered >= 0.5, version)


class BatchStream:
    """Batches made ahead by ``threads`` background threads (file reads release the GIL).

    A batch whose labels are older than the LabelStore's current version is dropped, so new
    labels are used from the next batch on; so is a producer's error from older labels (a
    store erased, then painted again). ``batch_size`` may be lowered while running. Batch
    ``n`` is drawn from its own seed, as a `ProcessBatchStream`'s is
    (`inkloop.train._seeds.batch_generator`; ``opening`` tells this stream from the run's
    others: `inkloop.train._seeds.first_opening`, plus the streams opened before it):
    thread ``i`` makes batches ``i``, ``i + threads``, … and they are handed out in their
    order.
    """

    def __init__(
        self,
        sampler: PatchSampler,
        batch_size: int,
        *,
        threads: int = 1,
        seed: int = 0,
        opening: int = 0,
    ):
        self.sampler = sampler
        self.maker = "a thread" if threads == 1 else f"{threads} threads"  # for messages
        self._producer = _Producer(sampler, batch_size, threads, seed, opening)
        workers = [
            threading.Thread(
                target=self._producer.run,
                args=(index,),
                name=f"inkloop-batches-{index}",
                daemon=True,
            )
            for index in range(threads)
        ]
        self._number = 0  # of the next batch handed out
        # the threads hold the producer, not the stream: one dropped unclosed still ends them
        self._stop = weakref.finalize(self, self._producer.stop, workers)
        for thread in workers:
            thread.start()

    @property
    def batch_size(self) -> int:
        return self._producer.batch_size

    @batch_size.setter
    def batch_size(self, size: int) -> None:
        self._producer.batch_size = size

    def next(self, interrupt: Callable[[], bool] | None = None) -> Batch:
        """The next batch cut from the current labels (re-raises a producer's error). While
        it is not made yet, ``interrupt()`` is asked every `WAIT_SLICE_S`: WaitInterruptedError
        once it says so."""
        queues = self._producer.queues
        while True:
            item = _take(queues[self._number % len(queues)], interrupt)
            self._number += 1
            if isinstance(item, _Failed):
                if item.label_version == self.sampler.labels.version:
                    raise item.error
                continue
            if item.label_version == self.sampler.labels.version:
                size = self.batch_size
                if len(item.ink) <= size:
                    return item
                return Batch(
                    item.layers[:size], item.ink[:size], item.weight[:size], item.label_version
                )

    def close(self) -> None:
        """Stop the threads (idempotent)."""
        self._stop()


class _Producer:
    """What a `BatchStream`'s threads share: the sampler, the batch size, a queue each."""

    def __init__(
        self, sampler: PatchSampler, batch_size: int, threads: int, seed: int, opening: int
    ) -> None:
        self.sampler, self.batch_size = sampler, batch_size
        self.seed, self.opening = seed, opening
        # two a thread: one being taken, one waiting (a `ProcessBatchStream`'s slots)
        self.queues = [queue.Queue(maxsize=2) for _ in range(threads)]
        self.reading = [False] * threads  # thread i is making a batch: reading the segment
        self.closed = threading.Event()

    def run(self, index: int) -> None:
        """Make batches ``index``, ``index + threads``, … into queue ``index`` until closed."""
        threads = len(self.queues)
        for number in itertools.count(index, threads):
            if self.closed.is_set():
                return
            version = self.sampler.labels.version
            rng = batch_generator(self.seed, self.opening, number)
            self.reading[index] = True
            try:
                item = self.sampler.batch(self.batch_size, rng)
            except Exception as error:  # handed to the consumer, which raises it in its thread
                item = _Failed(error, version)
            finally:
                self.reading[index] = False
            while not self.closed.is_set():
                try:
                    self.queues[index].put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue

    def stop(self, threads: list[threading.Thread]) -> None:
        """End the threads; wait for those not making a batch. One held up in a read (a
        stalled server) ends when the read gives up, by its own timeout: nobody waits for it,
        and it holds nothing another stream needs."""
        self.closed.set()
        # a dropped stream's garbage may be collected in one of its own threads
        for index, (thread, waiting) in enumerate(zip(threads, self.queues, strict=True)):
            if thread is threading.current_thread():
                continue
            while thread.is_alive() and not self.reading[index]:
                try:  # unblock a producer waiting on a full queue
                    waiting.get_nowait()
                except queue.Empty:
                    thread.join(timeout=0.05)


def _take(waiting: queue.Queue, interrupt: Callable[[], bool] | None):
    """The next item of ``waiting``; WaitInterruptedError if ``interrupt()`` says so first."""
    while True:
        try:
            return waiting.get(timeout=WAIT_SLICE_S)
        except queue.Empty:
            if interrupt is not None and interrupt():
                raise WaitInterruptedError from None


@dataclass(frozen=True)
class _Failed:
    """A producer's error, with the labels' version it sampled."""

    error: Exception
    label_version: int
