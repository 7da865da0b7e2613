"""Synthetic layers are rendered in bands of rows: the same pixels, in a fraction of the memory."""

from __future__ import annotations

import tracemalloc

import numpy as np

import inkloop.synthetic as synthetic
from inkloop.io import open_segment, read_label_image, sample_segment_path, sample_truth_path
from inkloop.synthetic import SheetFields, write_segment

ONE_BAND = 1 << 40


def test_banded_render_equals_a_one_band_render(monkeypatch):
    shape, layers = (97, 131), 6  # glyphs fit; 97 rows split unevenly into bands
    monkeypatch.setattr(synthetic, "BAND_PIXELS", ONE_BAND, raising=False)
    whole = SheetFields(*shape, layers, seed=3, ink_depth=-1.0)
    expected = {(z, d): whole.layer(z, d) for z in range(layers) for d in ("uint16", "uint8")}

    for band_pixels in (131 * 7, 1):  # 7 rows, then 1 row a band
        monkeypatch.setattr(synthetic, "BAND_PIXELS", band_pixels, raising=False)
        banded = SheetFields(*shape, layers, seed=3, ink_depth=-1.0)
        assert whole.ink.any()
        np.testing.assert_array_equal(banded.ink, whole.ink)
        for (z, dtype), layer in expected.items():
            np.testing.assert_array_equal(banded.layer(z, dtype), layer)


def test_banded_render_is_the_bundled_sample_the_old_code_wrote(monkeypatch):
    monkeypatch.setattr(synthetic, "BAND_PIXELS", 768 * 37, raising=False)  # 21 bands, one short
    fields = SheetFields(768, 768, 16, seed=7, ink_contrast=0.25)  # the sample's command
    sample = open_segment(sample_segment_path())

    for z in (0, 7, 8, 15):
        np.testing.assert_array_equal(fields.layer(z, "uint8"), sample.volume[z].compute())
    truth = read_label_image(sample_truth_path(), fields.shape, ink=True)
    np.testing.assert_array_equal(truth, (fields.ink > 0.5) * 255)


def test_write_segment_peaks_near_its_fields_not_at_whole_layer_temporaries(tmp_path, monkeypatch):
    # Whole-layer float temporaries took ~105 bytes a pixel; the fields alone hold 37, and the
    # nearest-stroke transform of the ink adds ~14 for a moment.
    height, width = 256, 384
    monkeypatch.setattr(synthetic, "BAND_PIXELS", 4096, raising=False)
    write_segment(tmp_path / "warm", 64, 64, 4)  # lazy imports out of the measurement
    tracemalloc.start()
    try:
        write_segment(tmp_path / "seg", height, width, 4, seed=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak / (height * width) < 60
