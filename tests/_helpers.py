"""Helpers the tests share: tiny models, checkpoints and settings, listings, a baseline score,
Ctrl+C, ending a process abruptly, the lines a child prints, the memory a call takes, and the
marks of tests that need POSIX or Linux."""

from __future__ import annotations

import dataclasses
import os
import queue
import signal
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from inkloop.compose import Composition, Normalisation


def posix_only(needs: str):
    """Skip the test where os.name is not 'posix' (Windows), saying what it ``needs``."""
    return pytest.mark.skipif(os.name != "posix", reason=f"needs POSIX: {needs}")


def linux_only(needs: str):
    """Skip the test off Linux (macOS, Windows), saying what it ``needs``."""
    return pytest.mark.skipif(not sys.platform.startswith("linux"), reason=f"needs Linux: {needs}")


# `interrupt_when_training` and the tests that press Ctrl+C in a child the same way
SENDS_SIGINT = posix_only(
    "Ctrl+C as a SIGINT sent to a child (preexec_fn, pthread_sigmask); "
    "on Windows Ctrl+C is a console event"
)


def band(y0: int, y1: int, shape=(64, 96)) -> np.ndarray:
    """A label image of ``shape``: 255 in rows y0..y1 of columns 10..60, else 0 (the
    segment_folder fixture's size)."""
    image = np.zeros(shape, np.uint8)
    image[y0:y1, 10:60] = 255
    return image


def folder_listing(root: Path) -> dict[str, int]:
    """Every file under ``root`` with its size: proves a failed open wrote nothing."""
    return {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*"))}


def folder_contents(root: Path) -> dict:
    """Every path under ``root`` -> its bytes (False for a folder): proves nothing was touched."""
    return {p.relative_to(root): p.is_file() and p.read_bytes() for p in root.rglob("*")}


# what `inkloop predict` says when an output would replace what the run reads
NEVER_REPLACES_INPUTS = "write the output elsewhere (overwriting never replaces what the run reads)"


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

# `inkloop train` options for quick test runs: small patches and batches on the CPU, no bar
FAST = ["--patch-size", "32", "--batch-size", "2", "--device", "cpu", "--quiet"]


# the tests' tiles and patches are counted in image pixels: the model sees every one of them
FULL_RESOLUTION = Composition(scale=1)


def tiny_model():
    """A ~80k-parameter UNet (timm's test_resnet): trains in seconds on a CPU."""
    from inkloop.settings import ModelConfig

    return ModelConfig(encoder="tu-test_resnet", decoder_channels=(16, 8, 8))


def save_tiny_checkpoint(path, depth: int = 4):
    """An untrained checkpoint of a tiny model reading layers 0..depth-1 (by file number)."""
    from inkloop.checkpoint import Checkpoint, save_checkpoint
    from inkloop.model import build_model

    config = dataclasses.replace(tiny_model(), in_channels=depth)
    return save_checkpoint(
        path,
        Checkpoint(
            model=config,
            composition=Composition("raw", 0, depth).resolve(max(8, depth)),
            normalisation=Normalisation(0.0, 65535.0, (0.5, 99.5)),
            patch_size=32,
            step=7,
            state_dict=build_model(config).state_dict(),
            provenance={},
            layers=tuple(range(depth)),
        ),
    )


def batch_norms(model) -> int:
    """How many BatchNorm2d modules ``model`` holds."""
    import torch

    return sum(isinstance(module, torch.nn.BatchNorm2d) for module in model.modules())


def tiny_training(**overrides):
    """TrainConfig for tests: small patches and batches on the CPU, in float32 (so that runs
    take the same course on CPUs with and without bf16 instructions)."""
    from inkloop.settings import TrainConfig

    settings = {"patch_size": 32, "batch_size": 4, "warmup_steps": 2, "device": "cpu", "amp": False}
    return TrainConfig(**{**settings, **overrides})


def tiny_trainer(parts, **overrides):
    """A Trainer of `tiny_model` on ``parts`` (segment, labels, composition, normalisation),
    `tiny_training` with ``overrides``."""
    from inkloop.train import Trainer

    return Trainer(*parts, tiny_training(**overrides), model_config=tiny_model())


def interrupt_when_training(command: list[str], presses: int = 1) -> tuple[int, str, str]:
    """Run an `inkloop` command, press Ctrl+C once its progress bar shows a loss (and
    ``presses - 1`` times more once it says it is stopping to save), and return its exit
    status, stdout and stderr. POSIX only: mark its tests `SENDS_SIGINT`."""
    env = {**os.environ, "INKLOOP_PROGRESS_S": "0.2"}  # its first loss without 30 s of wait
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_terminal_ctrl_c,
        env=env,
    )
    stepping, stopping = threading.Event(), threading.Event()
    errors = bytearray()

    def watch_progress():
        while chunk := process.stderr.read1(256):
            errors.extend(chunk)
            if b"loss=" in errors:
                stepping.set()
            if b"stopping after this step" in errors:
                stopping.set()

    watcher = threading.Thread(target=watch_progress, daemon=True)
    watcher.start()
    try:
        assert stepping.wait(timeout=300), errors.decode()
        process.send_signal(signal.SIGINT)
        if presses > 1:
            assert stopping.wait(timeout=300), errors.decode()
        for _ in range(presses - 1):  # while it stops and saves
            process.send_signal(signal.SIGINT)
        stdout = process.stdout.read()  # not communicate(): it would take stderr's last lines
        process.wait(timeout=300)
    finally:
        process.kill()
    watcher.join()
    return process.returncode, stdout.decode(), errors.decode()


def _terminal_ctrl_c() -> None:
    """In the child: Ctrl+C as a terminal delivers it, whatever this test process set up
    (a GUI test's event loop may leave SIGINT ignored, which a child would inherit)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def kill_abruptly(pid: int) -> None:
    """End process ``pid`` with no chance to clean up, as the OOM killer does: SIGKILL on
    POSIX; Windows has no SIGKILL, and its os.kill with any other signal is TerminateProcess."""
    os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))


def read_labels_when_told(store, ready, go, out) -> None:
    """A spawned process's view of a shared LabelStore: what it reads after ``go``."""
    ready.set()
    go.wait()
    out.put((store.version, int(store.ink[8:16, 16:24].min()), store.ink_share()))


WAIT_S = 120  # for a line a child should print at once: only a failing run waits this long


def queue_lines(stream, into: queue.Queue) -> None:
    """Put each line of ``stream`` (bytes) on ``into`` as text, then None once every writer
    has closed it."""
    for line in stream:
        into.put(line.decode())
    into.put(None)


def wait_for_line(lines: queue.Queue, text: str, seen: list[str]) -> None:
    """Take lines from ``lines`` (of `queue_lines`) into ``seen`` until one holds ``text``;
    fails with all of them if the stream ends, or is silent for WAIT_S, first."""
    while True:
        try:
            line = lines.get(timeout=WAIT_S)
        except queue.Empty:
            raise AssertionError(f"no {text!r} in {WAIT_S} s after:\n{''.join(seen)}") from None
        assert line is not None, "".join(seen)
        seen.append(line)
        if text in line:
            return


def terminated_once_said(command: list[str], text: str, meanwhile=None) -> tuple[int, str]:
    """Run ``command``; once its stderr says ``text``, call ``meanwhile(that line)`` (if
    given), then send it SIGTERM: its exit status and its whole stderr."""
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    lines, seen = queue.Queue(), []
    threading.Thread(target=queue_lines, args=(process.stderr, lines), daemon=True).start()
    try:
        wait_for_line(lines, text, seen)
        if meanwhile is not None:
            meanwhile(seen[-1])
        process.send_signal(signal.SIGTERM)
        status = process.wait(WAIT_S)
    finally:
        process.kill()
    while (line := lines.get(timeout=WAIT_S)) is not None:
        seen.append(line)
    return status, "".join(seen)


def traced_peak(work):
    """``work()``'s result and the most memory Python allocations held while it ran (bytes)."""
    tracemalloc.start()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def threads_now() -> set:
    """This process's threads, less the engine fork server's idle timer, which outlives the
    engines by design (`inkloop.engine._child_start.IDLE_THREAD`)."""
    from inkloop.engine._child_start import IDLE_THREAD

    return {thread for thread in threading.enumerate() if thread.name != IDLE_THREAD}
