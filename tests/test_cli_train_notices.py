"""`inkloop train` says on stderr, in one line, what it decides that a user may not expect:
labels without a papyrus mask supervise every pixel, the air around the papyrus included."""

from __future__ import annotations

import os
import shutil

import pytest

from inkloop.cli import main
from tests._helpers import FAST


@pytest.fixture
def trained(monkeypatch) -> list:
    """The (ink, supervision) each `inkloop train` would train with: training itself is not
    the matter."""
    runs = []

    def train_to_file(segment, ink, supervised, *args, **kwargs):
        runs.append((ink, supervised))
        return {"interrupted": False}

    monkeypatch.setattr("inkloop.headless.train_to_file", train_to_file)
    return runs


def test_labels_without_a_mask_say_every_pixel_is_supervised_and_how_to_give_one(
    training_folder, tmp_path, capfd, trained
):
    folder = tmp_path / training_folder.name
    mask = folder / f"{folder.name}_mask.png"
    kept = shutil.ignore_patterns("*_mask.png", "*.jsonl")  # the mask, any supervision mask
    shutil.copytree(training_folder, folder, ignore=kept)
    args = ["train", str(folder), "--out", str(tmp_path / "model.pt"), *FAST]

    assert main(args) == 0

    assert trained.pop()[1].all()
    told = [line for line in capfd.readouterr().err.splitlines() if "papyrus mask" in line]
    assert told == [
        f"inkloop train: {folder.name} has no papyrus mask: every pixel is supervised, the air "
        "around the papyrus included (taught as no ink); give --supervision MASK.png (255 = "
        f"labelled), or put a papyrus mask (255 = papyrus) at {mask}"
    ]
    shutil.copy(training_folder / mask.name, mask)
    assert main(args) == 0
    assert not trained.pop()[1].all()
    assert "papyrus mask" not in capfd.readouterr().err


def test_autosaved_labels_newer_than_the_saved_ones_are_named_with_the_options_to_use_them(
    segment_folder, tmp_path, capfd, trained
):
    import numpy as np

    from inkloop._command import shell_quoted
    from inkloop.io import label_paths, open_segment, save_labels

    segment = open_segment(segment_folder)
    saved = np.asarray(segment.ink_labels)
    autosaved = label_paths(segment, autosave=True)
    save_labels(segment, 255 - saved, np.ones(saved.shape, bool), autosave=True)
    stamp = autosaved[0].stat().st_mtime_ns - 10**9  # the saved labels: a second older
    for path in label_paths(segment):
        if path.is_file():
            os.utime(path, ns=(stamp, stamp))
    args = ["train", str(segment_folder), "--out", str(tmp_path / "model.pt"), *FAST]

    assert main(args) == 0

    np.testing.assert_array_equal(trained.pop()[0], saved)  # as asked: the saved labels
    told = [line for line in capfd.readouterr().err.splitlines() if "autosave" in line]
    assert told == [
        f"inkloop train: training on the saved labels of {segment.name}, but the dock's "
        f"unsaved labels {autosaved[0].name} and {autosaved[1].name} are newer: to train on "
        f"them, click Save labels in the dock or pass --labels {shell_quoted(autosaved[0])} "
        f"--supervision {shell_quoted(autosaved[1])}"
    ]
    save_labels(segment, 255 - saved, np.ones(saved.shape, bool))  # Save labels: now older
    assert main(args) == 0
    assert "autosave" not in capfd.readouterr().err
