"""House rules: a light `import inkloop`, a Qt-free core, one manifest file."""

from __future__ import annotations

import ast
import importlib
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
