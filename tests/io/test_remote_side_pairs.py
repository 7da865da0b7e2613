"""A URL segment's ink labels and supervision mask are fetched as a pair: where the ink is
fetched anew (the user deleted the kept copy to get a colleague's newer labels), its mask is
too, so the local pair is the server's, never its new ink beside the mask it replaced."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from inkloop.io import initial_labels, load_labels, open_segment, write_label_files
from tests._http import NAME, serve, write_served_segment

pytest.importorskip("aiohttp")


def _labels(shape, ink_rows: slice, no_ink_rows: slice) -> tuple[np.ndarray, np.ndarray]:
    ink, supervised = np.zeros(shape, np.uint8), np.zeros(shape, bool)
    ink[ink_rows] = 255
    supervised[ink_rows] = supervised[no_ink_rows] = True
    return ink, supervised


def test_an_ink_fetched_anew_brings_its_mask_with_it(tmp_path, synthetic, data_home):
    served = tmp_path / "served"
    served.mkdir()
    write_served_segment(served, NAME, synthetic)
    served_ink = served / f"{NAME}_inklabels.png"
    shape = synthetic.volume.shape[1:]
    write_label_files(served_ink, *_labels(shape, slice(0, 4), slice(4, 8)), fast=True)
    with serve(served) as (base, _server):
        url = f"{base}/{NAME}.zarr"
        kept = open_segment(url).files["ink_labels"]
        colleague = _labels(shape, slice(10, 14), slice(14, 40))  # a colleague's next Save
        write_label_files(served_ink, *colleague, fast=True)
        kept.unlink()  # to get the colleague's labels

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ink, supervised, _, _ = initial_labels(open_segment(url))
            loaded = load_labels(open_segment(url))

    np.testing.assert_array_equal(ink, colleague[0])
    np.testing.assert_array_equal(supervised, colleague[1])  # rows 14..39 "no ink"
    np.testing.assert_array_equal(loaded[1], colleague[1])
