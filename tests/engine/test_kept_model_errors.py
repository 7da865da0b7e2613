"""The first save to the own model file, where the system refuses part of it: a refused
move-in or set-aside stays the user's PermissionError, logged in one line, not as a bug; a
folder sync that fails once the new model is in is the save it is, and the next save sets
nothing aside (closing review C21 of session 42, findings 1 and 2)."""

from __future__ import annotations

import errno
import logging
import os

import pytest

from inkloop._errors import users_error
from inkloop.engine import Failed, Notice
from inkloop.engine._kept_model import write_keeping
from tests._engine import OWN, engine_for, kept_copies, refuse_move_ins
from tests._events import TIMEOUT, Recorder
from tests._helpers import save_tiny_checkpoint, tiny_training


def _fail_a_folder_sync(monkeypatch) -> None:
    """The next folder sync fails (EIO: a flaky share); file syncs and later ones work."""
    import inkloop.io._write as write

    real, failed = write._sync, []

    def flaky(path, flags):
        if os.path.isdir(path) and not failed:
            failed.append(path)
            raise OSError(errno.EIO, "Input/output error")
        return real(path, flags)

    monkeypatch.setattr(write, "_sync", flaky)


def test_a_refused_move_in_stays_a_permission_error(tmp_path, monkeypatch):
    own = tmp_path / OWN
    own.write_bytes(b"monday")
    refuse_move_ins(monkeypatch, tmp_path / OWN)
    with pytest.raises(PermissionError) as raised:
        write_keeping(own, b"tuesday", keep=True)
    assert raised.value.errno == errno.EACCES
    assert users_error(raised.value)
    assert str(raised.value).endswith("; the model saved there before is back in place")
    assert own.read_bytes() == b"monday"
    assert kept_copies(tmp_path) == []


def test_a_refused_set_aside_stays_a_permission_error(tmp_path, monkeypatch):
    own = tmp_path / OWN
    own.write_bytes(b"monday")
    real = os.replace

    def refused(src, dst, *args, **kwargs):
        if ".saved-" in str(dst):
            raise PermissionError(errno.EACCES, "Permission denied", str(src))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", refused)
    with pytest.raises(PermissionError) as raised:
        write_keeping(own, b"tuesday", keep=True)
    assert raised.value.errno == errno.EACCES
    assert users_error(raised.value)
    assert str(raised.value).startswith("the model saved there before could not be kept as ")
    assert own.read_bytes() == b"monday"


def test_a_refused_save_to_the_own_file_is_logged_as_the_users(
    segment, tmp_path, monkeypatch, caplog
):
    own = save_tiny_checkpoint(tmp_path / OWN)  # an earlier day's model, not continued
    refuse_move_ins(monkeypatch, tmp_path / OWN)
    recorder = Recorder()
    caplog.set_level(logging.INFO)
    train = tiny_training(max_steps=1)
    with engine_for(segment, recorder, train=train, autosave=own, autosave_every=10**6) as engine:
        engine.start()
        assert engine.wait(TIMEOUT)  # its end's autosave: refused, a Notice
        engine.save(own)  # Save model… to the own file: its first write, refused again
        assert engine.wait(TIMEOUT)
    (told,) = [e.message for e in recorder.of(Failed)]
    assert told.endswith("; the model saved there before is back in place")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert kept_copies(tmp_path) == []


def test_a_failed_folder_sync_after_the_move_in_is_a_written_save(tmp_path, monkeypatch, caplog):
    own = tmp_path / OWN
    own.write_bytes(b"monday")
    _fail_a_folder_sync(monkeypatch)
    kept = write_keeping(own, b"tuesday", keep=True)
    assert own.read_bytes() == b"tuesday"
    assert kept.read_bytes() == b"monday"
    (said,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert said.startswith(f"{own} is written, but its folder could not be synced")


def test_the_next_autosave_after_a_failed_folder_sync_keeps_nothing(segment, tmp_path, monkeypatch):
    own = save_tiny_checkpoint(tmp_path / OWN)
    monday = own.read_bytes()
    _fail_a_folder_sync(monkeypatch)  # at the first autosave, once its model is in
    recorder = Recorder()
    with engine_for(segment, recorder, train=tiny_training(max_steps=1), autosave=own) as engine:
        for _ in range(2):  # two autosaves: the first sets monday's model aside, once
            engine.start()
            assert engine.wait(TIMEOUT)
    (kept,) = kept_copies(tmp_path)
    assert (tmp_path / kept).read_bytes() == monday
    said = [e.message for e in recorder.of(Notice)]
    assert not [message for message in said if "could not autosave" in message]
    assert len([message for message in said if "kept as" in message]) == 1
