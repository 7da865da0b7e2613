"""Stand-ins the dock tests share: an engine process with no process, found wherever a module
of the dock imported it, a stroke, and a model file the dock takes."""

from __future__ import annotations

import pickle
import sys
import zipfile
from typing import ClassVar

import numpy as np

from inkloop.engine._labelfiles import LabelFiles


def patch_in_dock(monkeypatch, name: str, value) -> None:
    """Replace ``name`` wherever a module of the dock imported it."""
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("inkloop._napari") and hasattr(module, name):
            monkeypatch.setattr(module, name, value)


class FakeEngine:
    """An engine process that keeps what it is given and asked, with no process."""

    made: ClassVar[list[FakeEngine]] = []
    alive = True

    def __init__(self, path, ink, supervised, settings, report, label_files=None, **kw) -> None:
        if label_files is None:  # written where it is made, as EngineProcess does
            label_files = LabelFiles(ink, supervised)
        ink, supervised, _ = LabelFiles.open(label_files.folder)
        self.ink, self.supervised = np.array(ink), np.array(supervised)
        del ink, supervised, _
        label_files.remove()  # as a closed engine does
        self.settings, self.report = settings, report
        self.updates, self.starts, self.closed = [], 0, False
        self.made.append(self)

    def update_labels(self, ink, supervised, box) -> None:
        self.updates.append((box, np.array(ink), np.array(supervised)))

    def start(self) -> None:
        self.starts += 1

    def preview(self, region, every) -> int:
        return 1

    def close(self) -> None:
        self.closed = True


def fake_engines(monkeypatch) -> list[FakeEngine]:
    """The engines the dock makes from now on (FakeEngines), in order."""
    monkeypatch.setattr(FakeEngine, "made", [])
    patch_in_dock(monkeypatch, "EngineProcess", FakeEngine)
    return FakeEngine.made


def ink_stroke(painter, y: int, x: int):
    """A short hard ink stroke from (y, x); its box."""
    painter.set_brush(mode="ink", radius=3, hardness=1.0, strength=1.0)
    return painter.stamp_along([(y, x), (y, x + 8)])


def write_torch_zip(path) -> None:
    """A file laid out as torch.save writes one (a zip holding ``<name>/data.pkl`` and the
    tensors): what the dock checks of a checkpoint, without torch in napari's process."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model/data.pkl", pickle.dumps({"format": "inkloop"}))
        archive.writestr("model/data/0", bytes(64))
