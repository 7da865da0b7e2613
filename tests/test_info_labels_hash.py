"""`inkloop info SEGMENT --labels-hash` (or `--labels F`) prints the hash a checkpoint records
of the labels it trained on, so which labels a model saw can be checked without Python; plain
`inkloop info` reads only headers, and prints no hash."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from inkloop.checkpoint import load_checkpoint
from inkloop.cli import main
from inkloop.io import load_labels, open_segment
from inkloop.train import LabelStore


def _info(capsys, *args) -> dict:
    assert main(["info", *map(str, args)]) == 0
    return json.loads(capsys.readouterr().out)


def test_info_prints_the_hash_a_model_trained_on_the_segment_records(
    training_folder, model, capsys
):
    report = _info(capsys, training_folder, "--labels-hash")

    recorded = load_checkpoint(model).provenance
    assert report["labels_hash"] == recorded["labels"]["hash"]
    assert report["labels_file"] == recorded["labels_file"]
    assert report["supervision_file"] == recorded["supervision_file"]


def test_info_prints_the_hash_of_labels_given_as_train_reads_them(segment_folder, capsys):
    segment = open_segment(segment_folder)
    ink = np.asarray(segment.ink_labels).copy()
    ink[:, :40] = 0  # another version of the labels
    other = segment_folder.parent / "labels_v2.png"
    Image.fromarray(ink).save(other)

    own = _info(capsys, segment_folder, "--labels-hash")["labels_hash"]
    report = _info(capsys, segment_folder, "--labels", other)

    ink, supervised, _ = load_labels(segment, other)
    assert report["labels_hash"] == LabelStore(ink, supervised).labels_hash()  # a run's record
    assert report["labels_hash"] != own
    assert report["labels_file"] == str(other)


def test_plain_info_reads_no_pixels_of_the_labels_or_mask(segment_folder, capsys):
    # r4 #2: info decoded and hashed both images on every call (10 s, 1.9 GB at full size)
    for kind in ("inklabels", "mask"):
        image = segment_folder / f"{segment_folder.name}_{kind}.png"
        png = image.read_bytes()
        image.write_bytes(png[: png.index(b"IDAT") + 4])  # its headers whole, no pixel left

    assert main(["info", str(segment_folder)]) == 0

    said = capsys.readouterr()
    report = json.loads(said.out)
    assert report["has_ink_labels"]
    assert report["has_mask"]
    assert report["problems"] == []
    assert said.err == ""
    assert not {"labels_hash", "labels_file", "supervision_file"} & report.keys()


def test_a_segment_without_labels_prints_no_hash(segment_folder, capsys):
    (segment_folder / f"{segment_folder.name}_inklabels.png").unlink()

    report = _info(capsys, segment_folder, "--labels-hash")

    assert report["labels_hash"] is None
    assert report["labels_file"] is None


def test_labels_that_cannot_be_read_are_a_problem_said_once(segment_folder, capsys):
    labels = segment_folder / f"{segment_folder.name}_inklabels.png"
    Image.fromarray(np.zeros((65, 96), np.uint8)).save(labels)  # the layers are 64 x 96

    assert main(["info", str(segment_folder), "--labels-hash"]) == 0

    said = capsys.readouterr()
    report = json.loads(said.out)
    assert report["labels_hash"] is None
    (problem,) = report["problems"]
    assert problem.startswith(f"{labels}: image is 65x96")
    assert said.err.count("image is 65x96") == 1


def test_labels_given_with_a_checkpoint_are_refused(model, tmp_path, capsys):
    assert main(["info", str(model), "--labels", str(tmp_path / "x.png")]) == 1
    assert "--labels and --supervision go with a segment" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--labels", "--supervision"])
def test_a_labels_file_that_is_not_there_is_the_users_error(segment_folder, option, capsys):
    assert main(["info", str(segment_folder), option, str(segment_folder / "none.png")]) == 1
    assert "none.png" in capsys.readouterr().err
