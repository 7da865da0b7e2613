"""Labels another window writes while the reader reads them, or while no session here paints
the layer, are never overwritten by this window's older copy: the files are stamped before
they are read (and as a session ends), not when the dock's session begins."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop._locks import LOCKS, claim
from inkloop._napari import _reader
from inkloop._napari._label_claims import _CLAIMED, labels_lock_path
from inkloop.io import label_paths, open_segment, save_labels
from inkloop.synthetic import write_segment
from tests._napari._gui import messages
from tests._napari.test_labels_claimed_again import A, B, _ink_rows

needs_locks = pytest.mark.skipif(not LOCKS, reason="labels are claimed with flock, not on Windows")


def _autosave_stroke_c(folder) -> None:
    """Another window's autosave of its stroke C (row 100)."""
    segment = open_segment(folder)
    ink = np.zeros(segment.shape[1:], np.uint8)
    ink[95:105, 10:100] = 255
    save_labels(segment, ink, ink > 0, autosave=True)


def _written_while_read(monkeypatch, folder) -> None:
    """Make the reader's next read of ``folder`` see the other window autosave C right
    after it read the labels (before the layers are made and the dock's session begins)."""
    tell = _reader._tell_about_labels

    def autosaved_meanwhile(*args):
        _autosave_stroke_c(folder)
        return tell(*args)

    monkeypatch.setattr(_reader, "_tell_about_labels", autosaved_meanwhile)


def _paint_tick_and_flush(session):
    session.painter.stamp_along([(60, 20), (60, 90)])  # B
    session.autosaver.save_if_changed()  # the next autosave tick claims them again
    session.autosaver.flush()
    return label_paths(session.segment, autosave=True)[0]


@needs_locks
def test_labels_autosaved_elsewhere_while_read_are_never_taken_over(
    open_in_dock, unlabelled_folder, monkeypatch
):
    held = claim(labels_lock_path(open_segment(unlabelled_folder)))  # the other window's
    _written_while_read(monkeypatch, unlabelled_folder)
    _, widget = open_in_dock(unlabelled_folder)
    session = widget.labels
    assert "still being written by, another" in session.elsewhere
    assert session.layer.data[100, 50] == 0  # read before C
    held.close()  # that window closes, having written nothing more

    autosaved = _paint_tick_and_flush(session)

    assert session.elsewhere is not None
    assert _ink_rows(autosaved) == {100}  # C kept


def test_labels_written_while_read_by_a_window_since_closed_are_refused(
    open_in_dock, unlabelled_folder, monkeypatch
):
    _written_while_read(monkeypatch, unlabelled_folder)
    shown = len(messages(0))
    _, widget = open_in_dock(unlabelled_folder)
    session, name = widget.labels, open_segment(unlabelled_folder).name

    autosaved = _paint_tick_and_flush(session)

    written = f"the labels of {name} were written by another window since this one read them"
    assert session.elsewhere == written
    assert [m for m in messages(shown) if written in m] == [
        f"Ink Loop: {written}: this window neither autosaves nor saves them, as that would "
        "overwrite that window's; save this layer under another name (File → Save Selected "
        'Layers, type "Ink Loop Vesuvius ink labels (*.png)"), or close that window (or, if it '
        f"left {name} already, wait until it has written its strokes) and open {name} again here"
    ]
    with pytest.raises(PermissionError, match=written):
        session.save().result()
    assert _ink_rows(autosaved) == {100}


@needs_locks
def test_labels_written_elsewhere_while_switched_away_are_never_taken_over(
    open_in_dock, unlabelled_folder, tmp_path, qtbot
):
    _, widget = open_in_dock(unlabelled_folder)
    widget.labels.painter.stamp_along(A)
    lock_file = labels_lock_path(open_segment(unlabelled_folder))
    widget.open_segment(str(write_segment(tmp_path / "other", 48, 80, 6, seed=4)), wait=True)
    qtbot.waitUntil(lambda: lock_file not in _CLAIMED)  # let go once A is written
    held = claim(lock_file)  # another window paints C
    _autosave_stroke_c(unlabelled_folder)
    widget.open_segment(str(unlabelled_folder), wait=True)  # back to its layer, which holds A alone
    session = widget.labels
    assert "still being written by, another" in session.elsewhere
    held.close()

    autosaved = _paint_tick_and_flush(session)

    assert session.elsewhere is not None
    assert _ink_rows(autosaved) == {100}


def test_a_duplicate_of_labels_with_strokes_not_yet_autosaved_stays_writable(
    open_in_dock, unlabelled_folder
):
    from napari.layers._layer_actions import _duplicate_layer

    viewer, widget = open_in_dock(unlabelled_folder)
    widget.labels.painter.stamp_along(A)  # in the copy too; written as the original's ends
    viewer.layers.selection = {widget.labels.layer}
    _duplicate_layer(viewer.layers)

    assert widget.labels.layer.name.endswith("copy")
    assert widget.labels.elsewhere is None
    widget.labels.painter.stamp_along(B)
    assert _ink_rows(widget.labels.save().result()[0]) == {20, 60}
