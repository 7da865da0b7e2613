"""One window paints a segment's labels, also among the viewers of one process; labels held
elsewhere are claimed again at each autosave tick and Save, and taken over once let go of if
nobody wrote them since; a session lets go of them as soon as its last strokes are written."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inkloop._locks import LOCKS, claim
from inkloop._napari._autosave import Autosaver
from inkloop._napari._label_claims import labels_lock_path
from inkloop.io import label_paths, open_segment
from inkloop.synthetic import write_segment
from tests._helpers import folder_contents
from tests._napari._gui import messages
from tests._napari.test_labels_claimed import _claimer

needs_locks = pytest.mark.skipif(not LOCKS, reason="labels are claimed with flock, not on Windows")
A, B, C = [(20, 20), (20, 90)], [(60, 20), (60, 90)], [(100, 20), (100, 90)]  # three strokes


def _ink_rows(path) -> set[int]:
    """The rows of the strokes above whose ink is in the ink label file ``path``."""
    ink = np.asarray(Image.open(path))
    return {row for row in (20, 60, 100) if ink[row, 50] > 0}


def _free(lock_file) -> bool:
    """Whether nothing holds ``lock_file`` (flock: another open file of this process conflicts)."""
    probe = claim(lock_file)
    if probe is not None:
        probe.close()
    return probe is not None


def _two_viewers(open_in_dock, folder):
    """``folder`` opened in two viewers of this process, a stroke A in the first before the
    second opens: (first widget, second widget, the notifications the second's opening gave)."""
    _, first = open_in_dock(folder)
    first.labels.painter.stamp_along(A)
    shown = len(messages(0))
    _, second = open_in_dock(folder)
    return first, second, messages(shown)


def test_a_second_viewer_of_this_process_neither_autosaves_nor_saves_the_labels(
    open_in_dock, unlabelled_folder
):
    first, second, told = _two_viewers(open_in_dock, unlabelled_folder)
    name = second.labels.segment.name
    held = f"the labels of {name} are open in another viewer of this process"
    assert second.labels.elsewhere == held
    assert [m for m in told if "another viewer" in m] == [
        f"Ink Loop: {held}: this window neither autosaves nor saves them, as that would "
        "overwrite that window's; save this layer under another name (File → Save Selected "
        'Layers, type "Ink Loop Vesuvius ink labels (*.png)"), or close that window (or, if it '
        f"left {name} already, wait until it has written its strokes) and open {name} again here"
    ]
    assert np.array_equal(second.labels.layer.data, first.labels.layer.data)  # A, flushed
    second.labels.painter.stamp_along(B)
    before = folder_contents(unlabelled_folder)
    assert second.labels.autosaver.save_if_changed() is None  # still held: nothing written
    with pytest.raises(PermissionError, match="another viewer of this process"):
        second.labels.save().result()
    assert folder_contents(unlabelled_folder) == before

    first.labels.painter.stamp_along(C)
    ink_path, _ = first.labels.save().result()
    assert _ink_rows(ink_path) == {20, 100}  # the first viewer's strokes, none of the second's


@needs_locks
def test_labels_let_go_of_unchanged_are_taken_over_at_the_next_autosave_tick(
    open_in_dock, unlabelled_folder
):
    first, second, _ = _two_viewers(open_in_dock, unlabelled_folder)
    second.labels.painter.stamp_along(B)
    first.viewer.layers.clear()  # the first viewer's session ends: nothing new to write
    shown = len(messages(0))

    second.labels.autosaver.save_if_changed()  # the next tick

    name = second.labels.segment.name
    assert second.labels.elsewhere is None
    assert messages(shown) == [
        f"Ink Loop: the labels of {name} are no longer open elsewhere: this window autosaves "
        "and saves them from now on"
    ]
    assert isinstance(second.labels.autosaver, Autosaver)
    second.labels.autosaver.flush()
    autosaved, _ = label_paths(second.labels.segment, autosave=True)
    assert _ink_rows(autosaved) == {20, 60}  # B, painted while refused, is written
    assert not _free(labels_lock_path(second.labels.segment))  # held for this viewer now


@needs_locks
def test_labels_written_by_the_other_viewer_since_stay_refused_until_opened_again(
    open_in_dock, unlabelled_folder
):
    first, second, _ = _two_viewers(open_in_dock, unlabelled_folder)
    segment, viewer = second.labels.segment, second.viewer
    first.labels.painter.stamp_along(C)  # after the second opened: only its flush writes C
    first.viewer.layers.clear()
    autosaved, _ = label_paths(segment, autosave=True)
    assert _ink_rows(autosaved) == {20, 100}
    shown = len(messages(0))

    second.labels.autosaver.save_if_changed()

    written = f"the labels of {segment.name} were written by another window after this one"
    assert second.labels.elsewhere is not None
    (told,) = messages(shown)
    assert told.startswith(f"Ink Loop: {written}")
    assert _free(labels_lock_path(segment))  # nothing here writes them: nothing held
    shown = len(messages(0))
    with pytest.raises(PermissionError, match=written):
        second.labels.save().result()
    assert len(messages(shown)) == 1  # the refusal alone
    assert _ink_rows(autosaved) == {20, 100}  # C is kept

    (*_, labels) = viewer.open(str(unlabelled_folder), plugin="napari-inkloop")  # File → Open
    assert second.labels.layer is labels
    assert second.labels.elsewhere is None
    assert _ink_rows(second.labels.save().result()[0]) == {20, 100}


def test_switching_reopening_or_duplicating_in_one_viewer_keeps_the_labels_writable(
    open_in_dock, unlabelled_folder, tmp_path
):
    from napari.layers._layer_actions import _duplicate_layer

    viewer, widget = open_in_dock(unlabelled_folder)
    widget.labels.painter.stamp_along(A)
    widget.open_segment(str(write_segment(tmp_path / "other", 48, 80, 6, seed=4)), wait=True)
    widget.open_segment(str(unlabelled_folder), wait=True)  # back to it: its layers on top again
    assert widget.labels.segment.path == open_segment(unlabelled_folder).path
    assert widget.labels.elsewhere is None
    viewer.open(str(unlabelled_folder), plugin="napari-inkloop")  # File → Open, again
    assert widget.labels.elsewhere is None
    viewer.layers.selection = {widget.labels.layer}
    _duplicate_layer(viewer.layers)  # Layer → Duplicate: the dock paints the copy
    assert widget.labels.layer.name.endswith("copy")
    assert widget.labels.elsewhere is None
    widget.labels.painter.stamp_along(B)
    assert _ink_rows(widget.labels.save().result()[0]) == {20, 60}


@needs_locks
def test_labels_of_a_process_that_ended_are_saved_once_claimed_again(
    open_in_dock, unlabelled_folder
):
    lock_file = labels_lock_path(open_segment(unlabelled_folder))
    other, answer = _claimer(lock_file)  # a napari quitting, its claim still held
    assert answer == "held"
    try:
        _, widget = open_in_dock(unlabelled_folder)
        session = widget.labels
        session.painter.stamp_along(B)
        with pytest.raises(PermissionError, match="still being written by, another inkloop/napari"):
            session.save().result()
    finally:
        other.stdin.close()
        other.wait()  # it ended: the system let go of its lock
    shown = len(messages(0))

    written, _ = session.save().result()  # as a tick would, Save claims them again

    assert session.elsewhere is None
    assert sum("no longer open elsewhere" in m for m in messages(shown)) == 1
    assert _ink_rows(written) == {60}
    assert not _free(lock_file)


@needs_locks
def test_closing_lets_go_of_the_labels_once_written_before_the_worker_finishes(
    open_in_dock, unlabelled_folder, monkeypatch
):
    _, widget = open_in_dock(unlabelled_folder)
    session, seen = widget.labels, {}
    lock_file = labels_lock_path(session.segment)
    session.painter.stamp_along(B)
    finish = session.worker.close

    def close_worker():  # its last jobs (a round recorded) take seconds at full size
        autosaved = label_paths(session.segment, autosave=True)[0]
        seen.update(free=_free(lock_file), written=_ink_rows(autosaved))
        finish()

    monkeypatch.setattr(session.worker, "close", close_worker)
    widget.viewer.layers.clear()  # the dock's session ends
    assert seen == {"free": True, "written": {60}}
