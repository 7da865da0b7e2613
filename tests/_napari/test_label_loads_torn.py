"""Labels → Load labels… of a torn pair (new ink beside the mask its save was replacing): the
segment's own pair (saved, or its autosaved copy) loads the ink strokes it still holds, as
opening the segment restores them, and says what was lost; another pair is refused with the
way out a dock user takes, not the command line's or Python's."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from qtpy.QtWidgets import QFileDialog

from inkloop.io import label_paths, open_segment
from inkloop.io._labels import write_label_files
from inkloop.io._sidefiles import supervision_path_for
from tests._napari._gui import messages

OTHERS_WAY_OUT = (
    "if they are still being written, load them again once they are; if their save was cut "
    "short, save them again where they were painted"
)
RESTORED = {
    "saved": "was saved without its supervision mask (a save cut short",
    "autosaved": "was autosaved without its supervision mask (an autosave cut short)",
}


def _torn(ink_path, shape) -> None:
    """A pair at ``ink_path`` as a save killed between its two renames leaves it: the new
    ink (rows 20..30) beside the earlier mask (rows 0..8 labelled "no ink")."""
    ink, supervised = np.zeros(shape, np.uint8), np.zeros(shape, bool)
    supervised[:8] = True
    write_label_files(ink_path, ink, supervised)
    mask = supervision_path_for(ink_path)
    earlier = mask.read_bytes()
    ink[20:30] = 255
    write_label_files(ink_path, ink, supervised | (ink > 0))
    mask.write_bytes(earlier)  # the new mask never renamed into place


def _load(session, brush, ink_path, qtbot, monkeypatch) -> list[str]:
    """Load labels… of ``ink_path``; what the dock said."""
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(ink_path), ""))
    shown = len(messages(0))
    brush.load.click()
    qtbot.waitUntil(lambda: not session.loading)
    return messages(shown)


def _no_ink_saved(segment_folder) -> None:
    """The segment's saved labels: rows 40..48 labelled "no ink", nothing else labelled."""
    segment = open_segment(segment_folder)
    ink, supervised = np.zeros(segment.shape[1:], np.uint8), np.zeros(segment.shape[1:], bool)
    supervised[40:48] = True
    write_label_files(label_paths(segment)[0], ink, supervised)


@pytest.mark.parametrize("which", RESTORED)
def test_the_segments_own_torn_pair_loads_its_ink_strokes_and_save_keeps_them(
    open_in_dock, segment_folder, qtbot, monkeypatch, which
):
    _no_ink_saved(segment_folder)
    widget = open_in_dock(segment_folder)[1]
    session, brush = widget.labels, widget.brush_panel
    ink_path = label_paths(session.segment, autosave=which == "autosaved")[0]
    _torn(ink_path, session.painter.canvas.codes.shape)

    said = _load(session, brush, ink_path, qtbot, monkeypatch)

    warned = [i for i, message in enumerate(said) if f"{ink_path} {RESTORED[which]}" in message]
    assert warned == [0], said  # said once, on applying them, before "Loaded"
    assert f"Loaded {ink_path}" in said[1]
    ink, supervised = session.labels()
    assert (ink[20:30] == 255).all()
    assert supervised[20:30].all()
    assert not supervised[:8].any()  # the torn pair's own "no ink": lost, as said
    # an autosaved copy goes over the saved labels, as opening lays it: their "no ink" stays
    kept = which == "autosaved"
    assert supervised[40:48].all() == kept
    assert not ink[40:48].any()
    session.save().result(timeout=30)
    saved = open_segment(segment_folder)
    assert (np.asarray(saved.ink_labels)[20:30] == 255).all()
    assert np.asarray(saved.supervision)[20:30].all()
    assert np.asarray(saved.supervision)[40:48].all() == kept


def test_a_torn_pair_load_dropped_as_the_session_closed_says_nothing_of_it(
    segment_widget, qtbot, monkeypatch
):
    session, brush = segment_widget.labels, segment_widget.brush_panel
    before = session.painter.canvas.codes.copy()
    ink_path = label_paths(session.segment)[0]
    _torn(ink_path, before.shape)
    read, reading, release = session.read, threading.Event(), threading.Event()

    def held_read(path):  # a full-size read takes seconds: the session closes meanwhile
        result = read(path)
        reading.set()
        release.wait(10)
        return result

    monkeypatch.setattr(session, "read", held_read)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(ink_path), ""))
    shown = len(messages(0))
    brush.load.click()
    qtbot.waitUntil(reading.is_set)
    session.close()
    release.set()
    qtbot.waitUntil(lambda: not session.loading)

    assert not [message for message in messages(shown) if str(ink_path) in message]
    np.testing.assert_array_equal(session.painter.canvas.codes, before)


def test_another_torn_pair_is_refused_with_the_docks_way_out(
    segment_widget, tmp_path, qtbot, monkeypatch
):
    session, brush = segment_widget.labels, segment_widget.brush_panel
    before = session.painter.canvas.codes.copy()
    ink_path = tmp_path / "copy_inklabels.png"
    _torn(ink_path, before.shape)

    (said,) = _load(session, brush, ink_path, qtbot, monkeypatch)

    assert "two different saves" in said
    assert said.endswith(OTHERS_WAY_OUT)
    np.testing.assert_array_equal(session.painter.canvas.codes, before)
