"""A label pair torn by a process ended between its two renames (new ink beside the mask of
an earlier write): opening it restores the new ink strokes and says so, never the mix, in
which strokes erased since come back as "no ink"; `inkloop train` refuses it."""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from inkloop._command import as_command, shell_quoted
from inkloop._notify import InkloopWarning
from inkloop.cli import main
from inkloop.io import initial_labels, label_paths, load_labels, open_segment, save_labels
from inkloop.io._autosaved import rescue_folders
from inkloop.io._labels import PAINTED, write_label_files
from inkloop.io._write import write_png
from tests._helpers import FAST

SECOND = 10**9


class Killed(BaseException):
    """The process ending (SIGKILL) at a moment chosen by the test."""


def _killed_after_the_ink(monkeypatch, write) -> None:
    """Run ``write()``, ending it as a kill would between its ink's rename and its mask's."""
    renames, replace = [], os.replace

    def replace_once(source, target):
        renames.append(target)
        if len(renames) == 2:
            raise Killed
        replace(source, target)

    monkeypatch.setattr(os, "replace", replace_once)
    with pytest.raises(Killed):
        write()
    monkeypatch.setattr(os, "replace", replace)


def _dated(paths, stamp: int) -> None:
    for path in paths:
        os.utime(path, ns=(stamp, stamp))


def _labels(shape, ink_rows: slice, no_ink_rows: slice) -> tuple[np.ndarray, np.ndarray]:
    ink, supervised = np.zeros(shape, np.uint8), np.zeros(shape, bool)
    ink[ink_rows] = 255
    supervised[ink_rows] = supervised[no_ink_rows] = True
    return ink, supervised


def test_a_torn_autosave_restores_its_ink_over_the_saved_labels_and_says_so(
    segment_folder, monkeypatch
):
    segment = open_segment(segment_folder)
    shape, now = segment.shape[1:], time.time_ns()
    saved = _labels(shape, slice(0, 8), slice(8, 12))
    earlier = _labels(shape, slice(20, 30), slice(30, 34))  # the last whole autosave
    earlier = (saved[0] | earlier[0], saved[1] | earlier[1])
    newest = _labels(shape, slice(40, 50), slice(50, 54))  # rows 20..34 erased
    newest = (saved[0] | newest[0], saved[1] | newest[1])
    _dated(save_labels(segment, *saved), now - 3 * SECOND)
    _dated(save_labels(segment, *earlier, autosave=True), now - 2 * SECOND)
    _killed_after_the_ink(monkeypatch, lambda: save_labels(segment, *newest, autosave=True))
    ink_path = label_paths(segment, autosave=True)[0]

    with pytest.warns(InkloopWarning, match=f"{ink_path} was autosaved without its supervision"):
        ink, supervised, source, found = initial_labels(open_segment(segment_folder))

    assert (source, found) == (f"restored autosaved ink labels {ink_path}", ink_path)
    np.testing.assert_array_equal(ink, newest[0])
    assert not supervised[20:34].any()  # erased: not taught as "no ink"
    np.testing.assert_array_equal(supervised, saved[1] | (newest[0] > 0))


def test_a_torn_rescued_autosave_restores_its_ink_and_says_so(
    segment_folder, data_home, monkeypatch
):
    segment = open_segment(segment_folder)
    for path in label_paths(segment):
        path.unlink(missing_ok=True)
    shape = segment.shape[1:]
    rescued = rescue_folders(segment)[0] / label_paths(segment, autosave=True)[0].name
    rescued.parent.mkdir(parents=True)
    earlier = _labels(shape, slice(0, 8), slice(8, 12))
    newest = _labels(shape, slice(20, 30), slice(30, 34))  # rows 0..12 erased
    write_label_files(rescued, *earlier, fast=True)
    _killed_after_the_ink(monkeypatch, lambda: write_label_files(rescued, *newest, fast=True))

    with pytest.warns(InkloopWarning, match=f"{rescued} was autosaved without its supervision"):
        ink, supervised, _, found = initial_labels(open_segment(segment_folder))

    assert found == rescued
    np.testing.assert_array_equal(ink, newest[0])
    np.testing.assert_array_equal(supervised, newest[0] > 0)


def test_torn_saved_labels_open_with_their_ink_strokes_and_say_so(segment_folder, monkeypatch):
    segment = open_segment(segment_folder)
    shape = segment.shape[1:]
    first = _labels(shape, slice(0, 8), slice(8, 12))
    second = _labels(shape, slice(30, 40), slice(40, 44))  # rows 0..12 erased
    save_labels(segment, *first)
    _killed_after_the_ink(monkeypatch, lambda: save_labels(segment, *second))
    ink_path = label_paths(segment)[0]

    with pytest.warns(InkloopWarning, match=f"{ink_path} was saved without its supervision"):
        ink, supervised, source, _ = initial_labels(open_segment(segment_folder))

    assert source == f"labels {ink_path}"
    np.testing.assert_array_equal(ink, second[0])
    np.testing.assert_array_equal(supervised, second[0] > 0)  # rows 0..12 not "no ink"


def test_whole_pairs_and_files_without_a_write_id_are_not_torn(segment_folder):
    segment = open_segment(segment_folder)
    labels = _labels(segment.shape[1:], slice(0, 8), slice(8, 12))
    save_labels(segment, *labels)
    np.testing.assert_array_equal(load_labels(open_segment(segment_folder))[1], labels[1])
    write_png(label_paths(segment)[0], labels[0], PAINTED)  # an older inkloop's: no id

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, supervised, _, _ = initial_labels(open_segment(segment_folder))
    np.testing.assert_array_equal(supervised, labels[1])


def test_inkloop_train_refuses_a_torn_pair_in_one_line(
    segment_folder, tmp_path, capsys, monkeypatch
):
    segment = open_segment(segment_folder)
    shape = segment.shape[1:]
    first = _labels(shape, slice(0, 8), slice(8, 12))
    save_labels(segment, *first)
    second = _labels(shape, slice(30, 40), slice(40, 44))  # rows 8..12 erased
    second = (first[0] | second[0], second[1] | (first[0] > 0))
    _killed_after_the_ink(monkeypatch, lambda: save_labels(segment, *second))
    ink_path, supervision_path = label_paths(segment)
    out = tmp_path / "model.pt"

    args = ["train", str(segment_folder), "--out", str(out), "--max-steps", "1", *FAST]
    assert main(args) == 1

    err = capsys.readouterr().err
    assert err.startswith("inkloop train: error: ")
    assert err.strip().count("\n") == 0
    assert f"{ink_path} and {supervision_path.name} are of two different saves" in err
    assert err.strip().endswith(
        "Ink Loop dock, which restores its ink strokes, and click Save labels"
    )
    assert "--supervision" not in err  # as they are, erased strokes would be taught as "no ink"
    assert not out.exists()


@pytest.mark.parametrize("route", ["stale ink, newer mask", "older mask put back"])
def test_two_whole_saves_side_by_side_open_as_they_are_without_a_warning(segment_folder, route):
    """Not torn: a URL segment's kept ink beside a colleague's newer mask, or a mask of an
    older save put back from a backup. Only a kill leaves the new ink beside the very mask
    its write was replacing."""
    segment = open_segment(segment_folder)
    shape, (ink_path, supervision_path) = segment.shape[1:], label_paths(segment)
    saves = [_labels(shape, slice(0, 4 + 4 * n), slice(20, 24 + 4 * n)) for n in range(3)]
    written = []
    for labels in saves:
        save_labels(segment, *labels)
        written.append((ink_path.read_bytes(), supervision_path.read_bytes()))
    ink_save, mask_save = (1, 2) if route == "stale ink, newer mask" else (2, 0)
    ink_path.write_bytes(written[ink_save][0])
    supervision_path.write_bytes(written[mask_save][1])

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ink, supervised, source, _ = initial_labels(open_segment(segment_folder))
        loaded = load_labels(open_segment(segment_folder))
    assert source == f"labels {ink_path}"
    np.testing.assert_array_equal(supervised, saves[mask_save][1])
    np.testing.assert_array_equal(loaded[1], saves[mask_save][1])
    np.testing.assert_array_equal(ink, saves[ink_save][0])


def test_a_torn_rescued_autosave_wins_over_an_older_whole_autosave_beside_the_segment(
    segment_folder, data_home, monkeypatch
):
    segment = open_segment(segment_folder)
    shape, now = segment.shape[1:], time.time_ns()
    rescued = _saved_autosaved_then_refused(segment, now)
    first = _labels(shape, slice(20, 24), slice(24, 28))
    _dated(write_label_files(rescued, *first, fast=True), now - 3 * SECOND)
    newest = _labels(shape, slice(30, 40), slice(40, 44))
    _killed_after_the_ink(monkeypatch, lambda: write_label_files(rescued, *newest, fast=True))

    with pytest.warns(InkloopWarning, match=f"{rescued} was autosaved without its supervision"):
        ink, _, source, found = initial_labels(open_segment(segment_folder))

    assert (source, found) == (f"restored autosaved ink labels {rescued}", rescued)
    assert set(np.nonzero(ink)[0]) == {*range(0, 4), *range(30, 40)}  # over the saved labels


def test_inkloop_train_says_a_torn_autosave_is_newer(segment_folder, monkeypatch):
    from types import SimpleNamespace

    from inkloop._cli_train_labels import train_labels

    segment = open_segment(segment_folder)
    shape, now = segment.shape[1:], time.time_ns()
    _dated(save_labels(segment, *_labels(shape, slice(0, 4), slice(4, 8))), now - 3 * SECOND)
    earlier = _labels(shape, slice(10, 14), slice(14, 18))
    _dated(save_labels(segment, *earlier, autosave=True), now - 2 * SECOND)
    newest = _labels(shape, slice(30, 40), slice(40, 44))
    _killed_after_the_ink(monkeypatch, lambda: save_labels(segment, *newest, autosave=True))
    options = dict(labels=None, supervision=None, labels_from_prediction=None)
    args = SimpleNamespace(out=segment_folder / "model.pt", **options)
    ink_path = label_paths(segment, autosave=True)[0]

    with pytest.warns(InkloopWarning, match=f"the dock's autosaved ink {ink_path} is newer"):
        train_labels(args, open_segment(segment_folder))


def test_loading_a_torn_pair_named_explicitly_says_how_to_use_it_as_it_is(
    segment_folder, monkeypatch
):
    segment = open_segment(segment_folder)
    shape = segment.shape[1:]
    save_labels(segment, *_labels(shape, slice(0, 8), slice(8, 12)))
    _killed_after_the_ink(
        monkeypatch, lambda: save_labels(segment, *_labels(shape, slice(30, 40), slice(0, 0)))
    )
    ink_path, supervision_path = label_paths(segment)
    copy = segment_folder.parent / "copy_inklabels.png"  # its mask: copy_supervision_mask.png
    copy.write_bytes(ink_path.read_bytes())
    copy.with_name("copy_supervision_mask.png").write_bytes(supervision_path.read_bytes())

    with as_command(), pytest.raises(ValueError, match="two different saves") as raised:
        load_labels(open_segment(segment_folder), copy)

    mask = copy.with_name("copy_supervision_mask.png")
    assert "Ink Loop dock" not in str(raised.value)  # it would not open these
    assert str(raised.value).endswith(
        f"to use them as they are, give --labels {shell_quoted(copy)} "
        f"--supervision {shell_quoted(mask)}"
    )


def test_inkloop_train_on_a_torn_autosave_and_no_saved_labels_says_only_the_docks_way_out(
    segment_folder, tmp_path, capsys, monkeypatch
):
    segment = open_segment(segment_folder)
    for path in label_paths(segment):
        path.unlink(missing_ok=True)  # a first session, killed before any Save
    shape = segment.shape[1:]
    save_labels(segment, *_labels(shape, slice(0, 4), slice(4, 30)), autosave=True)
    newest = _labels(shape, slice(40, 44), slice(44, 48))  # rows 10..29 erased
    _killed_after_the_ink(monkeypatch, lambda: save_labels(segment, *newest, autosave=True))
    ink_path = label_paths(segment, autosave=True)[0]
    args = ["train", str(segment_folder), "--out", str(tmp_path / "model.pt"), *FAST]

    assert main([*args, "--max-steps", "1"]) == 1

    err = capsys.readouterr().err
    assert f"the dock's autosaved ink {ink_path} is of an autosave cut short: open" in err
    assert "--supervision" not in err
    with pytest.warns(InkloopWarning, match="autosaved without its supervision"):
        ink, supervised, _, _ = initial_labels(open_segment(segment_folder))  # as it says
    save_labels(segment, ink, supervised)
    _, trained_on, _ = load_labels(open_segment(segment_folder))
    np.testing.assert_array_equal(trained_on, newest[0] > 0)  # rows 10..29 not "no ink"


def test_loading_a_torn_autosave_named_explicitly_says_only_the_docks_way_out(
    segment_folder, monkeypatch
):
    segment = open_segment(segment_folder)
    shape = segment.shape[1:]
    save_labels(segment, *_labels(shape, slice(0, 8), slice(8, 30)), autosave=True)
    newest = _labels(shape, slice(30, 40), slice(0, 0))
    _killed_after_the_ink(monkeypatch, lambda: save_labels(segment, *newest, autosave=True))
    ink_path = label_paths(segment, autosave=True)[0]

    with as_command(), pytest.raises(ValueError, match="two different saves") as raised:
        load_labels(open_segment(segment_folder), ink_path)

    assert str(raised.value).endswith("which restores its ink strokes, and click Save labels")
    assert "--supervision" not in str(raised.value)


def test_a_first_rescued_autosave_cut_short_is_restored_and_said(
    segment_folder, data_home, monkeypatch
):
    segment = open_segment(segment_folder)
    shape, now = segment.shape[1:], time.time_ns()
    rescued = _saved_autosaved_then_refused(segment, now)
    newest = _labels(shape, slice(30, 40), slice(40, 44))  # its first write: no mask to leave
    _killed_after_the_ink(monkeypatch, lambda: write_label_files(rescued, *newest, fast=True))

    with pytest.warns(InkloopWarning, match=f"{rescued} was autosaved without its supervision"):
        ink, _, source, found = initial_labels(open_segment(segment_folder))

    assert (source, found) == (f"restored autosaved ink labels {rescued}", rescued)
    assert set(np.nonzero(ink)[0]) == {*range(0, 4), *range(30, 40)}  # over the saved labels


def _saved_autosaved_then_refused(segment, now: int) -> Path:
    """Saved labels (rows 0-3 ink), then an autosave beside them (rows 10-13), then the
    segment's folder refuses writes: where the next autosave's ink is kept."""
    shape = segment.shape[1:]
    _dated(save_labels(segment, *_labels(shape, slice(0, 4), slice(4, 8))), now - 5 * SECOND)
    beside = _labels(shape, slice(10, 14), slice(14, 18))
    _dated(save_labels(segment, *beside, autosave=True), now - 4 * SECOND)
    rescued = rescue_folders(segment)[0] / label_paths(segment, autosave=True)[0].name
    rescued.parent.mkdir(parents=True)
    return rescued
