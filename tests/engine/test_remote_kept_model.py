"""A server engine's Save to the segment's own model file, which the run did not start from,
keeps the model there under another name first, as an engine here does (closing review C9 of
session 41, finding 6): the fetched copy replaced it."""

from __future__ import annotations

import dataclasses

from inkloop.checkpoint import load_checkpoint
from inkloop.engine import CheckpointSaved, Notice, Ready
from tests._engine import OWN, process_settings, remote_engine
from tests._events import Recorder, of_kind
from tests._helpers import save_tiny_checkpoint


def test_a_save_to_the_own_model_file_keeps_the_earlier_one(server, training_folder, tmp_path):
    own = save_tiny_checkpoint(tmp_path / OWN)  # an earlier day's model, not continued
    monday = own.read_bytes()
    settings = dataclasses.replace(process_settings(), autosave=own)
    recorder = Recorder()
    with remote_engine(server, training_folder, recorder, settings=settings) as proxy:
        recorder.wait_for(lambda events: of_kind(Ready, events))
        for saves in (1, 2):  # the second save replaces the first: nothing more to keep
            proxy.save(own)
            recorder.wait_for(lambda events, n=saves: len(of_kind(CheckpointSaved, events)) == n)
    (kept,) = tmp_path.glob(f"{OWN[:-3]}.saved-*")
    assert kept.read_bytes() == monday
    assert load_checkpoint(own).step == 0
    (told,) = [e.message for e in recorder.of(Notice) if "kept as" in e.message]
    assert str(kept) in told
