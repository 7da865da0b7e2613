"""Whole-segment prediction reads each block's layers once: a remote zarr's chunks, which
overlapping tiles share, are fetched about once each, not once per tile."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inkloop.compose import Normalisation
from inkloop.io import open_segment
from inkloop.model import build_model
from inkloop.predict import Predictor, predict_segment
from tests._helpers import FULL_RESOLUTION, tiny_model
from tests._http import NAME, serve, write_served_segment

pytest.importorskip("aiohttp")


def test_a_remote_prediction_fetches_each_chunk_about_once(tmp_path, synthetic, monkeypatch):
    monkeypatch.setenv("INKLOOP_DATA", str(tmp_path / "home"))
    monkeypatch.setenv("INKLOOP_CHUNK_CACHE", "off")  # each fetch reaches the server
    volume = write_served_segment(tmp_path, NAME, synthetic)  # chunks of 1 x 32 x 32
    config = tiny_model()
    torch.manual_seed(0)
    network = build_model(type(config)(config.encoder, config.decoder_channels, 4)).eval()
    composition = FULL_RESOLUTION.resolve(volume.shape[0])  # the middle 4 layers
    # tiles of 32 at a stride of 24: each straddles up to 2 x 2 chunks
    predictor = Predictor(network, composition, Normalisation(0.0, 255.0), tile=32, overlap=8)
    local = predict_segment(predictor, open_segment(tmp_path), block=64)
    with serve(tmp_path) as (base, server):
        remote = predict_segment(predictor, open_segment(f"{base}/{NAME}.zarr"), block=64)
        server.requests.clear()
        probability = remote.compute(scheduler="sync")

    chunks = [path for path in server.requests if "/c/" in path]
    distinct = composition.z_count * 2 * 3  # layers x 64 x 96 pixels in chunks of 32²
    assert len(set(chunks)) == distinct
    # the chunk column at x 64..95 is read by both blocks (their tiles overlap): 4 x 2 more
    assert len(chunks) <= distinct + composition.z_count * 2
    np.testing.assert_array_equal(probability, local.compute(scheduler="sync"))
