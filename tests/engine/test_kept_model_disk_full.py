"""A first save to the own model file that fails (a full disk) leaves the earlier model there
and says nothing of keeping it: it was moved aside first, and the dock opened again found no
model of its own (closing review C13 of session 41, finding 3)."""

from __future__ import annotations

import errno

import pytest

from inkloop.engine import CheckpointSaved, Notice, State
from tests._engine import OWN, engine_for
from tests._events import TIMEOUT, Recorder
from tests._helpers import save_tiny_checkpoint, tiny_training


@pytest.fixture
def full_disk(monkeypatch, tmp_path):
    """The first save's part beside the own file cannot be written."""
    from pathlib import Path

    real_write = Path.write_bytes

    def full(self, data):
        if self.parent == tmp_path:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)


def test_a_full_disk_leaves_the_earlier_model_at_the_own_file(segment, tmp_path, full_disk):
    own = save_tiny_checkpoint(tmp_path / OWN)  # an earlier day's model, not continued
    monday = own.read_bytes()
    recorder = Recorder()
    with engine_for(segment, recorder, train=tiny_training(max_steps=2), autosave=own) as engine:
        engine.start()
        assert engine.wait(TIMEOUT)
        assert engine.state is State.FINISHED
    assert own.read_bytes() == monday
    assert sorted(p.name for p in tmp_path.iterdir()) == [OWN]  # nothing set aside or left
    said = [event.message for event in recorder.of(Notice)]
    assert not [message for message in said if "kept as" in message]
    assert [message for message in said if "could not autosave" in message]
    assert not recorder.of(CheckpointSaved)


def test_a_full_disk_here_leaves_the_earlier_model_of_a_server_engine(
    server, training_folder, tmp_path, monkeypatch
):
    """The copy fetched from an engine server: the same order (8bd6802's had not)."""
    import dataclasses
    from pathlib import Path

    from inkloop.engine import Failed, Ready
    from tests._engine import process_settings, remote_engine
    from tests._events import of_kind

    own = save_tiny_checkpoint(tmp_path / OWN)
    monday = own.read_bytes()
    real_write = Path.write_bytes

    def full_here(self, data):  # the fetched copy's part beside the own file
        if self.parent == tmp_path:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_here)
    settings = dataclasses.replace(process_settings(), autosave=own)
    recorder = Recorder()
    with remote_engine(server, training_folder, recorder, settings=settings) as proxy:
        recorder.wait_for(lambda events: of_kind(Ready, events))
        proxy.save(own)
        recorder.wait_for(lambda events: of_kind(Failed, events))
    assert own.read_bytes() == monday
    assert sorted(p.name for p in tmp_path.iterdir()) == [OWN]
    (failure,) = recorder.of(Failed)
    assert "No space left on device" in failure.message
    assert not [e for e in recorder.of(Notice) if "kept as" in e.message]
