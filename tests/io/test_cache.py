"""Decoded blocks of compressed layers: reads stay exact, each block is decoded once, the
budget holds, and a segment still pickles (for dask workers) without its cache."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import tifffile

from inkloop.io import open_segment
from inkloop.io._cache import CachedLayer, DecodedBlocks


class _CountingReader:
    """A layer with 8 x 8 chunks that records every block it is asked to decode."""

    def __init__(self, image: np.ndarray) -> None:
        self.image, self.shape, self.dtype, self.chunks = image, image.shape, image.dtype, (8, 8)
        self.reads: list = []

    def __getitem__(self, key):
        self.reads.append(key)
        return self.image[key]


@pytest.fixture
def compressed_folder(tmp_path, synthetic):
    folder = tmp_path / "20240101000000"
    (folder / "layers").mkdir(parents=True)
    for z, layer in enumerate(synthetic.volume):
        tifffile.imwrite(
            folder / "layers" / f"{z:02d}.tif", layer, compression="zlib", rowsperstrip=16
        )
    return folder


def test_compressed_layers_read_exactly(compressed_folder, synthetic):
    segment = open_segment(compressed_folder)
    rng = np.random.default_rng(0)
    _, height, width = synthetic.volume.shape
    for _ in range(20):
        y, x = int(rng.integers(0, height - 1)), int(rng.integers(0, width - 1))
        rows, cols = slice(y, min(y + 70, height)), slice(x, min(x + 90, width))
        layers = rng.choice(synthetic.volume.shape[0], 3, replace=False)
        np.testing.assert_array_equal(
            segment.read(layers, rows, cols), synthetic.volume[layers, rows, cols]
        )
    np.testing.assert_array_equal(segment.volume[2, 5:40:3].compute(), synthetic.volume[2, 5:40:3])
    copy = pickle.loads(pickle.dumps(segment))
    np.testing.assert_array_equal(
        copy.read([1], slice(0, 30), slice(0, 30)), synthetic.volume[[1], :30, :30]
    )


def test_each_block_is_decoded_once():
    image = np.arange(40 * 50, dtype=np.uint16).reshape(40, 50)
    reader = _CountingReader(image)
    layer = CachedLayer(reader, 0, DecodedBlocks())
    np.testing.assert_array_equal(layer[3:30, 10:45], image[3:30, 10:45])
    first = len(reader.reads)
    np.testing.assert_array_equal(layer[5:25, 12:40], image[5:25, 12:40])
    assert len(reader.reads) == first  # all inside blocks already decoded


def test_the_budget_drops_the_least_recently_used_block():
    cache = DecodedBlocks(budget=250)
    made = []

    def block(name):
        return lambda: made.append(name) or np.zeros(100, np.uint8)

    cache.get("a", block("a"))
    cache.get("b", block("b"))
    cache.get("a", block("a"))  # a is now the most recent
    cache.get("c", block("c"))  # over budget: b goes
    cache.get("a", block("a"))
    cache.get("b", block("b"))
    assert made == ["a", "b", "c", "b"]
    assert cache.used <= 250
