"""A checkpoint says which run made it (provenance "run"), and its round carries the same id:
`inkloop info` shows a renamed or archived copy its own run's round, never another run's
(provenance review R2 #2), and a run from such a copy narrows what it held out by that round
alone (close review C2 #1)."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from inkloop.checkpoint import describe_checkpoint, load_checkpoint, save_checkpoint
from inkloop.engine import CheckpointSaved
from inkloop.rounds import append_round, new_round, read_rounds
from tests._engine import engine_for
from tests._events import TIMEOUT, Recorder
from tests._helpers import save_tiny_checkpoint, tiny_training

REGION = (0, 0, 48, 64)


def _labels():
    rng = np.random.default_rng(0)
    return np.where(rng.random((40, 50)) < 0.3, 255, 0).astype(np.uint8), rng.random((40, 50)) < 0.5


def _round(checkpoint, steps: int, run: str, region=None):
    ink, supervised = _labels()
    return new_round(0, ink, supervised, accepted_pixels=0, steps=steps, validation_f05=0.5,
                     checkpoint=checkpoint, validation_region=region,
                     run={"run": run})  # fmt: skip


def _model(path, step: int, run: str | None, rounds_file):
    """A tiny checkpoint at ``step`` of the run ``run``, trained on `_labels`."""
    checkpoint = load_checkpoint(save_tiny_checkpoint(path))
    labels = {"hash": _round(None, 0, "").labels_hash}
    provenance = {"labels": labels, "rounds_file": str(rounds_file), "run": run}
    return save_checkpoint(path, dataclasses.replace(checkpoint, step=step, provenance=provenance))


def test_a_renamed_copy_is_shown_its_own_runs_round_not_a_later_run_of_as_many_steps(tmp_path):
    """Repro A: m1.pt (run a, 20 steps, nothing held out) copied for publication; a later run
    of 20 steps holding out a region wrote mX.pt. The copy's round is m1's."""
    rounds = tmp_path / "seg_rounds.jsonl"
    own = append_round(rounds, _round(tmp_path / "m1.pt", 20, "a"))
    append_round(rounds, _round(tmp_path / "mX.pt", 20, "b", region=(0, 0, 96, 96)))
    (tmp_path / "pub").mkdir()
    copy = shutil.copy(_model(tmp_path / "m1.pt", 20, "a", rounds), tmp_path / "pub" / "v1.pt")

    assert describe_checkpoint(copy)["round"] == own.to_dict()


def test_an_archived_copy_is_not_shown_the_round_of_a_later_run_of_its_name(tmp_path):
    """Repro B: mY.pt (run a, 20 steps) archived, then a run of 10 steps wrote mY.pt again.
    A copy of a run whose round is not in the file has none."""
    rounds = tmp_path / "seg_rounds.jsonl"
    own = append_round(rounds, _round(tmp_path / "mY.pt", 20, "a"))
    append_round(rounds, _round(tmp_path / "mY.pt", 10, "b", region=(100, 100, 200, 200)))
    (tmp_path / "archive").mkdir()
    archived = tmp_path / "archive" / "mY.pt"
    _model(archived, 20, "a", rounds)
    assert describe_checkpoint(archived)["round"] == own.to_dict()

    _model(archived, 10, "c", rounds)  # the 10 steps of a run no round records
    assert describe_checkpoint(archived)["round"] is None


def test_a_checkpoint_from_before_run_ids_finds_its_round_as_before(tmp_path):
    rounds = tmp_path / "seg_rounds.jsonl"
    own = append_round(rounds, _round(tmp_path / "m.pt", 20, None))
    old = _model(tmp_path / "m.pt", 20, None, rounds)
    assert describe_checkpoint(old)["round"] == own.to_dict()


def test_each_run_stamps_its_checkpoints_with_its_own_id(segment, tmp_path):
    """The saves of one run share its id, and the CheckpointSaved the dock records a round
    from carries it; the next run has another."""
    recorder = Recorder()
    with engine_for(segment, recorder, train=tiny_training(max_steps=1)) as engine:
        engine.start()
        assert engine.wait(TIMEOUT)
        for name in ("a.pt", "b.pt"):
            engine.save(tmp_path / name)
        engine.start()
        assert engine.wait(TIMEOUT)
        engine.save(tmp_path / "c.pt")
        assert engine.wait(TIMEOUT)

    runs = [load_checkpoint(tmp_path / name).provenance["run"] for name in ("a.pt", "b.pt", "c.pt")]
    assert runs[0] == runs[1] != runs[2]
    assert [saved.run["run"] for saved in recorder.of(CheckpointSaved)] == runs


def test_inkloop_trains_round_carries_its_checkpoints_run(training_folder, tmp_path):
    from inkloop.headless import train_to_file
    from inkloop.io import load_labels, open_segment
    from inkloop.settings import EngineSettings
    from tests._helpers import tiny_model

    segment = open_segment(training_folder)
    ink, supervised, _ = load_labels(segment)
    out, rounds = tmp_path / "m.pt", tmp_path / "m_rounds.jsonl"
    train, facts = tiny_training(max_steps=1), {"rounds_file": str(rounds)}  # as the CLI's
    settings = EngineSettings(model=tiny_model(), train=train, provenance=facts)
    train_to_file(segment, ink, supervised, settings, out, rounds=rounds, progress=False)

    (round_,) = read_rounds(rounds)
    assert round_.run == load_checkpoint(out).provenance["run"]
    renamed = shutil.copy(out, tmp_path / "published.pt")
    assert describe_checkpoint(renamed)["round"] == round_.to_dict()


def _init_trained_on(path, segment: str, rounds_file, continued: bool = False):
    """The model file ``path`` of run "a" on all of ``segment``'s labels (nothing held out),
    fresh or ``continued`` from an earlier run on ``segment``."""
    checkpoint = load_checkpoint(save_tiny_checkpoint(path))
    provenance = {
        "segment": segment,
        "labels": {"validation": None},
        "run": "a",
        "rounds_file": str(rounds_file),
        "init": {"segment": segment, "step": 1} if continued else None,
    }
    return save_checkpoint(path, dataclasses.replace(checkpoint, provenance=provenance))


@pytest.mark.parametrize("continued", [False, True], ids=["fresh", "continued"])
def test_a_model_from_an_archived_copy_does_not_take_the_region_of_a_later_run_of_its_name(
    training_folder, tmp_path, continued
):
    """close review C2 #1: mY.pt (run a) trained on all of the labels, archived; a later run
    held out REGION and wrote mY.pt again. A run from archive/mY.pt holding out REGION took
    that later run's round (by name) and recorded REGION as held out of all its training."""
    from inkloop.headless import train_to_file
    from inkloop.io import load_labels, open_segment
    from inkloop.settings import EngineSettings
    from tests._helpers import tiny_model

    segment = open_segment(training_folder)
    ink, supervised, _ = load_labels(segment)
    rounds = tmp_path / "seg_rounds.jsonl"
    append_round(rounds, _round(tmp_path / "mY.pt", 3, "a"))
    append_round(rounds, _round(tmp_path / "mY.pt", 2, "b", region=REGION))
    (tmp_path / "archive").mkdir()
    archived = _init_trained_on(tmp_path / "archive" / "mY.pt", segment.name, rounds, continued)
    settings = EngineSettings(
        model=tiny_model(), train=tiny_training(max_steps=1), init=archived, validation=REGION
    )
    train_to_file(segment, ink, supervised, settings, tmp_path / "m7.pt", rounds=rounds)

    assert read_rounds(rounds)[-1].validation_region == []  # nothing held out throughout


def test_a_continued_models_own_round_says_what_it_held_out_whatever_its_name_since(tmp_path):
    """A model continued on segA records no region of its earlier runs; its run's round does
    (found by run id in the rounds file it names): REGION, though a later run of its name
    held out nothing. Where no round of its run says, it is unknown: nothing is vouched for."""
    from inkloop.rounds import held_out_by_checkpoint, held_out_by_run, read_history

    rounds = tmp_path / "seg_rounds.jsonl"
    append_round(rounds, _round(tmp_path / "mY.pt", 3, "a", region=REGION))
    append_round(rounds, _round(tmp_path / "mY.pt", 2, "b"))
    history = read_history(rounds)
    continued = {"segment": "segA", "run": "a", "rounds_file": str(rounds)}
    continued["init"] = {"segment": "segA", "step": 1}

    own = held_out_by_checkpoint(continued, "segA")
    assert own == (REGION,)
    assert held_out_by_run(history, "archive/mY.pt", REGION, own) == REGION
    assert held_out_by_checkpoint(continued, "segB") == ()  # its round is segA's, not segB's
    unrecorded = held_out_by_checkpoint({**continued, "run": "c"}, "segA")
    assert held_out_by_run([], "archive/mY.pt", REGION, unrecorded) is None


def test_a_model_from_before_run_ids_is_still_found_by_its_file_name(tmp_path):
    """A checkpoint without a run id, continued on segA (so its record keeps no region):
    what it held out is read from the newest round naming its file, as before run ids."""
    from inkloop.rounds import held_out_by_checkpoint, held_out_by_run, read_history

    rounds = tmp_path / "seg_rounds.jsonl"
    append_round(rounds, _round(tmp_path / "m.pt", 3, None, region=REGION))
    older = {"segment": "segA", "rounds_file": str(rounds), "init": {"segment": "segA"}}

    record = held_out_by_checkpoint(older, "segA")
    assert held_out_by_run(read_history(rounds), "/moved/m.pt", REGION, record) == REGION


def test_a_rounds_file_that_cannot_be_read_is_said_and_the_run_goes_on(tmp_path):
    from inkloop._notify import InkloopWarning
    from inkloop.rounds import UNRECORDED, held_out_by_checkpoint

    provenance = {"segment": "segA", "run": "a", "rounds_file": str(tmp_path)}  # a folder
    provenance["init"] = {"segment": "segA", "step": 1}
    with pytest.warns(InkloopWarning, match="cannot be read"):
        assert held_out_by_checkpoint(provenance, "segA") == (UNRECORDED,)
