"""A renamed segment folder: the hint names every side file kept under the old id (labels,
masks, validation region, rounds, model and its kept copies, autosaves, predictions), warns
that the validation region is not held out, and gives a rename that uses them all."""

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
    assert f'cd {renamed} && for f in segA_*; do mv -n "$f" segA-backup_"${{f#segA_}}"; done' in (
        hint
    )


def test_with_labels_and_mask_renamed_the_rest_is_still_named(renamed):
    for kind in ("inklabels.png", "mask.png"):  # as the hint named them before
        (renamed / f"segA_{kind}").rename(renamed / f"segA-backup_{kind}")
    hint = stray_side_files_hint(open_segment(renamed))
    assert hint is not None
    assert "segA_validation_region.json" in hint
    assert "segA-backup_" not in hint.split(" in ")[0]  # its own files are not named


def test_the_rename_it_gives_leaves_nothing_named_and_the_region_read(renamed):
    hint = stray_side_files_hint(open_segment(renamed))
    command = hint[hint.index("cd ") : hint.index("; done") + len("; done")]
    subprocess.run(["bash", "-c", command], check=True)
    segment = open_segment(renamed)
    assert stray_side_files_hint(segment) is None
    assert read_validation_region(segment) == (0, 0, 16, 24)
    assert (renamed / "segA-backup_inkloop_model.saved-20261207-101010.pt").is_file()
