"""A stop while a stalled server holds the next batch, from a real server on 127.0.0.1: the run
ends at once (not when the read gives up) and keeps its steps as any stop does; the read is
left to end by itself and the next run reads afresh. The engine's Stop, the CLI's Ctrl+C and
both batch streams.

The stall is put where a step is sure to wait for it: as the step's ``BatchStream.next``
begins, chunk reads start to stall and the labels change (the batches made before are
stale). The reads time out after `READ_TIMEOUT_S` (the code before this fix waited that long,
then ended the run as failed): the server holds them until the test has checked."""

from __future__ import annotations

import functools
import json
import os
import signal
import threading

import numpy as np
import pytest
import zarr

from inkloop.checkpoint import load_checkpoint
from inkloop.compose import sample_normalisation
from inkloop.engine import CheckpointSaved, Failed, State, StepDone
from inkloop.io import open_segment, write_png
from inkloop.train import BatchStream, LabelStore, PatchSampler
from inkloop.train._sampler import WaitInterruptedError
from tests._engine import engine_for
from tests._events import TIMEOUT, Recorder, state_reached, steps_done
from tests._helpers import FAST, FULL_RESOLUTION, SENDS_SIGINT
from tests._http import NAME, MisbehavingHandler, serve, write_served_segment

pytest.importorskip("aiohttp")

READ_TIMEOUT_S = 5.0  # the client's: far beyond what a test takes, short for a failing one


class _Stalling(MisbehavingHandler):
    """Once ``stalling`` is set, chunk reads are held (``held`` set) until ``release``."""

    def do_GET(self):  # noqa: N802  (http.server's name)
        if self.server.stalling.is_set() and "/c/" in self.path:
            self.server.held.set()
            self.server.release.wait(TIMEOUT)
        return super().do_GET()


@pytest.fixture(scope="module")
def server_at(tmp_path_factory, synthetic):
    """(URL, server) of the synthetic segment as a server lays it out, with soft ink labels,
    in one chunk: a read is one request (32² chunks took ~400 before the first step)."""
    root = tmp_path_factory.mktemp("served")
    volume = write_served_segment(root, NAME, synthetic)
    group = zarr.open_group(str(root / f"{NAME}.zarr"), mode="a")
    group.create_array("0", data=volume, chunks=volume.shape, overwrite=True)
    write_png(root / f"{NAME}_inklabels.png", (synthetic.ink * 255).astype(np.uint8))
    with serve(root, _Stalling, events=("stalling", "held")) as (base, server):
        yield f"{base}/{NAME}.zarr", server


@pytest.fixture
def served(server_at, tmp_path, monkeypatch):
    """`server_at`, healthy until the test stalls it; the reads it held go at the end."""
    monkeypatch.setenv("INKLOOP_DATA", str(tmp_path / "home"))  # its side files go there
    _url, server = server_at
    for event in (server.stalling, server.held, server.release):
        event.clear()
    yield server_at
    server.stalling.clear()
    server.release.set()


def _stall_at(monkeypatch, server, call: int) -> threading.Event:
    """Stall the chunk reads as the ``call``-th ``BatchStream.next`` begins, and restamp the
    labels (every batch made so far is stale): that call waits for a held read. The Event
    returned is set then, in the caller's thread (past the engine's look at its commands)."""
    waiting, calls, original = threading.Event(), [], BatchStream.next

    def next_batch(stream, *args, **kwargs):
        calls.append(stream)
        if len(calls) == call:
            server.stalling.set()
            labels = stream.sampler.labels
            labels.update(labels.ink[:1, :1].copy(), labels.supervised[:1, :1].copy(), (0, 0, 1, 1))
            waiting.set()
        return original(stream, *args, **kwargs)

    monkeypatch.setattr(BatchStream, "next", next_batch)
    return waiting


def _a_step_or_a_failure(events) -> bool:
    return steps_done(1)(events) or state_reached(State.FAILED)(events)


def _batch_threads(before: set) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before and "batches" in t.name]


def test_a_stop_while_a_stalled_read_holds_the_batch_ends_the_run_at_once(
    served, tmp_path, monkeypatch
):
    url, server = served
    threads, recorder, model = set(threading.enumerate()), Recorder(), tmp_path / "model.pt"
    segment = open_segment(url, timeout=READ_TIMEOUT_S, cache=False)
    engine = engine_for(segment, recorder, autosave=model)
    waiting = _stall_at(monkeypatch, server, call=2)
    try:
        engine.start()
        assert waiting.wait(TIMEOUT)  # a step done, the second waits for a held read
        engine.stop()
        assert engine.wait(TIMEOUT)

        assert server.held.is_set()
        assert not server.release.is_set()
        assert recorder.states()[-1] is State.STOPPED  # the old code: FAILED, at the timeout
        assert not recorder.of(Failed)
        saved = recorder.of(CheckpointSaved)[-1]  # as a normal stop: autosaved at the last step
        assert saved.autosave
        assert saved.step == recorder.of(StepDone)[-1].step == 1
        assert load_checkpoint(model).step == 1
        assert len(_batch_threads(threads)) == 1  # the thread whose read the server holds

        server.stalling.clear()  # the server answers again; the read it holds stays held
        since = recorder.mark()
        engine.start()  # the next run reads afresh: it waits for nothing the last one asked for
        recorder.wait_for(_a_step_or_a_failure, since)
        engine.stop()
        assert engine.wait(TIMEOUT)
        assert recorder.states()[-1] is State.STOPPED
        assert load_checkpoint(model).step == recorder.of(StepDone)[-1].step > 1
    finally:
        engine.close()
    server.release.set()  # close waited for no held read: it ends when its read does
    for thread in _batch_threads(threads):
        thread.join(TIMEOUT)
    assert not _batch_threads(threads)


@SENDS_SIGINT
def test_ctrl_c_while_a_stalled_read_holds_the_batch_saves_the_last_step(
    served, tmp_path, monkeypatch, capsys
):
    from inkloop.cli import main

    url, server = served
    opens = functools.partial(open_segment, timeout=READ_TIMEOUT_S, cache=False)
    monkeypatch.setattr("inkloop.io.open_segment", opens)
    waiting, finished = _stall_at(monkeypatch, server, call=2), threading.Event()

    def press_ctrl_c():
        if waiting.wait(TIMEOUT) and not finished.is_set():
            os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c, daemon=True)
    presser.start()
    out = tmp_path / "model.pt"
    try:
        status = main(["train", url, "--out", str(out), "--max-steps", "1000", *FAST])
    finally:
        finished.set()
        waiting.set()  # a run that never got there: the presser ends without a press
        server.stalling.clear()
        server.release.set()
    presser.join()

    assert status == 130, capsys.readouterr().err  # the old code: 1, the read's timeout
    summary = json.loads(capsys.readouterr().out)
    assert summary["interrupted"]
    assert summary["steps"] == 1
    assert load_checkpoint(out).step == 1
    assert summary["round"] == 1  # recorded, as a stop on a local segment records it


def test_a_batch_stream_gives_way_while_a_stalled_read_holds_its_batch_which_stays_next(
    served, make_stream
):
    url, server = served
    segment = open_segment(url, timeout=READ_TIMEOUT_S, cache=False)
    composition = FULL_RESOLUTION.resolve(segment.shape[0])
    normalisation = sample_normalisation(segment, composition)
    labels = LabelStore(np.asarray(segment.ink_labels), np.asarray(segment.mask))
    sampler = PatchSampler(segment, composition, normalisation, labels, patch_size=32)
    server.stalling.set()
    stream = make_stream(sampler, 2, 1)
    try:
        with pytest.raises(WaitInterruptedError):
            stream.next(server.held.is_set)  # gives way once the server holds the batch's read
        server.stalling.clear()
        server.release.set()  # the read held is answered: the batch it was for comes next
        batch = stream.next()
        layers, ink = batch.layers.copy(), batch.ink.copy()
    finally:
        stream.close()
    first = BatchStream(sampler, 2)  # the same seed: the same first batch
    try:
        expected = first.next()
    finally:
        first.close()
    np.testing.assert_array_equal(layers, expected.layers)
    np.testing.assert_array_equal(ink, expected.ink)


def test_the_loaders_notice_waits_for_a_step_that_happens(parts, monkeypatch):
    import inkloop.train._loop as loop
    from tests._helpers import tiny_trainer

    real = loop.open_stream
    monkeypatch.setattr(loop, "open_stream", lambda *a, **k: (real(*a, **k)[0], "from a thread"))
    made, batch = threading.Event(), PatchSampler.batch
    monkeypatch.setattr(PatchSampler, "batch", lambda *a, **k: made.wait() and batch(*a, **k))
    trainer = tiny_trainer(parts)
    try:
        trainer.interrupt = lambda: True  # a command waits while the first batch is made
        with pytest.raises(WaitInterruptedError):
            trainer.step()
        trainer.interrupt = None
        made.set()
        assert "from a thread" in trainer.step().notice
    finally:
        made.set()
        trainer.close()
