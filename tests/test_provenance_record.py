"""What a checkpoint and its round record of the training behind them (provenance review R2):
what a continued model's training held out where its init's round is elsewhere (#1), the
labels a run trained on, not those painted after it (#3), whether it was cut short (#6), the
software it ran on and when it was saved (#7), and each batch size it used (#8)."""

from __future__ import annotations

import dataclasses
import platform
from datetime import datetime

import numpy as np
import pytest

from inkloop.checkpoint import load_checkpoint, save_checkpoint
from inkloop.engine import CheckpointSaved
from inkloop.rounds import (
    UNRECORDED,
    held_out_by_checkpoint,
    held_out_by_run,
    new_round,
    read_rounds,
)
from tests._engine import engine_for
from tests._events import TIMEOUT, Recorder, steps_done
from tests._helpers import save_tiny_checkpoint, tiny_model, tiny_training

REGION = (0, 0, 48, 64)


def _trained(segment, validation=None, init=None, **labels) -> dict:
    """The provenance of a checkpoint trained on ``segment`` holding out ``validation``."""
    return {"segment": segment, "labels": {"validation": validation, **labels}, "init": init}


@pytest.mark.parametrize(
    ("provenance", "held"),
    [
        (_trained("segA"), (None,)),  # trained on every label of segA
        (_trained("segA", [10, 10, 40, 40]), ((10, 10, 40, 40),)),
        (_trained("segB"), ()),  # never saw segA's labels
        (_trained("segB", init=_trained("segA") | {"step": 20}), (UNRECORDED,)),
        (_trained("segA", init=_trained("segA") | {"step": 20}), (UNRECORDED,)),
        ({"segment": "segA", "labels": {"hash": "h"}}, (UNRECORDED,)),  # before the record
        ({}, (UNRECORDED,)),
    ],
)
def test_what_a_checkpoint_records_it_held_out_of_a_segment(provenance, held):
    assert held_out_by_checkpoint(provenance, "segA") == held


def test_an_init_no_round_names_is_never_taken_to_have_held_the_region_out():
    """Repro: m1 trained on all of segA; a run from it on other labels of segA (another
    rounds file) holding out 0:96,0:96 recorded that region as held out of all training."""
    region = (0, 0, 96, 96)
    assert held_out_by_run([], "m1.pt", region) is None  # unknown: nothing vouched for
    assert (
        held_out_by_run([], "m1.pt", region, held_out_by_checkpoint(_trained("segA"), "segA"))
        is None
    )
    elsewhere = held_out_by_checkpoint(_trained("segB"), "segA")
    assert held_out_by_run([], "m1.pt", region, elsewhere) == region


@pytest.mark.parametrize(("init_segment", "recorded"), [("same", []), ("segB", list(REGION))])
def test_inkloop_trains_round_of_a_model_from_elsewhere_holds_out_what_its_init_did_not_see(
    training_folder, tmp_path, init_segment, recorded
):
    from inkloop.headless import train_to_file
    from inkloop.io import load_labels, open_segment
    from inkloop.settings import EngineSettings

    segment = open_segment(training_folder)
    ink, supervised, _ = load_labels(segment)
    name = segment.name if init_segment == "same" else init_segment
    init = load_checkpoint(save_tiny_checkpoint(tmp_path / "m1.pt"))
    save_checkpoint(init.source, dataclasses.replace(init, provenance=_trained(name)))
    rounds = tmp_path / "labels_v2_rounds.jsonl"  # --labels OTHER.png: m1's round is not here
    settings = EngineSettings(
        model=tiny_model(), train=tiny_training(max_steps=1), init=init.source, validation=REGION
    )
    train_to_file(segment, ink, supervised, settings, tmp_path / "m5.pt", rounds=rounds)

    assert read_rounds(rounds)[-1].validation_region == recorded


def _stroke(engine) -> None:
    """Ink painted after the run: a 16 x 16 box no step trained on."""
    engine.update_labels(np.full((16, 16), 255, np.uint8), np.ones((16, 16), bool), (8, 8, 24, 24))


@pytest.mark.parametrize("ended_by", ["its limit", "Stop"])
def test_labels_painted_after_a_run_are_not_recorded_as_those_it_trained_on(
    segment, tmp_path, ended_by
):
    """R2 #3: after the run, a stroke, then Save: the checkpoint (and the CheckpointSaved the
    dock's round comes of) named the new labels, which no step saw. The next run's saves
    name them."""
    recorder = Recorder()
    steps = 1 if ended_by == "its limit" else 10_000
    with engine_for(segment, recorder, train=tiny_training(max_steps=steps)) as engine:
        engine.start()
        recorder.wait_for(steps_done(1))
        if ended_by == "Stop":
            engine.stop()
        assert engine.wait(TIMEOUT)
        engine.save(tmp_path / "trained.pt")
        assert engine.wait(TIMEOUT)  # saved before the stroke (which goes in at once)
        _stroke(engine)
        engine.save(tmp_path / "after.pt")
        assert engine.wait(TIMEOUT)
        trained = load_checkpoint(tmp_path / "trained.pt").provenance["labels"]
        assert load_checkpoint(tmp_path / "after.pt").provenance["labels"] == trained
        assert recorder.of(CheckpointSaved)[-1].run["labels"] == trained

        engine.start()  # trains on the stroke
        recorder.wait_for(steps_done(2))
        engine.stop()
        engine.save(tmp_path / "next.pt")
        assert engine.wait(TIMEOUT)
    now = load_checkpoint(tmp_path / "next.pt").provenance["labels"]
    assert (now["updates"], trained["updates"]) == (1, 0)
    assert now["ink_pixels"] > trained["ink_pixels"]


def test_a_round_of_recorded_labels_counts_those_not_the_labels_of_now():
    labels = {"ink_pixels": 5, "supervised_pixels": 12, "hash": "0123456789abcdef"}
    ink, supervised = np.zeros((4, 4), np.uint8), np.ones((4, 4), bool)
    round_ = new_round(1, ink, supervised, accepted_pixels=0, steps=3, validation_f05=None,
                       checkpoint="m.pt", run={"run": "r", "labels": labels})  # fmt: skip
    assert (round_.ink_pixels, round_.no_ink_pixels, round_.labels_hash) == (5, 7, labels["hash"])


def test_a_checkpoint_and_its_round_say_whether_its_run_was_cut_short(segment, tmp_path):
    """R2 #6: a run stopped early (mid-schedule) read as a finished one. Stop, Ctrl+C and
    SIGTERM all stop the engine's run; a save while it runs knows neither yet."""
    recorder = Recorder()
    with engine_for(segment, recorder, train=tiny_training(max_steps=10_000)) as engine:
        engine.start()
        recorder.wait_for(steps_done(1))
        engine.save(tmp_path / "mid-run.pt")
        engine.stop()
        engine.save(tmp_path / "stopped.pt")
        assert engine.wait(TIMEOUT)
    with engine_for(segment, recorder, train=tiny_training(max_steps=1)) as engine:
        engine.start()
        assert engine.wait(TIMEOUT)
        engine.save(tmp_path / "finished.pt")
        assert engine.wait(TIMEOUT)

    trained_on = {
        name: load_checkpoint(tmp_path / f"{name}.pt").provenance["trained_on"]
        for name in ("mid-run", "stopped", "finished")
    }
    assert {name: t["cut_short"] for name, t in trained_on.items()} == {
        "mid-run": None,
        "stopped": True,
        "finished": False,
    }
    assert trained_on["finished"]["trained_seconds"] > 0
    facts = recorder.of(CheckpointSaved)[-1].run  # what the dock's round is made of
    assert (facts["cut_short"], facts["trained_seconds"]) == (
        False,
        trained_on["finished"]["trained_seconds"],
    )
    round_ = new_round(1, None, None, accepted_pixels=0, steps=1, validation_f05=None,
                       checkpoint="finished.pt", run=facts)  # fmt: skip
    assert (round_.cut_short, round_.trained_seconds) == (False, facts["trained_seconds"])


def test_a_checkpoint_names_the_software_it_was_trained_with_and_when_it_was_saved(
    segment, tmp_path
):
    """R2 #7: defaults changed from version to version, and nothing said which made a
    model; `saved` was local time without a zone, and inkloop info did not show it."""
    from datetime import timedelta

    import segmentation_models_pytorch
    import timm
    import torch

    from inkloop import __version__
    from inkloop.checkpoint import describe_checkpoint

    with engine_for(segment, Recorder()) as engine:
        engine.save(tmp_path / "m.pt")
        assert engine.wait(TIMEOUT)
    info = describe_checkpoint(tmp_path / "m.pt")

    assert datetime.fromisoformat(info["saved"]).utcoffset() == timedelta(0)
    software = info["provenance"]["software"]
    assert software == {
        "inkloop": __version__,
        "torch": torch.__version__,
        "segmentation_models_pytorch": segmentation_models_pytorch.__version__,
        "timm": timm.__version__,
        "python": platform.python_version(),
    }


def test_a_checkpoint_records_each_out_of_memory_halving_of_the_batch(segment):
    """R2 #8: trained_on.batch_size was the batch after the last halving, and nothing said
    when it halved. The hooks raise what torch raises on a full GPU (as tests/train's)."""
    import torch

    from inkloop.compose import sample_normalisation
    from inkloop.train import LabelStore
    from tests._helpers import FULL_RESOLUTION, tiny_trainer

    composition = FULL_RESOLUTION.resolve(segment.shape[0])
    labels = LabelStore(np.asarray(segment.ink_labels), np.asarray(segment.mask))
    parts = (segment, labels, composition, sample_normalisation(segment, composition))
    trainer = tiny_trainer(parts, batch_size=8)

    def full_above(patches: int):
        def full(_module, inputs):
            if inputs[0].shape[0] > patches:
                raise torch.OutOfMemoryError("CUDA out of memory")

        trainer.model.register_forward_pre_hook(full)

    full_above(4)
    trainer.step()  # 8 does not fit: 4 from the first step on
    full_above(2)
    trainer.step()  # after 1 step, 4 no longer fits
    trainer.close()

    trained_on = trainer.checkpoint().provenance["trained_on"]
    assert trained_on["batch_sizes"] == [[0, 8], [0, 4], [1, 2]]
    assert trained_on["batch_size"] == 2
