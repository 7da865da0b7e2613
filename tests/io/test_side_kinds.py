"""A renamed segment folder: the hint names every side file kept under the old id (labels,
masks, validation region, rounds, model, autosaves, predictions, and the kept copies of
labels, models and predictions), warns that the validation region is not held out, and
gives a rename that uses them all."""

from __future__ import annotations

import json
import subprocess

import pytest

from inkloop.io import open_segment, stray_side_files_hint
from inkloop.io._validation import read_validation_region
from inkloop.synthetic import write_segment

KEPT = (
    "segA_validation_region.json",
    "segA_rounds.jsonl",
    "segA_inkloop_model.pt",
    "segA_inkloop_model.saved-20261207-101010.pt",
    "segA_inklabels.autosave.png",
    "segA_inklabels.saved-20261207-101010.png",
    "segA_supervision_mask.saved-20261207-101010-2.png",
    "segA_prediction.saved-20261207-101010.png",
)


@pytest.fixture
def renamed(tmp_path):
    """Segment segA with every kind of side file, its folder renamed segA-backup."""
    folder = write_segment(tmp_path / "segA", 32, 48, 6, seed=1)
    (folder / "segA_validation_region.json").write_text(
        json.dumps({"validation_region": [0, 0, 16, 24]})
    )
    for name in KEPT[1:]:
        (folder / name).write_bytes(b"x")
    (folder / "segA_prediction.ome.zarr").mkdir()
    return folder.rename(tmp_path / "segA-backup")


def test_the_hint_names_every_side_file_kept_under_the_old_id(renamed):
    hint = stray_side_files_hint(open_segment(renamed))
    for name in (*KEPT, "segA_inklabels.png", "segA_mask.png", "segA_prediction.ome.zarr"):
        assert name in hint
    assert "segA_validation_region.json is not read: its labels are trained on" in hint
    assert f"rename them to use them (11 files), as `cd {renamed} && {{ mv -n " in hint
    assert "mv -n segA_rounds.jsonl segA-backup_rounds.jsonl;" in hint


def test_with_labels_and_mask_renamed_the_rest_is_still_named(renamed):
    for kind in ("inklabels.png", "mask.png"):  # as the hint named them before
        (renamed / f"segA_{kind}").rename(renamed / f"segA-backup_{kind}")
    hint = stray_side_files_hint(open_segment(renamed))
    assert hint is not None
    assert "segA_validation_region.json" in hint
    assert "segA-backup_" not in hint.split(" in ")[0]  # its own files are not named


def test_the_rename_it_gives_leaves_nothing_named_and_the_region_read(renamed):
    hint = stray_side_files_hint(open_segment(renamed))
    _run_rename(hint)
    segment = open_segment(renamed)
    assert stray_side_files_hint(segment) is None
    assert read_validation_region(segment) == (0, 0, 16, 24)
    assert (renamed / "segA-backup_inkloop_model.saved-20261207-101010.pt").is_file()


def _run_rename(hint: str) -> None:
    """Runs the command the hint gives, under sh."""
    command = hint[hint.index("`cd ") + 1 : hint.index(" }`") + 2]
    subprocess.run(["sh", "-c", command], check=True)


def _names(folder) -> set[str]:
    return {path.name for path in folder.iterdir()}


@pytest.mark.parametrize("suffix", ["_superseded", "_b"])
def test_the_rename_leaves_the_segments_own_files_whose_id_starts_with_the_old(tmp_path, suffix):
    """The data server's <id>_superseded layout: the labels saved under the folder's name
    start with the old id's prefix; a glob on it renamed them too, and the mask was lost."""
    folder = write_segment(tmp_path / "segA", 32, 48, 6, seed=1)
    folder = folder.rename(tmp_path / f"segA{suffix}")
    (folder / "segA_inklabels.png").rename(folder / f"segA{suffix}_inklabels.png")
    (folder / "backup_inklabels.png").write_bytes(
        (folder / f"segA{suffix}_inklabels.png").read_bytes()
    )
    (folder / "backup_notes.txt").write_text("mine")
    hint = stray_side_files_hint(open_segment(folder))
    assert "(2 files)" in hint
    _run_rename(hint)
    assert _names(folder) >= {f"segA{suffix}_inklabels.png", f"segA{suffix}_mask.png"}
    assert {"backup_notes.txt", "backup_inklabels.png"} <= _names(folder)  # kept: its own id
    segment = open_segment(folder)
    assert segment.mask is not None
    assert segment.ink_labels is not None


def test_one_stray_id_a_prefix_of_another_keeps_each_ids_files(tmp_path):
    folder = write_segment(tmp_path / "new", 32, 48, 6, seed=1)
    for name in ("old_rounds.jsonl", "old_b_validation_region.json"):
        (folder / name).write_text("{}")
    _run_rename(stray_side_files_hint(open_segment(folder)))
    assert {"new_rounds.jsonl", "new_validation_region.json"} <= _names(folder)
    assert "new_b_validation_region.json" not in _names(folder)


def test_on_windows_the_hint_lists_the_renames(renamed, monkeypatch):
    monkeypatch.setattr("inkloop.io._side_kinds.WINDOWS", True)
    hint = stray_side_files_hint(open_segment(renamed))
    assert (
        "rename them to use them (11 files): segA_inklabels.png to segA-backup_inklabels.png, "
        in hint
    )
    assert "mv " not in hint
    assert "`" not in hint
