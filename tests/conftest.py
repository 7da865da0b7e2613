"""Shared fixtures: small segments written by the project's own synthetic generator."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import pytest

# docs/architecture §3: torchvision pulls in torch._dynamo, whose LLVM collides with Mesa's once
# a napari viewer exists (segfault). The napari and the training tests share this process, so the
# training stack is imported here, before any viewer; the app itself keeps torch out of napari.
import segmentation_models_pytorch  # noqa: F401  (isort: keep above inkloop)

from inkloop.synthetic import SyntheticSegment, make_segment, write_segment
from tests._helpers import FAST, TRAIN_SHAPE

SHAPE = (8, 64, 96)  # Z, H, W: small enough for fast tests, big enough for real structure


_MODULES_AT_FREEZE = [0]


def _freeze_what_is_imported() -> None:
    """Take what has been imported (torch, napari, dask: millions of objects) out of the
    garbage collector's sight. napari runs a full collection each time a layer is removed
    (`VispyCanvas._clean_and_update_scenegraph`), so every viewer closed at a test's end paid
    ~0.4 s to walk them; the app's own napari process holds no torch."""
    gc.collect()
    gc.freeze()
    _MODULES_AT_FREEZE[0] = len(sys.modules)


def pytest_collection_finish(session) -> None:
    _freeze_what_is_imported()


@pytest.hookimpl(trylast=True)  # after the test's fixtures are torn down
def pytest_runtest_teardown(item, nextitem) -> None:
    """Freeze again once a test imported much (napari's Qt side with the first viewer; pandas
    and scipy with the first dask compute: ~0.25 s more to each later collection)."""
    if len(sys.modules) > _MODULES_AT_FREEZE[0] + 100:
        _freeze_what_is_imported()


@pytest.fixture(scope="session", autouse=True)
def decoded_layers_here(tmp_path_factory):
    """Decoded PNG/JPEG layers go to this run's temporary folder, not the user's ~/.cache
    (set in the environment, so engine children and loader workers inherit it); and no
    remote chunks are kept unless a test asks: a cache shared by the run would hand one
    test's chunks to another whose server got the same port. A test that unsets
    $INKLOOP_CHUNK_CACHE keeps them in this run's folder, not ~/.cache/inkloop/chunks."""
    from inkloop.io._cache import DECODED_FOLDER_ENV
    from inkloop.io._remote import CHUNK_CACHE_ENV

    folder = tmp_path_factory.mktemp("decoded-layers")
    chunks = tmp_path_factory.mktemp("chunk-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DECODED_FOLDER_ENV, str(folder))
        patch.setenv(CHUNK_CACHE_ENV, "off")
        patch.setattr("inkloop.io._homes.chunk_cache_home", lambda: chunks)
        patch.delenv("INKLOOP_PROGRESS_S", raising=False)  # logs at their usual pace
        yield folder


@pytest.fixture(scope="session")
def synthetic() -> SyntheticSegment:
    """An in-memory synthetic segment of SHAPE."""
    return make_segment(SHAPE[1], SHAPE[2], SHAPE[0], seed=3)


@pytest.fixture
def segment_folder(tmp_path: Path) -> Path:
    """A Vesuvius-layout segment folder of SHAPE (uint16 layers, mask, ink labels)."""
    return write_segment(tmp_path / "20231012184423", SHAPE[1], SHAPE[2], SHAPE[0], seed=3)


@pytest.fixture(scope="session")
def training_folder(tmp_path_factory) -> Path:
    """A segment folder of TRAIN_SHAPE with mask and ink labels, shared read-only by tests."""
    out = tmp_path_factory.mktemp("training") / "20240101000000"
    return write_segment(out, TRAIN_SHAPE[1], TRAIN_SHAPE[2], TRAIN_SHAPE[0], seed=5)


@pytest.fixture
def segment(training_folder):
    """The shared training segment, opened."""
    from inkloop.io import open_segment

    return open_segment(training_folder)


@pytest.fixture(scope="session")
def model(training_folder, tmp_path_factory) -> Path:
    """A checkpoint `inkloop train` wrote in 2 steps on ``training_folder``, shared read-only."""
    from inkloop.cli import main

    out = tmp_path_factory.mktemp("model") / "model.pt"
    assert main(["train", str(training_folder), "--out", str(out), "--max-steps", "2", *FAST]) == 0
    return out


@pytest.fixture
def float32_cpu(monkeypatch):
    """Train and predict in float32 on this CPU, as on one without bf16 instructions: for
    tests that compare two ways of computing the same thing to float32 rounding, which bf16
    autocast (on CPUs with it) would round differently by ~1e-3."""
    monkeypatch.setattr("inkloop.model.cpu_has_bf16", lambda: False)
