"""A segment's labels painted in one process at a time: another napari that opens them is
told, once, and writes no label file (its Save would overwrite the first one's)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from inkloop._locks import LOCKS, claim
from inkloop._napari._label_claims import labels_lock_path
from inkloop.io import label_paths, open_segment
from tests._helpers import folder_contents

pytestmark = pytest.mark.skipif(not LOCKS, reason="labels are claimed with flock, not on Windows")

# claims the lock file argv[1] as a painting process does (`inkloop._locks.claim`), says
# whether it got it, and holds it until its stdin closes
CLAIMER = """
import sys
from pathlib import Path
from inkloop._locks import claim
held = claim(Path(sys.argv[1]))
print("held" if held else "refused", flush=True)
sys.stdin.read()
"""


def _claimer(lock_file) -> tuple[subprocess.Popen, str]:
    child = subprocess.Popen(
        [sys.executable, "-c", CLAIMER, str(lock_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    answer = child.stdout.readline().strip()
    child.stdout.close()  # its one line read: it writes nothing more
    return child, answer


def test_labels_open_in_another_process_are_neither_autosaved_nor_saved(
    open_in_dock, segment_folder, qtbot
):
    from napari.utils.notifications import notification_manager

    lock_file = labels_lock_path(open_segment(segment_folder))
    other, answer = _claimer(lock_file)  # another napari paints this segment
    assert answer == "held"
    try:
        shown = len(notification_manager.records)
        _viewer, widget = open_in_dock(segment_folder)
        session = widget.labels
        name = session.segment.name
        told = [r.message for r in notification_manager.records[shown:]]
        assert [m for m in told if "another inkloop/napari" in m] == [
            f"Ink Loop: the labels of {name} are open in, or still being written by, another "
            "inkloop/napari (process "
            f"{other.pid}): this window neither autosaves nor saves them, as that would "
            "overwrite that window's; save this layer under another name (File → Save "
            'Selected Layers, type "Ink Loop Vesuvius ink labels (*.png)"), or close that '
            f"window (or, if it left {name} already, wait until it has written its strokes) "
            f"and open {name} again here"
        ]
        assert widget.run_settings().autosave is None  # nor the model that window trains
        before = folder_contents(segment_folder)
        session.painter.stamp_along([(10, 10), (10, 60)])
        session.autosaver.flush()  # as the dock hides
        shown = len(notification_manager.records)
        with pytest.raises(PermissionError, match="still being written by, another inkloop/napari"):
            session.save().result()
        (refused,) = [r.message for r in notification_manager.records[shown:]]
        held = f"Ink Loop: Labels not saved: the labels of {name} are open in, or still being"
        assert refused.startswith(held)
        assert "whose labels a save here would overwrite" in refused
        widget.viewer.layers.clear()  # closing writes nothing either
        assert folder_contents(segment_folder) == before
    finally:
        other.stdin.close()
        other.wait()


def test_labels_painted_here_are_claimed_until_their_session_closes(open_in_dock, segment_folder):
    viewer, widget = open_in_dock(segment_folder)
    lock_file = labels_lock_path(widget.labels.segment)
    assert widget.labels.elsewhere is None
    other, answer = _claimer(lock_file)
    other.stdin.close()
    assert (answer, other.wait()) == ("refused", 0)  # another napari would be told

    widget.labels.painter.stamp_along([(10, 10), (10, 60)])
    saved = widget.labels.save().result()
    assert saved == label_paths(widget.labels.segment)
    viewer.layers.clear()  # the dock lets go of the labels
    mine = claim(lock_file)
    assert mine is not None
    mine.close()
    assert np.asarray(open_segment(segment_folder).ink_labels).any()


def test_labels_that_cannot_be_locked_are_said_and_painted(segment_folder, monkeypatch):
    from napari.utils.notifications import notification_manager

    from inkloop._napari import _label_claims

    def read_only(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(_label_claims, "claim", read_only)
    said = []
    monkeypatch.setattr(notification_manager, "dispatch", said.append)

    assert _label_claims.claim_labels(open_segment(segment_folder)) is None  # it may write them
    (notice,) = said
    assert "cannot be locked" in notice.message
    assert "Permission denied" in notice.message
