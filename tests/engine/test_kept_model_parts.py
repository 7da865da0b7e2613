"""The first save to the own model file: one part beside it, which a segment's open removes if
a kill left it (closing review C15 of session 42, finding 2: a part inside a part, which no
sweep removed and which made names 14 characters shorter than promised fail), and a move-in
that fails puts the earlier model back, said (finding 1: it stayed under `.saved-`, unsaid)."""

from __future__ import annotations

import re
from pathlib import Path

import inkloop.io._write as write
from inkloop.checkpoint import load_checkpoint
from inkloop.engine import Notice
from inkloop.io._write import check_writable
from tests._engine import OWN, kept_copies, refuse_move_ins, run_once
from tests._events import Recorder
from tests._helpers import save_tiny_checkpoint


def _parts_made(monkeypatch) -> list[str]:
    """The names of the parts (`new_part`) made from now on, beside any file."""
    made, real = [], write.new_part

    def recorded(path):
        part = real(path)
        made.append(Path(part).name)
        return part

    monkeypatch.setattr(write, "new_part", recorded)
    return made


def test_the_first_save_makes_only_parts_an_open_removes(segment, tmp_path, monkeypatch):
    own = save_tiny_checkpoint(tmp_path / OWN)  # an earlier day's model: set aside
    made = _parts_made(monkeypatch)
    run_once(segment, own)
    assert made  # `remove_left_parts` takes `.<name>.<8>.tmp` for a part of <name>
    assert all(re.fullmatch(rf"\.{re.escape(OWN)}\.\w{{8}}\.tmp", name) for name in made), made
    assert load_checkpoint(own).step == 1


def test_a_first_save_to_a_name_its_check_accepts_is_written(segment, tmp_path):
    own = tmp_path / ("s" * 221 + "_inkloop_model.pt")  # 238 of 255: its part, 252, fits
    check_writable(own)  # what the dock and `inkloop train --out` ask first
    recorder = Recorder()
    run_once(segment, own, recorder)
    assert load_checkpoint(own).step == 1
    assert not [e.message for e in recorder.of(Notice)]


def test_a_move_in_that_fails_puts_the_earlier_model_back(segment, tmp_path, monkeypatch):
    own = save_tiny_checkpoint(tmp_path / OWN)
    monday = own.read_bytes()
    refuse_move_ins(monkeypatch, own, once=True)
    recorder = Recorder()
    run_once(segment, own, recorder)  # its one autosave, at the run's end, fails
    assert own.read_bytes() == monday
    assert sorted(p.name for p in tmp_path.iterdir()) == [OWN]
    (told,) = [e.message for e in recorder.of(Notice)]
    assert told.startswith(f"could not autosave the model to {own} ([Errno 13] being used")
    assert "the model saved there before is back in place" in told
    run_once(segment, own)  # the next save sets it aside, as a first save that succeeds does
    (kept,) = [tmp_path / name for name in kept_copies(tmp_path)]
    assert kept.read_bytes() == monday
    assert load_checkpoint(own).step == 1
