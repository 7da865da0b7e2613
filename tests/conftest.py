"""Shared fixtures: small segments written by the project's own synthetic generator."""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

# docs/architecture §3: torchvision pulls in torch._dynamo, whose LLVM collides with Mesa's once
# a napari viewer exists (segfault). The napari and the training tests share this process, so the
# training stack is imported here, before any viewer; the app itself keeps torch out of napari.
import segmentation_models_pytorch  # noqa: F401  (isort: keep above inkloop)

from inkloop.synthetic import SyntheticSegment, make_segment, write_segment

SHAPE = (8, 64, 96)  # Z, H, W: small enough for fast tests, big enough for real structure


@pytest.fixture(scope="session")
def synthetic() -> SyntheticSegment:
    """An in-memory synthetic segment of SHAPE."""
    return make_segment(SHAPE[1], SHAPE[2], SHAPE[0], seed=3)


@pytest.fixture
def segment_folder(tmp_path: Path) -> Path:
    """A Vesuvius-layout segment folder of SHAPE (uint16 layers, mask, ink labels)."""
    return write_segment(tmp_path / "20231012184423", SHAPE[1], SHAPE[2], SHAPE[0], seed=3)


def folder_listing(root: Path) -> dict[str, int]:
    """Every file under ``root`` with its size: proves a failed open wrote nothing."""
    return {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*"))}


def best_threshold_f05(score: np.ndarray, truth: np.ndarray) -> float:
    """Best F0.5 of ``score > t`` (or ``< t``) over quantile thresholds: a simple baseline."""
    best = 0.0
    for signed in (score, -score):
        for threshold in np.quantile(signed, np.linspace(0.5, 0.995, 50)):
            predicted = signed > threshold
            hits = np.count_nonzero(predicted & truth)
            precision = hits / max(np.count_nonzero(predicted), 1)
            recall = hits / max(np.count_nonzero(truth), 1)
            if precision + recall:
                best = max(best, 1.25 * precision * recall / (0.25 * precision + recall))
    return best


TRAIN_SHAPE = (8, 96, 128)


def tiny_model():
    """A ~80k-parameter UNet (timm's test_resnet): trains in seconds on a CPU."""
    from inkloop.settings import ModelConfig

    return ModelConfig(encoder="tu-test_resnet", decoder_channels=(16, 8, 8))


def tiny_training(**overrides):
    """TrainConfig for tests: small patches and batches on the CPU."""
    from inkloop.settings import TrainConfig

    settings = {"patch_size": 32, "batch_size": 4, "warmup_steps": 2, "device": "cpu"}
    return TrainConfig(**{**settings, **overrides})


@pytest.fixture(scope="session")
def training_folder(tmp_path_factory) -> Path:
    """A segment folder of TRAIN_SHAPE with mask and ink labels, shared read-only by tests."""
    out = tmp_path_factory.mktemp("training") / "20240101000000"
    return write_segment(out, TRAIN_SHAPE[1], TRAIN_SHAPE[2], TRAIN_SHAPE[0], seed=5)


def interrupt_when_training(command: list[str]) -> tuple[int, str, str]:
    """Run an `inkloop` command, press Ctrl+C once its progress bar shows a loss, and return
    its exit status, stdout and stderr."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stepping = threading.Event()
    errors = bytearray()

    def watch_progress():
        while chunk := process.stderr.read1(256):
            errors.extend(chunk)
            if b"loss=" in errors:
                stepping.set()

    watcher = threading.Thread(target=watch_progress, daemon=True)
    watcher.start()
    try:
        assert stepping.wait(timeout=300), errors.decode()
        process.send_signal(signal.SIGINT)
        stdout, _ = process.communicate(timeout=300)
    finally:
        process.kill()
    watcher.join()
    return process.returncode, stdout.decode(), errors.decode()
