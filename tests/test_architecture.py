"""House rules: a light `import inkloop`, a Qt-free core, one manifest file."""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "inkloop"
GUI_PACKAGES = {
    "napari",
    "qtpy",
    "PyQt5",
    "PyQt6",
    "PySide2",
    "PySide6",
    "magicgui",
    "superqt",
    "vispy",
}
HEAVY_PACKAGES = {"torch", "torchvision", "dask", "segmentation_models_pytorch", *GUI_PACKAGES}


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, also inside functions."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


CORE_FILES = sorted(p for p in SOURCE.rglob("*.py") if "_napari" not in p.parts)


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(SOURCE)))
def test_core_never_imports_napari_or_qt(path):
    imported = _imported_modules(path)
    gui = {m for m in imported if m.split(".")[0] in GUI_PACKAGES}
    assert not gui, f"{path.name} imports {gui}; only inkloop._napari may"
    reaches_gui_package = {m for m in imported if m.startswith("inkloop._napari")}
    if path.name == "_cli_demo.py":  # `inkloop demo` starts napari, lazily, from one function
        assert reaches_gui_package == {"inkloop._napari._demo"}
    else:
        assert not reaches_gui_package


@pytest.mark.parametrize("module", ["inkloop", "inkloop.io", "inkloop.synthetic", "inkloop.cli"])
def test_importing_core_loads_nothing_heavy(module):
    code = f"import sys, {module}; print(','.join(sorted(sys.modules)))"
    loaded = (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        .stdout.strip()
        .split(",")
    )
    heavy = {m for m in loaded if m.split(".")[0] in HEAVY_PACKAGES}
    assert not heavy, f"import {module} loaded {sorted(heavy)[:5]}"


def test_manifest_validates_and_names_every_contribution():
    from npe2 import PluginManifest

    manifest = PluginManifest.from_distribution("napari-inkloop")
    assert manifest.name == "napari-inkloop"
    assert [w.display_name for w in manifest.contributions.widgets] == ["Ink Loop"]
    assert manifest.contributions.readers[0].accepts_directories
    for command in manifest.contributions.commands:
        module, _, attribute = command.python_name.partition(":")
        assert hasattr(importlib.import_module(module), attribute), command.python_name


BELOW_THE_ENGINE = ("inkloop.io", "inkloop.train", "inkloop.predict")
ABOVE_THEM = ("inkloop.engine", "inkloop._terminal", "inkloop.headless", "inkloop.cli")


def _above_them(modules) -> set[str]:
    return {m for m in modules if any(m == a or m.startswith(f"{a}.") for a in ABOVE_THEM)}


def test_the_layers_below_the_engine_never_import_it_not_even_inside_a_function():
    """docs/architecture §2's one-way flow: a local import must not hide a step upwards."""
    packages = [SOURCE / name.removeprefix("inkloop.") for name in BELOW_THE_ENGINE]
    upward = {
        str(path.relative_to(SOURCE)): sorted(reached)
        for path in (p for package in packages for p in package.rglob("*.py"))
        if (reached := _above_them(_imported_modules(path)))
    }
    assert not upward


def test_importing_the_layers_below_the_engine_loads_neither_it_nor_the_terminal():
    code = f"import sys, {', '.join(BELOW_THE_ENGINE)}; print(','.join(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = run.stdout.strip().split(",")
    assert set(BELOW_THE_ENGINE) <= set(loaded)
    assert not _above_them(loaded)


@pytest.mark.parametrize("leaf", ["_command.py", "_errors.py"])
def test_the_leaves_every_layer_asks_import_nothing_of_inkloop(leaf):
    assert not {m for m in _imported_modules(SOURCE / leaf) if m.split(".")[0] == "inkloop"}


NAPARI_FILES = sorted((SOURCE / "_napari").rglob("*.py"))
TORCH_PACKAGES = {"torch", "torchvision", "segmentation_models_pytorch", "timm"}


@pytest.mark.parametrize("path", NAPARI_FILES, ids=lambda p: p.name)
def test_napari_side_never_imports_torch(path):
    """torch (and torchvision's dynamo) next to a viewer segfaults on Mesa: docs/architecture §3."""
    torch = {m for m in _imported_modules(path) if m.split(".")[0] in TORCH_PACKAGES}
    assert not torch, f"{path.name} imports {torch}; the engine process does the torch work"


def test_the_whole_dock_widget_loads_without_torch():
    code = (
        "import sys, inkloop._napari._widget, inkloop._napari._reader, inkloop._napari._writer;"
        "print(','.join(sorted(sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert "napari" in loaded.split(",")
    assert not {m for m in loaded.split(",") if m.split(".")[0] in TORCH_PACKAGES}


# A napari session with the dock, run by a fresh interpreter (this one holds torch: conftest
# imports it before any viewer): two segments with their own model (one readable, one not),
# Load model…, Save labels and the Guide's prediction image; then what it loaded.
DOCK_SESSION = """
import json, sys, time
import napari
from napari.utils.notifications import notification_manager
from qtpy.QtWidgets import QApplication, QFileDialog
from inkloop._napari._widget import InkLoopWidget

own, unreadable, chosen, prediction, heavy = sys.argv[1:6]

def wait_until(done):
    deadline = time.monotonic() + 60
    while not done():
        assert time.monotonic() < deadline, "timed out"
        QApplication.processEvents()
        time.sleep(0.01)

InkLoopWidget.warm_engine = False
viewer = napari.Viewer(show=False)
_, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
widget.open_segment(own, wait=True)
widget.open_segment(unreadable, wait=True)
QFileDialog.getOpenFileName = staticmethod(lambda *args, **kwargs: (chosen, ""))
widget.model_panel.load_button.click()
loaded = []
widget.guide_panel.load_prediction(prediction).finished.connect(lambda: loaded.append(1))
wait_until(lambda: loaded)
widget.brush_panel.save.click()
said = notification_manager.records
wait_until(lambda: any(r.message.startswith("Ink Loop: Saved ") for r in said))
ink, _ = widget.labels.labels()
state = {"init": str(widget.model_panel.init), "inked": int((ink > 0).sum())}
viewer.close()
print(json.dumps({
    **state,
    "said": [record.message for record in notification_manager.records],
    "loaded": sorted(m for m in sys.modules if m.split(".")[0] in heavy.split(",")),
}))
"""


@pytest.mark.slow
def test_the_dock_stays_torch_free_while_it_runs(tmp_path):
    """torch or torchvision imported in the napari process after the viewer exists segfaults
    on Mesa (docs/architecture §3): the dock's own work, the engine's aside, loads neither."""
    import numpy as np
    from PIL import Image

    from inkloop.io import checkpoint_path, open_segment
    from inkloop.synthetic import write_segment
    from tests._helpers import save_tiny_checkpoint

    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display (pytest-xvfb provides one)")
    own, unreadable = (write_segment(tmp_path / name, 64, 96, 8, seed=3) for name in "AB")
    save_tiny_checkpoint(checkpoint_path(open_segment(own)))
    checkpoint_path(open_segment(unreadable)).write_bytes(b"not a model")
    chosen = save_tiny_checkpoint(tmp_path / "chosen.pt")
    Image.fromarray(np.full((64, 96), 200, np.uint8)).save(tmp_path / "prediction.png")
    arguments = [own, unreadable, chosen, tmp_path / "prediction.png", ",".join(TORCH_PACKAGES)]

    run = subprocess.run(
        [sys.executable, "-c", DOCK_SESSION, *map(str, arguments)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip

    assert run.returncode == 0, run.stderr[-2000:]  # -11: torchvision after the viewer
    session = json.loads(run.stdout.splitlines()[-1])
    said = "\n".join(session["said"])
    assert "A continues from the model trained on it before" in said
    assert "the model trained on B before cannot be read" in said
    assert "Ink Loop: Saved B_inklabels.png and B_supervision_mask.png" in said
    assert session["init"] == str(chosen)  # Load model… chose it
    assert session["inked"] > 0  # the prediction image labelled the papyrus
    assert session["loaded"] == []
