"""A continued model records what it continued from (its checkpoint's provenance and its
round: file, step, segment, labels hash, and so on back), and a window that does not fit the
segment is the user's error, told in one line."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pytest

from inkloop._errors import users_error
from inkloop._lineage import init_lineage
from inkloop.checkpoint import describe_checkpoint, load_checkpoint, save_checkpoint
from inkloop.cli import main
from inkloop.compose import Composition
from inkloop.engine._build import checkpoint_provenance, resolve_run
from inkloop.io import SegmentError, open_segment
from inkloop.rounds import read_rounds
from inkloop.settings import EngineSettings
from inkloop.synthetic import write_segment
from inkloop.train import LabelStore
from tests._helpers import FAST, TRAIN_SHAPE, save_tiny_checkpoint


def test_a_model_continued_on_another_segment_names_what_it_continued_from(model, tmp_path):
    depth, height, width = TRAIN_SHAPE
    other = write_segment(tmp_path / "20250101000000", height, width, depth, seed=9)
    out = tmp_path / "continued.pt"
    command = ["train", str(other), "--init", str(model), "--out", str(out), "--max-steps", "1"]
    assert main([*command, *FAST]) == 0

    pretrained = load_checkpoint(model)
    expected = {
        "checkpoint": "model.pt",
        "step": pretrained.step,
        "segment": pretrained.provenance["segment"],
        "labels_hash": pretrained.provenance["labels"]["hash"],
        "init": None,  # trained fresh
    }
    described = describe_checkpoint(out)  # `inkloop info`
    assert described["step"] == pretrained.step + 1
    assert described["provenance"]["init"] == expected
    assert described["round"]["init"] == expected
    assert read_rounds(other / "20250101000000_rounds.jsonl")[-1].init == expected


def _checkpoint(step: int, segment: str | None, source: str, init=None):
    provenance = {"segment": segment, "labels": {"hash": f"{segment}-labels"}, "init": init}
    return SimpleNamespace(step=step, provenance=provenance, source=source)


def test_the_lineage_keeps_each_move_to_another_segment_not_each_run_on_one():
    pretrained = init_lineage(_checkpoint(20, "segA", "/models/a.pt"))
    first = init_lineage(_checkpoint(30, "segB", "/b/own.pt", init=pretrained))
    assert first["init"] == pretrained  # B's own model at step 30, from a.pt at step 20
    again = init_lineage(_checkpoint(45, "segB", "/b/own.pt", init=first))
    assert again == {
        "checkpoint": "own.pt",
        "step": 45,
        "segment": "segB",
        "labels_hash": "segB-labels",
        "init": pretrained,  # the run on segB from step 30 is counted in this one
    }
    back = init_lineage(_checkpoint(60, "segA", "/a/own.pt", init=again))
    assert back["init"] == again  # trained on segA's labels again: a link of its own
    unknown = init_lineage(_checkpoint(5, None, "/old.pt", init=None))
    assert unknown["segment"] is None
    assert unknown["init"] is None


def test_saves_after_the_run_replaced_its_init_in_place_name_it_as_it_was_read(
    segment_folder, tmp_path
):
    segment = open_segment(segment_folder)
    init = save_tiny_checkpoint(tmp_path / "own.pt")  # step 7
    settings = EngineSettings(init=init)
    resolve_run(settings, segment)
    save_checkpoint(init, dataclasses.replace(load_checkpoint(init), step=99))  # its 1st save
    labels = LabelStore(np.asarray(segment.ink_labels), np.asarray(segment.mask))

    provenance = checkpoint_provenance(settings, segment, labels)

    assert provenance["init"]["checkpoint"] == "own.pt"
    assert provenance["init"]["step"] == 7  # what the run started from, not its own save
    json.dumps(provenance)  # it goes into the checkpoint's pickle and `inkloop info`'s JSON


def test_rounds_files_from_before_the_lineage_read_as_before(tmp_path):
    path = tmp_path / "old_rounds.jsonl"
    old = {
        "number": 1,
        "time": "2026-01-01T00:00:00+00:00",
        "ink_pixels": 10,
        "no_ink_pixels": 20,
        "accepted_pixels": 0,
        "steps": 30,
        "validation_f05": None,
        "checkpoint": "m.pt",
        "labels_hash": "abc",
    }
    bad = {**old, "number": 2, "init": "m.pt"}
    path.write_text(json.dumps(old) + "\n" + json.dumps(bad) + "\n")
    (round_,) = read_rounds(path)  # the line whose init is no object is skipped
    assert round_.number == 1
    assert round_.init is None


@pytest.mark.parametrize(
    "settings_for",
    [
        lambda init: EngineSettings(init=init, init_z_start=6),  # layers 6..9 of its 8
        lambda init: EngineSettings(init=_trained_on_files(init, (20, 21, 22, 23))),
        lambda init: EngineSettings(composition=Composition(z_start=6, z_count=4)),
    ],
    ids=["moved-off-the-stack", "layers-it-lacks", "fresh-model-off-the-stack"],
)
def test_a_window_that_does_not_fit_the_segment_is_the_users_error(
    segment_folder, tmp_path, settings_for
):
    """So the engine logs it in one line (`log_failure`), not as a bug with its traceback."""
    segment = open_segment(segment_folder)  # 8 layers, files 0..7
    settings = settings_for(save_tiny_checkpoint(tmp_path / "deep.pt", depth=4))
    with pytest.raises(SegmentError, match="deep.pt: " if settings.init else "z-window") as raised:
        resolve_run(settings, segment)
    assert users_error(raised.value)  # the engine's rule, not only the command's


def _trained_on_files(path, layers: tuple[int, ...]):
    """The checkpoint at ``path``, now recorded as trained on the files numbered ``layers``."""
    return save_checkpoint(path, dataclasses.replace(load_checkpoint(path), layers=layers))
