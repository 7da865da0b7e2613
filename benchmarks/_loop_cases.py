"""The segments bench_loop runs on, the truth they are scored against, and the headless twin
of the GUI run (an `Engine` in a plain Python process: torch never enters the napari process).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REAL_DEV = Path(__file__).resolve().parents[2] / "shared" / "real_dev" / "20231005123335_2-4_top"


@dataclass
class Case:
    """A segment folder with label files beside it, and where its F0.5 is scored."""

    name: str
    folder: Path
    truth: np.ndarray | None  # true ink (bool), or None: not scored
    scored: np.ndarray | None  # pixels that count (bool): unlabelled papyrus


def sample_case(root: Path) -> Case:
    """The bundled sample (a scratch copy in ``root``): its example strokes are the labels."""
    from inkloop.io import load_labels, open_segment, read_image, sample_segment_path

    source = sample_segment_path()
    folder = Path(tempfile.mkdtemp(dir=root)) / source.name
    shutil.copytree(source, folder)
    truth = read_image(folder / f"{source.name}_truth.png", grey=True) > 127
    segment = open_segment(folder)
    _, supervised, _ = load_labels(segment)
    scored = np.asarray(segment.mask) & ~supervised
    return Case("sample", folder, truth, scored)


def real_case(root: Path) -> Case | None:
    """The real dev crop (see its README; linked into ``root``), labelled on its left half:
    the reference map (> 127) as ink there, scored on the right half. None when the crop is
    not here."""
    from inkloop.io import open_segment, read_image, save_labels

    if not REAL_DEV.is_dir():
        return None
    folder = _linked(REAL_DEV, root)
    truth = read_image(REAL_DEV / f"{REAL_DEV.name}_reference.png", grey=True) > 127
    left = np.zeros(truth.shape, bool)
    left[:, : truth.shape[1] // 2] = True
    save_labels(open_segment(folder), np.where(truth & left, 255, 0).astype(np.uint8), left)
    return Case("real", folder, truth, ~left)


def big_case(cache: Path, root: Path, size: int = 8192) -> Case:
    """bench_io's 65 x size x size uint16 segment (made once into ``cache``, linked into
    ``root``), with a few labelled squares; not scored."""
    from inkloop.io import open_segment, save_labels

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_io import _ensure_segment

    source = _ensure_segment(argparse.Namespace(cache=cache, layers=65, height=size, width=size))
    # a fresh folder: the model the dock autosaves beside the segment, which a next run
    # would continue from, stays out of the cache
    folder = _linked(source, root)
    segment = open_segment(folder)
    ink = np.zeros(segment.shape[1:], np.uint8)
    supervised = np.zeros(segment.shape[1:], bool)
    at = size / 8192  # the squares are placed for 8192
    for y, x in ((3000, 3000), (4000, 5000), (5200, 3600)):
        y, x = int(at * y), int(at * x)
        supervised[y : y + int(at * 512), x : x + int(at * 512)] = True
        ink[y + int(at * 200) : y + int(at * 260), x + int(at * 100) : x + int(at * 400)] = 255
    save_labels(segment, ink, supervised)
    return Case("big", folder, None, None)


def _linked(source: Path, root: Path) -> Path:
    """A fresh folder in ``root`` for the segment in ``source``: its layers linked (read-only
    data, not copied), its mask copied, and nothing else (no labels, no model)."""
    folder = Path(tempfile.mkdtemp(dir=root)) / source.name
    folder.mkdir()
    (folder / "layers").symlink_to(source.resolve() / "layers")
    shutil.copy(source / f"{source.name}_mask.png", folder)
    return folder


def f05(case: Case, probability: np.ndarray) -> float:
    """Best-threshold F0.5 (0.05 … 0.95) on the case's scored pixels."""
    from inkloop.metrics import best_scores

    return float(best_scores(probability, case.truth, case.scored).f05)


HEADLESS = """
import json, sys, time
import segmentation_models_pytorch  # noqa: F401  (docs/architecture §3: before anything else)
import torch
from inkloop.engine import Engine, StepDone
from inkloop.settings import EngineSettings
from inkloop.io import load_labels, open_segment

folder, seconds, threads, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(threads)
segment = open_segment(folder)
ink, supervised, _ = load_labels(segment)
steps = []
with Engine(segment, ink, supervised, EngineSettings(),
            on_event=lambda e: isinstance(e, StepDone) and steps.append(e)) as engine:
    engine.prepare()  # the GUI's engine is warm before the click too
    engine.wait()
    engine.start()
    time.sleep(seconds)  # a fixed measuring window, not synchronisation
    engine.stop()
    engine.wait()
    engine.predict_segment(out)
    engine.wait()
rates = sorted(step.samples_per_s for step in steps[len(steps) // 10:])
print(json.dumps({"steps": steps[-1].step if steps else 0,
                  "samples_per_s": rates[len(rates) // 2] if rates else None}))
"""


def headless(case: Case, seconds: float, threads: int) -> dict:
    """Train ``seconds`` with the same settings and torch threads as the GUI's engine, then
    predict the whole segment; steps, samples/s and F0.5."""
    from inkloop.io import read_image

    out = case.folder / "headless_prediction.png"
    command = [sys.executable, "-c", HEADLESS, str(case.folder), str(seconds), str(threads), out]
    run = subprocess.run(command, capture_output=True, text=True, check=True)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    if case.truth is not None:
        result["f05"] = f05(case, read_image(out, grey=True) / 255)
    return result


@contextlib.contextmanager
def engine_server(root: Path, cache: Path):
    """`inkloop engine serve` for ``root`` in another process on loopback; yields the
    RemoteTarget a dock connects with."""
    from inkloop.engine.remote import RemoteTarget, read_token

    token_file = cache / "engine-token"
    token = read_token(token_file)
    command = [sys.executable, "-m", "inkloop.cli", "engine", "serve", "--root", str(root)]
    command += ["--port", "0", "--token-file", str(token_file), "--folder", str(cache / "sessions")]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stderr.readline()  # "inkloop engine: serving … on HOST:PORT; token in …"
        address = line.split(" on ", 1)[1].split(";", 1)[0]
        # the rest to ours: a pipe nobody reads would block the server once full
        forward = (server.stderr, sys.stderr)
        threading.Thread(target=shutil.copyfileobj, args=forward, daemon=True).start()
        yield RemoteTarget(address, token)
    finally:  # as Ctrl+C: the server ends its sessions' engines (terminated, it left their files)
        server.send_signal(signal.SIGINT)
        server.wait(60)
