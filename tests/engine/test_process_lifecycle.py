"""An engine process's life as a script or notebook sees it: a proxy dropped unclosed ends its
child, wait() returns after the news that ended a run, a remote save is here once waited for,
and what the proxy is given is checked before any process starts."""

from __future__ import annotations

import functools
import gc
import os
import threading

import numpy as np
import pytest

from inkloop.checkpoint import load_checkpoint
from inkloop.engine import EngineProcess, Failed, RequestError, State
from inkloop.engine._remote import RemoteEngineProcess
from inkloop.engine.remote import RemoteTarget
from inkloop.settings import EngineSettings
from tests._engine import TOKEN, folder_labels, process_settings, server_address
from tests._events import TIMEOUT, Recorder
from tests._helpers import posix_only


@posix_only("os.kill(pid, 0) to see the child reaped (on Windows it ends the process)")
def test_a_proxy_dropped_unclosed_ends_its_child_and_removes_its_label_files(training_folder):
    proxy = EngineProcess(training_folder, *folder_labels(training_folder), process_settings())
    child, labels = proxy._child, proxy._labels.folder
    del proxy  # a notebook cell run again: `engine = EngineProcess(...)`
    gc.collect()
    child.reader.join(TIMEOUT)  # it ends once the child has ended and been reaped
    assert not child.reader.is_alive()
    with pytest.raises(ProcessLookupError):
        os.kill(child.process.pid, 0)
    for thread in threading.enumerate():
        if thread.name == "inkloop-engine-end":
            thread.join(TIMEOUT)
    assert not labels.exists()


@pytest.mark.slow
def test_wait_returns_after_a_failed_set_up_is_told_and_the_child_prints_no_traceback(
    tmp_path, capfd
):
    recorder = Recorder()
    missing = tmp_path / "missing"
    image = np.zeros((8, 8), np.uint8)
    with EngineProcess(missing, image, image.astype(bool), process_settings(), recorder) as proxy:
        proxy.start()
        assert proxy.wait(TIMEOUT)
        (failed,) = recorder.of(Failed)  # heard before wait returned, not after
        assert recorder.states() == [State.FAILED]
    assert str(missing) in failed.message
    assert "Traceback" not in capfd.readouterr().err  # a user's error, not a bug


@pytest.mark.parametrize(
    "engine",
    [EngineProcess, functools.partial(RemoteEngineProcess, "127.0.0.1:1", TOKEN)],
    ids=["here", "remote"],
)
def test_a_segment_object_is_refused_before_any_process_starts(engine, segment):
    ink, supervised = np.asarray(segment.ink_labels), np.asarray(segment.mask)
    with pytest.raises(TypeError, match="takes the segment's path or URL, not a Segment"):
        engine(segment, ink, supervised)


@pytest.mark.slow
def test_a_remote_save_is_here_once_waited_for(server, training_folder, tmp_path):
    target = RemoteTarget(server_address(server), TOKEN)
    ink, supervised = folder_labels(training_folder)
    with target.engine(training_folder, ink, supervised, process_settings()) as proxy:
        for name in ("first.pt", "second.pt"):
            proxy.save(tmp_path / name)
            assert proxy.wait(TIMEOUT)
            assert load_checkpoint(tmp_path / name).step == 0  # fetched whole, right now


def test_a_remote_save_over_the_segments_files_here_is_refused(server, training_folder):
    labels = training_folder / f"{training_folder.name}_inklabels.png"
    before = labels.read_bytes()
    target = RemoteTarget(server_address(server), TOKEN)
    refused = pytest.raises(RequestError, match="write the output elsewhere")
    with target.engine(training_folder, *folder_labels(training_folder)) as proxy, refused:
        proxy.save(labels)  # the copy fetched here would replace the labels
    assert labels.read_bytes() == before


def test_a_remote_target_gives_its_engine_engine_process_defaults(server, training_folder):
    target = RemoteTarget(server_address(server), TOKEN)
    with target.engine(training_folder, *folder_labels(training_folder)) as proxy:
        assert proxy.settings == EngineSettings()
