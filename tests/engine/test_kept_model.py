"""A run that did not start from the model at its autosave path keeps that model (the
segment's own, trained on an earlier day) under another name before its first save; a run
that continues from it replaces it in place; a model that cannot be kept is not replaced."""

from __future__ import annotations

from inkloop.checkpoint import load_checkpoint
from inkloop.engine import CheckpointSaved, Notice, State
from tests._engine import OWN, engine_for, kept_copies
from tests._events import TIMEOUT, Recorder
from tests._helpers import save_tiny_checkpoint, tiny_training


def _notices(recorder, about: str) -> list[str]:
    return [e.message for e in recorder.of(Notice) if about in e.message]


def test_a_fresh_run_keeps_the_model_it_autosaves_over_once(segment, tmp_path):
    own = save_tiny_checkpoint(tmp_path / OWN)  # step 7: an earlier day's model
    monday = own.read_bytes()
    recorder = Recorder()
    train = tiny_training(max_steps=1)
    with engine_for(segment, recorder, train=train, autosave=own, autosave_every=0) as engine:
        for _ in range(2):  # two runs, three autosaves (one at a step, one at each end)
            engine.start()
            assert engine.wait(TIMEOUT)
    (kept,) = kept_copies(tmp_path)
    assert (tmp_path / kept).read_bytes() == monday
    assert load_checkpoint(own).step == 2
    assert _notices(recorder, "kept as") == [
        f"this run did not start from the model saved before in {own}: that model is kept as "
        f"{tmp_path / kept}, and this run's saves go to {OWN}"
    ]
    with engine_for(segment, Recorder(), train=train, autosave=own) as engine:  # Clear again
        engine.start()
        assert engine.wait(TIMEOUT)
    assert len(kept_copies(tmp_path)) == 2  # the first kept model stays
    assert (tmp_path / kept).read_bytes() == monday


def test_a_run_that_continues_from_the_model_replaces_it(segment, tmp_path):
    own = save_tiny_checkpoint(tmp_path / OWN)
    recorder = Recorder()
    train = tiny_training(max_steps=1)
    with engine_for(segment, recorder, train=train, autosave=own, init=own) as engine:
        engine.start()
        assert engine.wait(TIMEOUT)
    assert load_checkpoint(own).step == 8
    assert kept_copies(tmp_path) == []
    assert not _notices(recorder, "kept as")


def test_a_model_that_cannot_be_kept_is_not_replaced(segment, tmp_path, monkeypatch):
    own = save_tiny_checkpoint(tmp_path / OWN)
    monday = own.read_bytes()
    nowhere = tmp_path / "gone" / "kept.pt"  # no such folder: the rename fails
    monkeypatch.setattr("inkloop.engine._kept_model.kept_copy_path", lambda path: nowhere)
    recorder = Recorder()
    train = tiny_training(max_steps=2)
    with engine_for(segment, recorder, train=train, autosave=own, autosave_every=0) as engine:
        engine.start()
        assert engine.wait(TIMEOUT)
        assert engine.state is State.FINISHED
    assert own.read_bytes() == monday
    (told,) = _notices(recorder, "could not autosave")
    assert told.startswith(
        f"could not autosave the model to {own} (the model saved there before could not be "
        "kept as kept.pt: "
    )
    assert not recorder.of(CheckpointSaved)


def test_an_autosave_path_given_as_a_string_is_written(segment, tmp_path):
    out = tmp_path / "auto.pt"  # EngineSettings built by hand, as README's Python API shows
    with engine_for(segment, Recorder(), train=tiny_training(max_steps=1), autosave=str(out)) as e:
        e.start()
        assert e.wait(TIMEOUT)
        assert e.state is State.FINISHED
    assert load_checkpoint(out).step == 1


def test_a_hard_link_to_the_model_counts_as_continuing_it_everywhere(segment, tmp_path):
    # the engine, the dock's Clear message and `inkloop train` ask one `same_file`
    from inkloop.checkpoint import same_file
    from inkloop.headless import continues_in_place

    own = save_tiny_checkpoint(tmp_path / OWN)
    linked = tmp_path / "linked.pt"
    linked.hardlink_to(own)
    assert same_file(linked, own)
    assert continues_in_place(str(linked), own)
    assert not same_file(tmp_path / "missing.pt", own)
    with engine_for(segment, Recorder(), train=tiny_training(max_steps=1), autosave=own,
                    init=linked) as engine:  # fmt: skip
        engine.start()
        assert engine.wait(TIMEOUT)
    assert kept_copies(tmp_path) == []  # continued in place: nothing to keep


def test_weights_not_finite_leave_the_earlier_model_in_place(segment, tmp_path, monkeypatch):
    # closing review C9 of session 41, finding 3: it was moved aside, then nothing written
    from inkloop.train._average import WeightAverage

    averaged, updates = WeightAverage.update, []

    def diverging(self, trained):  # what a far too high learning rate does, at the 2nd step
        averaged(self, trained)
        updates.append(1)
        if len(updates) == 2:
            next(self.module.parameters()).data.fill_(float("nan"))

    monkeypatch.setattr(WeightAverage, "update", diverging)
    own = save_tiny_checkpoint(tmp_path / OWN)
    monday = own.read_bytes()
    recorder = Recorder()
    with engine_for(segment, recorder, train=tiny_training(max_steps=2), autosave=own) as engine:
        engine.start()
        assert engine.wait(TIMEOUT)
    assert engine.state is State.FAILED  # the last step's autosave, which closing waits for
    assert own.read_bytes() == monday
    assert kept_copies(tmp_path) == []
    assert not _notices(recorder, "kept as")
