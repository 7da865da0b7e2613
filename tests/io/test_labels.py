"""Label files: exact 8-bit round trip, supervision defaults, autosave to recover from."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from inkloop._command import as_command
from inkloop.io import (
    autosaved_labels,
    initial_labels,
    label_paths,
    load_labels,
    open_segment,
    probability_map_message,
    read_label_image,
    rounds_path,
    rounds_path_for,
    save_labels,
    supervision_path_for,
    write_label_files,
    write_png,
)
from tests._helpers import folder_listing


def _labels(shape):
    """Soft ink on 30% of the pixels, none elsewhere: no pixel the dock saves is inked but
    unlabelled (label codes hold no such pixel)."""
    rng = np.random.default_rng(0)
    supervised = rng.random(shape) < 0.3
    ink = np.where(supervised, rng.integers(0, 256, shape), 0).astype(np.uint8)
    return ink, supervised


def test_round_trip_is_exact_to_the_8_bit_level(segment_folder):
    segment = open_segment(segment_folder)
    ink, supervised = _labels(segment.shape[1:])
    ink_path, supervision_path = save_labels(segment, ink, supervised)
    assert ink_path == segment_folder / "20231012184423_inklabels.png"
    assert supervision_path == segment_folder / "20231012184423_supervision_mask.png"
    reopened = open_segment(segment_folder)
    loaded_ink, loaded_supervised, sources = load_labels(reopened)
    np.testing.assert_array_equal(loaded_ink, ink)
    np.testing.assert_array_equal(loaded_supervised, supervised)
    assert sources["supervision_file"] == str(supervision_path)
    assert set(np.unique(read_label_image(supervision_path, ink.shape, ink=True))) == {0, 255}


def test_labels_without_a_supervision_mask_supervise_the_papyrus(segment_folder):
    segment = open_segment(segment_folder)
    ink, supervised, sources = load_labels(segment)
    np.testing.assert_array_equal(supervised, np.asarray(segment.mask))
    assert sources["supervision_file"].endswith("_mask.png")
    assert ink.dtype == np.uint8


def test_autosave_is_offered_back_until_the_labels_are_saved(segment_folder):
    segment = open_segment(segment_folder)
    assert autosaved_labels(segment) is None
    saved_ink = label_paths(segment)[0]
    stamp = saved_ink.stat().st_mtime_ns - 10**9  # the synthetic labels: a second older
    os.utime(saved_ink, ns=(stamp, stamp))
    ink, supervised = _labels(segment.shape[1:])
    save_labels(segment, ink, supervised, autosave=True)
    recovered = autosaved_labels(segment)
    assert recovered == label_paths(segment, autosave=True)
    assert not [p for p in os.listdir(segment_folder) if p.endswith(".tmp")]
    save_labels(segment, ink, supervised)
    assert autosaved_labels(segment) is None  # the saved labels are newer


def test_labels_of_the_wrong_size_are_refused_and_nothing_is_written(segment_folder):
    segment = open_segment(segment_folder)
    before = folder_listing(segment_folder)
    message = r"labels \(10, 10\) do not match the segment's \(64, 96\)"
    with pytest.raises(ValueError, match=message):
        save_labels(segment, np.zeros((10, 10), np.uint8), np.zeros((10, 10), bool))
    assert folder_listing(segment_folder) == before


@pytest.mark.parametrize("crashing_file", [0, 1])  # the ink, or the supervision mask after it
def test_an_interrupted_autosave_keeps_the_previous_pair_whole(
    segment_folder, monkeypatch, crashing_file
):
    segment = open_segment(segment_folder)
    ink, supervised = _labels(segment.shape[1:])
    save_labels(segment, ink, supervised, autosave=True)
    before = folder_listing(segment_folder)
    from PIL import Image

    written, save = [], Image.Image.save

    def crash(self, fp, *args, **kwargs):
        written.append(fp)
        if len(written) <= crashing_file:
            return save(self, fp, *args, **kwargs)
        Path(fp).write_bytes(b"\x89PNG half")  # a partial file, then the process dies
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_labels(segment, 255 - ink, ~supervised, autosave=True)
    monkeypatch.undo()
    assert folder_listing(segment_folder) == before  # no half-written file, no temp file
    loaded_ink, loaded_supervised, _ = load_labels(segment, *label_paths(segment, autosave=True))
    np.testing.assert_array_equal(loaded_ink, ink)
    np.testing.assert_array_equal(loaded_supervised, supervised)


def test_initial_labels_prefer_a_newer_autosave_then_the_saved_files(segment_folder, tmp_path):
    segment = open_segment(segment_folder)
    ink, supervised, source, _ = initial_labels(segment)
    assert source.startswith("labels ")
    assert source.endswith("_inklabels.png")
    np.testing.assert_array_equal(ink, np.asarray(segment.ink_labels))
    saved_ink = label_paths(segment)[0]
    stamp = saved_ink.stat().st_mtime_ns - 10**9
    os.utime(saved_ink, ns=(stamp, stamp))
    painted, painted_supervised = _labels(segment.shape[1:])
    save_labels(segment, painted, painted_supervised, autosave=True)
    ink, supervised, source, _ = initial_labels(open_segment(segment_folder))
    assert source.startswith("restored autosaved labels")
    np.testing.assert_array_equal(ink, painted)
    np.testing.assert_array_equal(supervised, painted_supervised)
    for path in [*label_paths(segment), *label_paths(segment, autosave=True)]:
        path.unlink(missing_ok=True)
    ink, supervised, source, _ = initial_labels(open_segment(segment_folder))
    assert source == "no labels yet"
    assert not ink.any()
    assert not supervised.any()


def test_soft_labels_inkloop_saved_are_never_taken_for_a_probability_map(segment_folder):
    from PIL import Image

    segment = open_segment(segment_folder)
    ink = np.zeros(segment.shape[1:], np.uint8)
    ink[:, : ink.shape[1] // 2] = 204  # painted at Strength 0.8: all its ink is grey
    supervised = np.zeros(ink.shape, bool)
    supervised[:, : ink.shape[1] * 2 // 3] = True  # and a strip of "no ink"
    ink_path = save_labels(segment, ink, supervised)[0]
    assert probability_map_message(*load_labels(segment, ink_path)[:2], ink_path) is None

    elsewhere = ink_path.with_name("from_elsewhere.png")  # the same pixels, not saved by inkloop
    Image.fromarray(ink).save(elsewhere)
    labels = load_labels(segment, elsewhere, supervision_path_for(ink_path))
    message = probability_map_message(*labels[:2], elsewhere)
    assert message.endswith(
        "75% of the labelled pixels are grey (soft ink): it looks like a probability map"
    )


def test_labels_loaded_from_elsewhere_bring_their_own_supervision_mask(segment_folder, tmp_path):
    segment = open_segment(segment_folder)
    ink, supervised = _labels(segment.shape[1:])
    ink_path, supervision_path = write_label_files(tmp_path / "mine.png", ink, supervised)
    assert supervision_path == tmp_path / "mine_supervision_mask.png"
    assert supervision_path_for(tmp_path / "a_inklabels.png") == tmp_path / "a_supervision_mask.png"
    assert rounds_path_for(tmp_path / "a_inklabels.png") == tmp_path / "a_rounds.jsonl"
    assert rounds_path_for(tmp_path / "a_inklabels.autosave.png") == tmp_path / "a_rounds.jsonl"
    assert rounds_path_for(ink_path) == tmp_path / "mine_rounds.jsonl"
    assert rounds_path_for(tmp_path / "gp.ome.zarr") == tmp_path / "gp_rounds.jsonl"
    assert rounds_path(segment) == segment_folder / f"{segment.name}_rounds.jsonl"
    loaded_ink, loaded_supervised, sources = load_labels(segment, ink_path)
    np.testing.assert_array_equal(loaded_ink, ink)
    np.testing.assert_array_equal(loaded_supervised, supervised)
    assert sources["supervision_file"] == str(supervision_path)


def test_other_labels_are_not_masked_by_the_supervision_saved_with_the_segments_own(
    segment_folder, tmp_path
):
    """The segment's supervision mask belongs to its own labels: labels given from elsewhere
    without a mask of their own are supervised on the papyrus."""
    segment = open_segment(segment_folder)
    shape = segment.shape[1:]
    painted = np.zeros(shape, bool)
    painted[:8] = True
    save_labels(segment, np.zeros(shape, np.uint8), painted)  # a few rows painted in the dock
    truth = np.zeros(shape, np.uint8)
    truth[20:30] = 255
    write_png(tmp_path / "truth.png", truth)

    reopened = open_segment(segment_folder)
    _, supervised, sources = load_labels(reopened, tmp_path / "truth.png")

    np.testing.assert_array_equal(supervised, np.asarray(reopened.mask))
    assert sources["supervision_file"] == str(reopened.files["mask"])


def test_a_renamed_segment_folder_names_the_files_it_no_longer_finds(segment_folder, tmp_path):
    renamed = segment_folder.rename(tmp_path / "sample")
    segment = open_segment(renamed)
    assert segment.mask is None  # the files keep the old id
    assert segment.ink_labels is None
    # the command's wording (in Python: labels=, tests/test_api_labels.py)
    with (
        pytest.raises(ValueError, match=r"no ink labels; pass --labels INK\.png") as error,
        as_command(),
    ):
        load_labels(segment)
    message = str(error.value)
    assert "20231012184423_inklabels.png, 20231012184423_mask.png in" in message
    assert "must start with its id, sample_" in message


def test_macos_resource_copies_are_not_taken_for_another_segments_files(segment_folder):
    (segment_folder / f"._{segment_folder.name}_mask.png").write_bytes(b"\0" * 4096)
    (segment_folder / f"{segment_folder.name}_inklabels.png").unlink()
    with (
        pytest.raises(ValueError, match=r"no ink labels; pass --labels INK\.png") as error,
        as_command(),
    ):
        load_labels(open_segment(segment_folder))
    assert "name another segment" not in str(error.value)


def test_segments_sharing_a_folder_do_not_claim_each_others_files(tmp_path):
    import tifffile

    from inkloop.io import stray_side_files_hint, write_png

    tifffile.imwrite(tmp_path / "a.tif", np.zeros((4, 32, 32), np.uint8), photometric="minisblack")
    write_png(tmp_path / "b_mask.png", np.zeros((32, 32), np.uint8))  # segment b's, not a's
    assert stray_side_files_hint(open_segment(tmp_path / "a.tif")) is None


def test_labels_given_explicitly_are_not_blocked_by_a_bad_label_file_beside_the_layers(
    segment_folder, tmp_path
):
    segment = open_segment(segment_folder)
    ink, supervised = _labels(segment.shape[1:])
    given, _ = write_label_files(tmp_path / "given_inklabels.png", ink, supervised)
    write_png(segment_folder / f"{segment.name}_inklabels.png", np.zeros((32, 48), np.uint8))

    loaded_ink, loaded_supervised, sources = load_labels(open_segment(segment_folder), given)

    np.testing.assert_array_equal(loaded_ink, ink)
    np.testing.assert_array_equal(loaded_supervised, supervised)
    assert sources["labels_file"] == str(given)


def test_labels_only_autosaved_by_the_dock_are_named_with_how_to_train_on_them(tmp_path):
    from inkloop.synthetic import write_segment

    segment = open_segment(write_segment(tmp_path / "seg", 32, 48, 4, truth_as_labels=False))
    with pytest.raises(ValueError, match=r"no ink labels; pass --labels INK\.png$"), as_command():
        load_labels(segment)
    ink, supervised = _labels(segment.shape[1:])
    autosaved = save_labels(segment, ink, supervised, autosave=True)  # never saved

    with pytest.raises(ValueError, match="click Save labels") as error, as_command():
        load_labels(segment)

    assert str(error.value) == (
        f"{segment.path}: the segment has no ink labels; the dock's unsaved labels are in "
        f"{autosaved[0].name}: click Save labels in the dock, or pass --labels {autosaved[0]} "
        f"--supervision {autosaved[1]}"
    )
    loaded_ink, loaded_supervised, _ = load_labels(segment, *autosaved)  # as it says
    np.testing.assert_array_equal(loaded_ink, ink)
    np.testing.assert_array_equal(loaded_supervised, supervised)


@pytest.mark.parametrize(
    ("os_name", "quoted"),
    [("posix", "'{}'"), ("nt", '"{}"')],
    ids=["posix-single-quotes", "windows-double-quotes"],
)
def test_the_autosaves_paths_are_quoted_for_the_platforms_shell(
    tmp_path, monkeypatch, os_name, quoted
):
    """cmd.exe passes POSIX single quotes on as part of the file name. The platform is
    switched for the quoting alone: pathlib makes WindowsPaths where os.name is 'nt'."""
    from inkloop import _command
    from inkloop.synthetic import write_segment

    folder = write_segment(tmp_path / "my scans" / "seg", 32, 48, 4, truth_as_labels=False)
    segment = open_segment(folder)
    ink, supervised = _labels(segment.shape[1:])
    autosaved = save_labels(segment, ink, supervised, autosave=True)
    monkeypatch.setattr(_command, "os", SimpleNamespace(name=os_name))
    with pytest.raises(ValueError, match="click Save labels") as error, _command.as_command():
        load_labels(segment)
    given = [quoted.format(path) for path in autosaved]
    assert str(error.value).endswith(f"--labels {given[0]} --supervision {given[1]}")
