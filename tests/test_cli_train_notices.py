"""`inkloop train` says on stderr, in one line, what it decides that a user may not expect:
labels without a papyrus mask supervise every pixel, the air around the papyrus included."""

from __future__ import annotations

import shutil

from inkloop.cli import main
from tests._helpers import FAST


def test_labels_without_a_mask_say_every_pixel_is_supervised_and_how_to_give_one(
    training_folder, tmp_path, capfd, monkeypatch
):
    trained = []  # the supervision it would train with: training itself is not the matter

    def train_to_file(segment, ink, supervised, *args, **kwargs):
        trained.append(supervised)
        return {"interrupted": False}

    monkeypatch.setattr("inkloop.headless.train_to_file", train_to_file)
    folder = tmp_path / training_folder.name
    mask = folder / f"{folder.name}_mask.png"
    kept = shutil.ignore_patterns("*_mask.png", "*.jsonl")  # the mask, any supervision mask
    shutil.copytree(training_folder, folder, ignore=kept)
    args = ["train", str(folder), "--out", str(tmp_path / "model.pt"), *FAST]

    assert main(args) == 0

    assert trained.pop().all()
    told = [line for line in capfd.readouterr().err.splitlines() if "papyrus mask" in line]
    assert told == [
        f"inkloop train: {folder.name} has no papyrus mask: every pixel is supervised, the air "
        "around the papyrus included (taught as no ink); give --supervision MASK.png (255 = "
        f"labelled), or put a papyrus mask (255 = papyrus) at {mask}"
    ]
    shutil.copy(training_folder / mask.name, mask)
    assert main(args) == 0
    assert not trained.pop().all()
    assert "papyrus mask" not in capfd.readouterr().err
