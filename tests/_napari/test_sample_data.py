"""Sample data contribution: a copy of the bundled synthetic segment through the reader."""

from __future__ import annotations

import tempfile
from pathlib import Path

from inkloop.io import in_package_data, sample_segment_path


def test_sample_segment_opens_from_the_file_menu_path(make_napari_viewer, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the copy goes
    viewer = make_napari_viewer()

    viewer.open_sample("napari-inkloop", "synthetic_segment")

    volume = viewer.layers["synthetic_sample"]
    assert volume.data.shape == (16, 768, 768)
    opened = Path(volume.metadata["inkloop_segment_path"])
    assert opened.parents[2] == tmp_path  # a copy: painting and training write beside it
    assert not in_package_data(opened)
    bundled = sample_segment_path()
    assert sorted(p.name for p in opened.iterdir()) == sorted(p.name for p in bundled.iterdir())
    assert "ink labels" in viewer.layers
    assert viewer.layers["ink labels"].opacity == 0.7  # a few strokes: shown strongly
