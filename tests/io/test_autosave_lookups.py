"""An opening, `inkloop train` and the no-labels message each look up the newest autosave
once (stats, rescue folders and, for a torn pair, PNG headers: round trips on an NFS share),
and an opening reads a saved pair's headers once to see whether it is torn."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from inkloop._cli_train_labels import _tell_if_autosave_newer
from inkloop._napari._side_images import decoded_side_images, opening_labels
from inkloop.io import _autosaved, _images, initial_labels, label_paths, open_segment
from inkloop.io._labels import _no_labels_message, write_label_files


@pytest.fixture
def counted(monkeypatch):
    """How often the newest autosave was looked up, and PNG headers were read, since."""
    counts = collections.Counter()

    def counting(module, name):
        real = getattr(module, name)

        def call(*args, **kwargs):
            counts[name] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, call)

    counting(_autosaved, "newest_autosave")
    counting(_images, "image_text")
    return counts


def _saved(segment_folder):
    """The segment, its labels saved by inkloop (a pair with write ids) and no autosave."""
    segment = open_segment(segment_folder)
    shape = segment.shape[1:]
    write_label_files(label_paths(segment)[0], np.zeros(shape, np.uint8), np.ones(shape, bool))
    return open_segment(segment_folder)


def test_an_opening_looks_up_the_autosave_and_reads_the_saved_headers_once(
    segment_folder, data_home, counted
):
    initial_labels(_saved(segment_folder))
    assert counted == {"newest_autosave": 1, "image_text": 2}  # the ink's and the mask's


@pytest.mark.parametrize("said", ["inkloop train", "no labels"])
def test_what_is_said_of_the_autosave_looks_it_up_once(segment_folder, data_home, counted, said):
    segment = _saved(segment_folder)
    if said == "inkloop train":
        _tell_if_autosave_newer(segment)
    else:
        _no_labels_message(segment)
    assert counted["newest_autosave"] == 1


def _with_autosave(segment_folder, kind: str):
    """The segment with saved labels and, for ``kind``, an autosave newer than them: whole,
    torn (its mask the one its write replaced), or torn with its ink cut off (unreadable)."""
    segment = _saved(segment_folder)
    shape = segment.shape[1:]
    ink, supervised = np.zeros(shape, np.uint8), np.zeros(shape, bool)
    ink_path, mask_path = label_paths(segment, autosave=True)
    write_label_files(ink_path, ink, supervised)
    if kind != "whole":
        earlier, ink[20:30] = mask_path.read_bytes(), 255
        write_label_files(ink_path, ink, supervised | (ink > 0))
        mask_path.write_bytes(earlier)  # the new mask never renamed into place
    if kind == "unreadable":
        ink_path.write_bytes(ink_path.read_bytes()[:-40])
    return open_segment(segment_folder)


@pytest.mark.parametrize("autosave", [None, "whole", "torn", "unreadable"])
@pytest.mark.filterwarnings("ignore::inkloop._notify.InkloopWarning")  # a torn one's restore
def test_napari_s_open_looks_up_the_autosave_once(segment_folder, data_home, counted, autosave):
    """napari's open (the reader's `decoded_side_images`, then `opening_labels`)."""
    segment = _with_autosave(segment_folder, autosave) if autosave else _saved(segment_folder)
    counted.clear()
    opening_labels(decoded_side_images(segment))
    assert counted["newest_autosave"] == 1
