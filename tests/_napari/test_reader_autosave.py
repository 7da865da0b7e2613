"""The reader opens a segment with its autosaved labels when they are newer than the saved
ones, and then reads only those: the saved files are not decoded (seconds for a whole
segment), so a damaged one does not stop the segment opening."""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path

import dask
import numpy as np
from napari.utils.notifications import notification_manager

import inkloop.io._label_images as label_images
from inkloop._napari._reader import read_segment
from inkloop.brush import decode_labels
from inkloop.io import label_paths, open_segment, save_labels, write_png
from inkloop.io._label_images import PAINTED


def test_a_newer_autosave_opens_without_decoding_the_saved_labels(segment_folder):
    segment = open_segment(segment_folder)
    height, width = segment.shape[1:]
    painted = np.zeros((height, width), np.uint8), np.zeros((height, width), bool)
    painted[0][10:20, 10:40], painted[1][5:25, 5:45] = 255, True
    saved = label_paths(segment)
    write_png(saved[0], np.zeros((height // 2, width), np.uint8), PAINTED)  # damaged
    old = saved[0].stat().st_mtime_ns - 10**9
    for path in filter(Path.is_file, saved):  # saved before the autosave, surely
        os.utime(path, ns=(old, old))
    save_labels(segment, *painted, autosave=True)  # strokes painted since, not saved
    shown = len(notification_manager.records)

    *_, (codes, kwargs, kind) = read_segment(str(segment_folder))

    assert (kwargs["name"], kind) == ("ink labels", "labels")
    ink, supervised = decode_labels(codes)
    np.testing.assert_array_equal(ink, painted[0])
    np.testing.assert_array_equal(supervised, painted[1])
    messages = [record.message for record in notification_manager.records[shown:]]
    assert messages == [
        "Ink Loop: "
        f"{segment.name}: restored autosaved labels {label_paths(segment, autosave=True)[0]}, "
        "newer than the saved labels"
    ]


def test_labels_never_saved_are_said_to_be_restored_unsaved(unlabelled_folder):
    segment = open_segment(unlabelled_folder)
    painted = np.zeros(segment.shape[1:], np.uint8), np.zeros(segment.shape[1:], bool)
    painted[0][10:20, 10:40], painted[1][5:25, 5:45] = 255, True
    save_labels(segment, *painted, autosave=True)  # the dock's strokes, never saved
    shown = len(notification_manager.records)

    *_, (codes, _, _) = read_segment(str(unlabelled_folder))

    np.testing.assert_array_equal(decode_labels(codes)[0], painted[0])
    messages = [record.message for record in notification_manager.records[shown:]]
    autosaved = label_paths(segment, autosave=True)[0]
    restored = f"Ink Loop: {segment.name}: restored unsaved (autosaved) labels {autosaved}"
    assert messages == [restored]


def test_the_autosave_is_decoded_side_by_side_with_the_mask(segment_folder, monkeypatch):
    segment = open_segment(segment_folder)
    painted = np.zeros(segment.shape[1:], np.uint8), np.zeros(segment.shape[1:], bool)
    painted[0][10:20, 10:40], painted[1][5:25, 5:45] = 255, True
    save_labels(segment, *painted, autosave=True)
    # the first two images decoded wait for each other: one after the other, they never meet
    meeting, arrivals = threading.Barrier(2, timeout=10), itertools.count()
    read_image = label_images.read_image

    def read_side_by_side(*args, **kwargs):
        if next(arrivals) < 2:
            meeting.wait()
        return read_image(*args, **kwargs)

    monkeypatch.setattr(label_images, "read_image", read_side_by_side)

    with dask.config.set(num_workers=3):  # mask, autosaved ink and supervision at once
        *_, (codes, _, _) = read_segment(str(segment_folder))

    ink, supervised = decode_labels(codes)
    np.testing.assert_array_equal(ink, painted[0])
    np.testing.assert_array_equal(supervised, painted[1])
