"""An in-process Engine on the shared training segment, and predicates over its predictions."""

from __future__ import annotations

import numpy as np

from inkloop.engine import Engine, PredictionReady
from inkloop.settings import EngineSettings
from tests._events import TIMEOUT, steps_done
from tests._helpers import FULL_RESOLUTION, tiny_model, tiny_training

WHOLE = (0, 0, 96, 128)  # the training segment; 6 tiles of 64 px (stride 32)
BIG = (8, 256, 384)  # 6 blocks of 128 px: room for commands between blocks


def engine_for(segment, recorder, supervised=None, **settings) -> Engine:
    """A tiny-model Engine on ``segment`` (labels: its ink, the papyrus supervised)."""
    train = settings.pop("train", tiny_training())
    composition = settings.pop("composition", FULL_RESOLUTION)
    settings = EngineSettings(model=tiny_model(), train=train, composition=composition, **settings)
    ink = np.asarray(segment.ink_labels)
    supervised = np.asarray(segment.mask) if supervised is None else supervised
    return Engine(segment, ink, supervised, settings, on_event=recorder)


def folder_labels(folder):
    """A segment folder's ink labels, with its papyrus supervised (as numpy)."""
    from inkloop.io import open_segment

    segment = open_segment(folder)
    return np.asarray(segment.ink_labels), np.asarray(segment.mask)


def process_settings() -> EngineSettings:
    """Tiny-model settings for an engine in a process (here or on a server), 64-px tiles."""
    return EngineSettings(
        model=tiny_model(), train=tiny_training(), composition=FULL_RESOLUTION, tile=64
    )


def predictions(request=None):
    """Events -> the PredictionReady ones (of ``request`` only, if given)."""
    return lambda events: [
        e
        for e in events
        if isinstance(e, PredictionReady) and (request is None or e.request == request)
    ]


def rounds_done(request, count):
    """Predicate: ``count`` complete predictions of ``request``."""

    def done(events):
        finished = [e for e in predictions(request)(events) if e.tiles_done == e.tiles_total]
        return len(finished) >= count

    return done


def preview_while_training(engine, recorder, rounds: int = 2) -> int:
    """Train, keep WHOLE previewed (from the first step on) until ``rounds`` complete rounds
    arrived, then stop; returns the preview's request number."""
    engine.start()
    recorder.wait_for(steps_done(1))
    request = engine.preview(WHOLE, every=0.0)
    recorder.wait_for(rounds_done(request, rounds))
    engine.stop()
    assert engine.wait(TIMEOUT)
    return request
