"""`inkloop train`: settings this machine cannot train with, and a disk that fills at the
end, are one line on stderr, not a traceback and the message again; a validation region
that cannot score is said, not scored 0. The engine's log would
reach stderr too (Python's last-resort handler); under pytest it is caught in caplog."""

from __future__ import annotations

import errno
import json
import logging
import tempfile

import pytest

from inkloop.cli import main
from tests._helpers import FAST


def _train(folder, out, *options) -> list[str]:
    return ["train", str(folder), "--out", str(out), "--max-steps", "1", *FAST, *options]


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (["--cuda-graphs"], "CUDA graphs need a CUDA device; this trains on cpu"),
        (
            ["--encoder", "tu-vit_small_patch16_224"],
            "encoder 'tu-vit_small_patch16_224' cannot be a UNet's: it has no feature pyramid",
        ),
    ],
)
def test_settings_that_cannot_train_here_are_one_line(
    training_folder, tmp_path, capfd, caplog, options, error
):
    out = tmp_path / "model.pt"
    assert main(_train(training_folder, out, *options)) == 1
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    (line,) = capfd.readouterr().err.splitlines()
    assert line.startswith(f"inkloop train: error: {error}")
    assert not out.exists()


def test_a_full_disk_at_the_end_says_so_in_one_line_and_where_the_weights_went(
    training_folder, tmp_path, monkeypatch, capfd, caplog
):
    from pathlib import Path

    written = Path.write_bytes
    out, rescue = tmp_path / "model.pt", tmp_path / "rescue"
    rescue.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(rescue))

    def full_where_asked(part, data):  # the part a save to ``out`` writes first
        if part.name.startswith(f".{out.name}."):
            raise OSError(errno.ENOSPC, "No space left on device")
        return written(part, data)

    monkeypatch.setattr(Path, "write_bytes", full_where_asked)
    assert main(_train(training_folder, out)) == 1
    (kept,) = rescue.iterdir()
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert not [record for record in caplog.records if record.exc_info]
    error = f"[Errno {errno.ENOSPC}] No space left on device; the weights are in {kept}"
    assert err.splitlines()[-1] == f"inkloop train: error: {error}"
    assert not out.exists()


def test_a_validation_region_without_ink_is_said_and_gets_no_score(
    training_folder, tmp_path, capfd
):
    out = tmp_path / "model.pt"
    assert main(_train(training_folder, out, "--validation", "64:96,0:128")) == 0
    said = capfd.readouterr()
    assert "validation" not in json.loads(said.out)  # no F0.5 of 0.000 for a model
    no_ink = "the validation region's labels hold no ink: every score would be 0; none is given"
    assert said.err.splitlines() == [no_ink]
