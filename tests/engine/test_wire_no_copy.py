"""An array sent over the wire is compressed from its own buffer: a Spawn's full-size labels
(224 MB of uint8 ink and bool supervision, memory-mapped label files, at 8000 x 14000) are not
first copied whole, which also held the GIL (and so napari's GUI thread, beside the dock's
connect) for the copy's length."""

from __future__ import annotations

import tracemalloc

import numpy as np

from inkloop.engine._wire import LENGTH, Spawn, decode, encode
from inkloop.settings import EngineSettings


def test_a_spawn_s_labels_are_compressed_without_a_whole_copy():
    ink = np.zeros((2000, 2000), np.uint8)  # 4 MB, as the label files hold it
    ink[500:600, 700:900] = 255
    supervised = ink > 0
    spawn = Spawn("/segment", {}, EngineSettings(), ink, supervised, 1)
    tracemalloc.start()
    try:
        data = encode(spawn)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < ink.nbytes / 4  # a whole copy of the ink alone would be ink.nbytes
    back = decode(data[LENGTH.size :])
    np.testing.assert_array_equal(back.ink, ink)
    np.testing.assert_array_equal(back.supervised, supervised)
