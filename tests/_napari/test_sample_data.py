"""Sample data contribution: the bundled synthetic segment through the reader."""

from __future__ import annotations

from inkloop.io import sample_segment_path


def test_sample_segment_opens_from_the_file_menu_path(make_napari_viewer):
    viewer = make_napari_viewer()

    viewer.open_sample("napari-inkloop", "synthetic_segment")

    volume = viewer.layers["synthetic_sample"]
    assert volume.data.shape == (16, 768, 768)
    assert volume.metadata["inkloop_segment_path"] == str(sample_segment_path())
    assert "ink labels" in viewer.layers
    assert viewer.layers["ink labels"].opacity == 0.7  # a few strokes: shown strongly
