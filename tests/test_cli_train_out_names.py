"""`inkloop train`'s output names: one too long for the file system is refused before any
training, and the weights rescued from a failed save get a name that always fits."""

from __future__ import annotations

import errno
import tempfile
from pathlib import Path

from inkloop._headless_train import save_or_keep
from inkloop.cli import main
from tests._helpers import FAST, posix_only


@posix_only("ENAMETOOLONG for a name past 255 bytes (Windows answers otherwise)")
def test_an_out_name_too_long_for_the_file_system_is_refused_before_training(
    training_folder, tmp_path, capsys, monkeypatch
):
    from inkloop.train import Trainer

    steps, real_step = [], Trainer.step
    monkeypatch.setattr(Trainer, "step", lambda self: steps.append(1) or real_step(self))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where weights would be rescued
    out = tmp_path / ("m" * 245 + ".pt")
    args = ["train", str(training_folder), "--out", str(out), "--max-steps", "1", *FAST]
    assert main(args) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"inkloop train: error: {out}: the name is too long")
    assert error.strip().count("\n") == 0
    assert steps == []
    assert list(tmp_path.iterdir()) == []


class _DiskFullAtOut:
    """An engine whose save to ``out`` fails as a full disk does; other saves write a file."""

    def __init__(self, out: Path, summary: dict):
        self.out, self.summary, self.failures = out, summary, []

    def save(self, path: Path) -> None:
        try:
            if path == self.out:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
            path.write_bytes(b"weights")
            self.summary["checkpoint"] = str(path)
        except OSError as error:  # the engine reports a failed save; the run goes on
            self.failures.append(error)

    def wait(self) -> None:
        pass


class _Report:
    def __init__(self):
        self.summary = {}


def test_the_rescued_weights_get_a_short_name_whatever_the_outs(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    out, report = tmp_path / "models" / ("m" * 240 + ".pt"), _Report()
    engine = _DiskFullAtOut(out, report.summary)
    save_or_keep(engine, out, report)
    (rescued,) = tmp_path.glob("inkloop-mmm*.pt")
    assert report.summary["checkpoint"] == str(rescued)
    assert [e.errno for e in engine.failures] == [errno.ENOSPC]  # only ``out``'s save failed
    assert len(rescued.name) < 100


def test_two_rescues_in_one_second_keep_both(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr("time.strftime", lambda form: "20261207-120000")  # the same second
    out = tmp_path / "models" / "m.pt"
    for _ in range(2):
        report = _Report()
        save_or_keep(_DiskFullAtOut(out, report.summary), out, report)
    assert len(list(tmp_path.glob("inkloop-m-*.pt"))) == 2
