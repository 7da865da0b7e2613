"""Labels that cannot train say why: a mask that covers nothing or misses the ink, and a
faint prediction, are told apart from labels nobody has painted yet."""

from __future__ import annotations

import re

import numpy as np
import pytest

from inkloop.cli import main
from inkloop.io import labels_from_prediction, load_labels, open_segment, write_png
from inkloop.train import LabelError, LabelStore
from inkloop.train._label_checks import NO_NO_INK
from tests._helpers import FAST


def _untrainable(segment_folder, labels=None, supervision=None) -> str:
    segment = open_segment(segment_folder)
    ink, supervised, sources = load_labels(segment, labels, supervision)
    with pytest.raises(LabelError) as raised:
        LabelStore(ink, supervised, sources=sources).check_trainable()
    return str(raised.value)


def _files(segment_folder):
    name = segment_folder.name
    ink_path = segment_folder / f"{name}_inklabels.png"
    ink = np.asarray(open_segment(segment_folder).ink_labels)
    return ink_path, segment_folder / f"{name}_mask.png", int(np.count_nonzero(ink >= 128)), ink


def test_ink_outside_the_mask_asks_whether_it_is_inverted(segment_folder):
    ink_path, mask_path, inked, ink = _files(segment_folder)
    write_png(mask_path, np.where(ink == 0, 255, 0).astype(np.uint8))  # all but the ink
    covered = int(np.count_nonzero(ink == 0))
    assert _untrainable(segment_folder) == (
        f"all {inked:,} ink pixels of {ink_path} lie outside the {covered:,} pixels "
        f"{mask_path} covers: is it inverted, or another segment's?"
    )


def test_a_mask_or_supervision_file_that_covers_nothing_is_named(segment_folder, tmp_path):
    ink_path, mask_path, inked, ink = _files(segment_folder)
    empty = tmp_path / "empty.png"
    write_png(empty, np.zeros(ink.shape, np.uint8))
    unused = f"so none of the {inked:,} ink pixels of {ink_path} can train: is it the right mask?"
    message = _untrainable(segment_folder, supervision=empty)
    assert message == f"no labelled pixels yet: {empty} covers no pixel, {unused}"
    write_png(mask_path, np.zeros(ink.shape, np.uint8))
    message = _untrainable(segment_folder)
    assert message == f"no labelled pixels yet: {mask_path} covers no pixel, {unused}"
    # nothing painted at all: still the advice to paint, with the file that covers nothing
    assert _untrainable(segment_folder, labels=empty, supervision=empty) == (
        f"no labelled pixels yet ({empty} covers no pixel): paint some ink and some 'no ink' first"
    )


def test_labels_with_no_ink_anywhere_still_ask_for_ink(segment_folder, tmp_path):
    _, _, _, ink = _files(segment_folder)
    write_png(tmp_path / "none.png", np.zeros(ink.shape, np.uint8))
    message = _untrainable(segment_folder, labels=tmp_path / "none.png")
    assert message == "the labels hold no ink yet: paint ink where you see it"


@pytest.mark.parametrize(
    ("soft", "threshold", "message"),
    [
        (
            True,
            0.5,
            "no pixel of the prediction reaches 0.5, where soft labels begin to be ink (the "
            "highest is 0.298): load it as hard labels (not soft) from a threshold of 0.29",
        ),
        (
            False,
            0.5,
            "no pixel of the prediction reaches the threshold 0.5 (the highest is 0.298): lower "
            "the threshold to 0.29",
        ),
    ],
)
def test_a_faint_prediction_gives_its_highest_value_and_a_threshold_that_works(
    segment_folder, tmp_path, soft, threshold, message
):
    segment = open_segment(segment_folder)
    _, _, _, ink = _files(segment_folder)
    faint = tmp_path / "faint.png"
    write_png(faint, np.where(ink > 0, 76, 10).astype(np.uint8))  # 76 / 255 = 0.298
    with pytest.raises(ValueError, match=f"^{re.escape(f'{faint}: {message}')}$"):
        labels_from_prediction(segment, faint, threshold, soft)
    labels = labels_from_prediction(segment, faint, 0.29, soft=False)
    LabelStore(*labels[:2]).check_trainable()  # the threshold advised makes ink

    write_png(faint, np.zeros(ink.shape, np.uint8))
    with pytest.raises(ValueError, match="holds no ink \\(the highest is 0\\): is it the right"):
        labels_from_prediction(segment, faint, threshold, soft)


@pytest.mark.parametrize("soft", [True, False], ids=["soft", "hard"])
def test_a_prediction_with_no_papyrus_pixel_below_the_threshold_gives_its_lowest_value(
    segment_folder, tmp_path, soft
):
    """Labels from it would hold no 'no ink' (LabelStore refuses them, naming painting)."""
    segment = open_segment(segment_folder)
    _, _, _, ink = _files(segment_folder)
    sure = tmp_path / "sure.png"
    write_png(sure, np.where(ink > 0, 230, 10).astype(np.uint8))  # 10 / 255 = 0.039
    told = (
        f"{sure}: no papyrus pixel of the prediction is below the threshold 0.02, so none is "
        "'no ink' (the lowest is 0.039): raise the threshold to 0.05"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(told)}$"):
        labels_from_prediction(segment, sure, 0.02, soft)
    labels = labels_from_prediction(segment, sure, 0.05, soft)
    LabelStore(*labels[:2]).check_trainable()  # the threshold advised makes "no ink"

    write_png(sure, np.full(ink.shape, 200, np.uint8))  # no threshold splits it
    with pytest.raises(ValueError, match="no threshold leaves both ink and 'no ink': is it the"):
        labels_from_prediction(segment, sure, 0.5, soft)


def test_inkloop_train_says_the_ink_lies_outside_the_mask(segment_folder, tmp_path, capsys):
    ink_path, mask_path, inked, ink = _files(segment_folder)
    write_png(mask_path, np.where(ink == 0, 255, 0).astype(np.uint8))
    out = tmp_path / "model.pt"
    assert main(["train", str(segment_folder), "--out", str(out), *FAST]) == 1
    error = capsys.readouterr().err
    assert re.fullmatch(
        f"inkloop train: error: all {inked:,} ink pixels of {re.escape(str(ink_path))} lie "
        f"outside the .+ pixels {re.escape(str(mask_path))} covers: is it inverted, or "
        "another segment's\\?\n",
        error,
    )
    assert not out.exists()


def test_inkloop_train_refuses_soft_ink_strokes_without_no_ink(segment_folder, tmp_path, capsys):
    shape = np.asarray(open_segment(segment_folder).ink_labels).shape
    ink = np.zeros(shape, np.uint8)
    ink[10:20, 10:60], ink[20:24, 10:60] = 255, 60  # a stroke and its soft edge, no "no ink"
    write_png(tmp_path / "ink.png", ink)
    write_png(tmp_path / "labelled.png", np.where(ink > 0, 255, 0).astype(np.uint8))
    out = tmp_path / "model.pt"
    labels = [
        "--labels",
        str(tmp_path / "ink.png"),
        "--supervision",
        str(tmp_path / "labelled.png"),
    ]
    assert main(["train", str(segment_folder), *labels, "--out", str(out), *FAST]) == 1
    assert capsys.readouterr().err == f"inkloop train: error: {NO_NO_INK}\n"
    assert not out.exists()
