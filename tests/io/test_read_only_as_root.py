"""A folder no one has the write bit of (`chmod a-w`) is read-only to inkloop whoever runs it.

Root, as in most Docker and GPU containers, may write there all the same, and inkloop did: a
labels lock file as the dock opened the segment, the labels on a save. Run as root, these
tests fail on the code before the rule; as another user the folder refused the probe anyway,
and they pass on both."""

from __future__ import annotations

import numpy as np
import pytest

from inkloop._notify import InkloopWarning
from inkloop.io import (
    _writable,
    checkpoint_path,
    label_paths,
    open_segment,
    prediction_path,
    rounds_path,
    save_labels,
)
from inkloop.synthetic import write_segment
from tests._helpers import folder_contents


@pytest.fixture
def no_write_bits(tmp_path, monkeypatch):
    """A segment folder chmod'ed 0o555, nothing else done to it."""
    folder = write_segment(tmp_path / "share" / "20231005123335", 32, 40, 4, seed=1)
    monkeypatch.setenv(_writable.TOLD_ENV, "")  # a session that has said nothing yet
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)  # lets pytest remove it


def test_a_folder_without_write_bits_is_not_writable(no_write_bits):
    assert not _writable.is_writable(no_write_bits)
    assert _writable.is_writable(no_write_bits.parent)


def test_nothing_is_written_in_a_folder_without_write_bits(no_write_bits, data_home):
    before = folder_contents(no_write_bits)
    with pytest.warns(InkloopWarning, match="is read-only"):
        segment = open_segment(no_write_bits)
    own = segment.sidecar_folder
    assert own.parent == data_home / "read-only"
    # the dock's labels lock lies beside the labels, and autosaves, model and rounds with them
    ink = np.zeros(segment.shape[1:], np.uint8)
    ink[3:9, 4:20] = 255
    supervised = np.ones(segment.shape[1:], bool)
    saved = [*save_labels(segment, ink, supervised)]
    saved += save_labels(segment, ink, supervised, autosave=True)
    made = [checkpoint_path(segment), rounds_path(segment), prediction_path(segment)]
    assert {path.parent for path in [*saved, *label_paths(segment), *made]} == {own}
    assert folder_contents(no_write_bits) == before
