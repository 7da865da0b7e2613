"""`inkloop.headless.train_to_file` over a model of another run whose save cannot be moved
in and whose earlier model cannot be put back either: the error says where each is, and
nothing is tried again behind it (closing review D8 of session 42, finding 3)."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import pytest

from inkloop.headless import train_to_file
from inkloop.io import load_labels, open_segment
from inkloop.settings import EngineSettings
from tests._helpers import save_tiny_checkpoint, tiny_model, tiny_training


def test_a_failed_put_back_says_where_the_earlier_model_is(
    training_folder, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the weights are rescued
    out = save_tiny_checkpoint(tmp_path / "model.pt")
    earlier = out.read_bytes()
    real = os.replace

    def held(src, dst, *args, **kwargs):  # Windows: a scanner holds out
        if Path(dst) == out and not Path(src).name.startswith(out.name + "."):
            raise PermissionError(errno.EACCES, "being used by another process", str(src))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", held)
    segment = open_segment(training_folder)
    ink, supervised, _ = load_labels(segment)
    settings = EngineSettings(model=tiny_model(), train=tiny_training(max_steps=1))
    with pytest.raises(RuntimeError) as raised:
        train_to_file(segment, ink, supervised, settings, out, progress=False, overwrite=True)
    (kept,) = [p for p in tmp_path.iterdir() if ".saved-" in p.name]
    (rescued,) = tmp_path.glob("inkloop-model-*.pt")
    assert str(raised.value).endswith(f"; the weights are in {rescued}")
    assert f"the model saved there before is still kept as {kept}" in capsys.readouterr().err
    assert kept.read_bytes() == earlier
    assert not out.exists()
