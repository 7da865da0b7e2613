"""The Model section names what the next run continues: the segment's own model, trained on
it before and continued at a reopen, is not "the loaded model"."""

from __future__ import annotations

from inkloop._napari._model_panel import LOADED, OWN
from inkloop.io import checkpoint_path, open_segment
from tests._napari._fakes import write_torch_zip


def test_the_segments_own_model_is_named_so_and_a_loaded_one_as_loaded(
    open_in_dock, segment_folder, tmp_path
):
    own = checkpoint_path(open_segment(segment_folder))
    write_torch_zip(own)
    _, widget = open_in_dock(segment_folder)
    panel = widget.model_panel

    assert panel.init == own  # continued at the reopen
    assert (panel.checkpoint_label.text(), panel.checkpoint_file.whole) == (OWN, own.name)

    other = tmp_path / "other.pt"
    write_torch_zip(other)
    assert panel.load_model(other)
    assert (panel.checkpoint_label.text(), panel.checkpoint_file.whole) == (LOADED, "other.pt")
    assert panel.load_model(own)  # chosen again: still this segment's own
    assert panel.checkpoint_label.text() == OWN
