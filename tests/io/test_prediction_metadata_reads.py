"""A prediction's record is read from its metadata alone: the dock asks it on napari's GUI
thread before it replaces a file, where decoding a whole segment's PNG would hold napari."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageFile, PngImagePlugin

from inkloop.io._images import image_text
from inkloop.io._labels import write_label_files
from inkloop.io._prediction_metadata import recorded_origin, recorded_provenance
from inkloop.io._sidefiles import ORIGIN_KEY, prediction_origin


def test_a_png_prediction_is_asked_without_decoding_its_pixels(tmp_path, monkeypatch):
    texts = PngImagePlugin.PngInfo()
    texts.add_text(ORIGIN_KEY, json.dumps([4.0, 8.0]))
    texts.add_text("inkloop", json.dumps({"model": {"file": "m.pt"}}))
    path = tmp_path / "seg_prediction.png"
    Image.fromarray(np.zeros((32, 48), np.uint8)).save(path, pnginfo=texts)

    def refuse(self):
        raise AssertionError("the pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    assert recorded_origin(path, "png") == [4.0, 8.0]
    assert recorded_provenance(path) == {"model": {"file": "m.pt"}}
    # the guard bites where the pixels are decoded
    with pytest.raises(AssertionError, match="decoded"), Image.open(path) as image:
        image.text  # noqa: B018


@pytest.mark.parametrize("name", ["seg_inklabels.png", "seg_prediction.png"])
def test_inkloops_painted_labels_are_no_prediction_record(tmp_path, name):
    path, _ = write_label_files(tmp_path / name, np.zeros((8, 12), np.uint8), np.ones((8, 12)))
    assert image_text(path)["inkloop"] == "painted labels"  # the key a record has too

    assert prediction_origin(path) == (0.0, 0.0)
    assert recorded_provenance(path) is None


@pytest.mark.parametrize("text", ["painted labels", json.dumps([1, 2])])
def test_a_record_that_is_no_json_object_is_none_and_the_origin_is_kept(tmp_path, text):
    texts = PngImagePlugin.PngInfo()
    texts.add_text(ORIGIN_KEY, json.dumps([4.0, 8.0]))
    texts.add_text("inkloop", text)
    path = tmp_path / "seg_prediction.png"
    Image.fromarray(np.zeros((8, 12), np.uint8)).save(path, pnginfo=texts)

    assert prediction_origin(path) == (4.0, 8.0)
    assert recorded_provenance(path) is None
