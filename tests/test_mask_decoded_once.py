"""`inkloop train` decodes the papyrus mask once, for the labels (it is their supervision) and
the engine both, and its batch workers are not sent the decoded mask."""

from __future__ import annotations

from pathlib import Path

from PIL import ImageFile

from inkloop._headless_train import with_mask_decoded
from inkloop.cli import main
from inkloop.io import open_segment
from tests._engine import engine_for
from tests._events import TIMEOUT, Recorder
from tests._helpers import FAST


def test_inkloop_train_decodes_the_mask_once(segment_folder, tmp_path, monkeypatch):
    load, decodes = ImageFile.ImageFile.load, []

    def counted(image):
        if image.tile:  # pixels still to decode (a decoded image's load returns them)
            decodes.append(Path(image.filename).name)
        return load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counted)
    command = ["train", str(segment_folder), "--out", str(tmp_path / "m.pt"), "--max-steps", "1"]
    assert main([*command, *FAST]) == 0

    name = segment_folder.name
    assert sorted(decodes) == [f"{name}_inklabels.png", f"{name}_mask.png"]


def test_the_trainer_reads_the_layers_without_the_decoded_mask(training_folder):
    """Its batch worker processes are each sent its segment (600 MB of mask at full size)."""
    segment = with_mask_decoded(open_segment(training_folder))
    with engine_for(segment, Recorder()) as engine:
        engine.prepare()
        assert engine.wait(TIMEOUT)
        assert engine.mask is segment.mask  # the one decoded: not decoded again
        assert engine.trainer.segment.mask is None
