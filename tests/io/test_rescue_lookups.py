"""Looking up a segment's rescue folders reads, and makes nothing: an opening on a full
temporary disk opens, and only writing a rescue makes its folder, that write's refusal said
as the rescue's (closing review C25 of session 42, finding 4)."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from inkloop._napari._autosave_rescue import write_elsewhere
from inkloop.io import initial_labels, label_paths, open_segment
from inkloop.io._autosaved import rescue_folders
from tests.io.test_rescued_labels import INK, kept, rescue  # noqa: F401

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "getuid"), reason="a temp folder per user"),
    pytest.mark.usefixtures("rescue"),  # the temporary folder in tmp_path
]


def test_looking_up_rescue_folders_makes_no_folder(segment_folder):
    segment = open_segment(segment_folder)
    initial_labels(segment)
    rescue_folders(segment)
    assert list(Path(tempfile.gettempdir()).iterdir()) == []


@pytest.fixture
def full_rescue_disks(monkeypatch):
    """Making any rescue folder (``unsaved``, ``inkloop-unsaved*``) raises ENOSPC."""
    make = Path.mkdir

    def full(self, *args, **kwargs):
        if self.name == "unsaved" or self.name.startswith("inkloop-unsaved"):
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return make(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", full)


def test_a_full_temporary_disk_leaves_an_opening_as_it_was(segment_folder, full_rescue_disks):
    segment = open_segment(segment_folder)
    assert initial_labels(segment)[2] == f"labels {label_paths(segment)[0]}"


def test_a_rescue_no_disk_takes_raises_the_segment_folders_refusal(
    segment_folder, full_rescue_disks
):
    segment = open_segment(segment_folder)
    labels = (np.zeros((64, 96), np.uint8), np.zeros((64, 96), bool))
    refused = OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(OSError, match="No space") as raised:
        write_elsewhere(segment, INK, labels, refused)
    assert raised.value is refused
