"""`inkloop train --init M --reverse`: --reverse says that this segment is stored back to
front, whatever M was trained on, so a model continued on a reversed copy of a sheet reads
its layers as it reads the sheet stored front to back."""

from __future__ import annotations

import pytest
import torch

from inkloop.checkpoint import load_checkpoint
from inkloop.cli import main
from inkloop.synthetic import write_segment
from tests._helpers import FAST

SHAPE = (8, 64, 64)  # layers, height, width of one sheet


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    """One synthetic sheet stored front to back ("forward") and twice back to front
    ("backward", which a model is trained on, and "flipped", which it continues on)."""
    root = tmp_path_factory.mktemp("sheet")
    depth, height, width = SHAPE
    stored = {"forward": False, "backward": True, "flipped": True}
    return {
        name: write_segment(root / name, height, width, depth, seed=4, reverse=reverse)
        for name, reverse in stored.items()
    }


@pytest.fixture(scope="module")
def model_rev(copies, tmp_path_factory):
    """A tiny model trained one step on "backward" --reverse (so in depth order)."""
    out = tmp_path_factory.mktemp("model") / "modelRev.pt"
    tiny = ("--z-count", "4", "--encoder", "tu-test_resnet")
    _train(copies["backward"], out, "--reverse", *tiny)
    return out


def _train(segment, out, *extra) -> None:
    args = ["train", str(segment), "--out", str(out), "--max-steps", "1", *extra, *FAST]
    assert main(args) == 0


def test_train_init_reverse_reads_a_reversed_copy_as_the_model_reads_a_forward_one(
    copies, model_rev, tmp_path
):
    _train(copies["forward"], tmp_path / "on_forward.pt", "--init", str(model_rev))
    _train(copies["flipped"], tmp_path / "on_flipped.pt", "--init", str(model_rev), "--reverse")

    forward = load_checkpoint(tmp_path / "on_forward.pt")
    flipped = load_checkpoint(tmp_path / "on_flipped.pt")
    assert not forward.composition.reverse
    assert flipped.composition.reverse
    assert forward.composition.z_start == flipped.composition.z_start
    # the same layers in the same (depth) order: the same step, the same weights
    assert forward.state_dict.keys() == flipped.state_dict.keys()
    for name, weights in forward.state_dict.items():
        assert torch.equal(weights, flipped.state_dict[name]), name


def test_a_reversed_model_reading_a_stack_as_stored_names_each_way_to_say_otherwise(
    copies, model_rev
):
    from inkloop._notify import InkloopWarning
    from inkloop.io import open_segment
    from inkloop.predict import model_window

    with pytest.warns(InkloopWarning) as said:
        model_window(load_checkpoint(model_rev), open_segment(copies["flipped"]))

    assert str(said[0].message) == (
        "modelRev.pt was trained on a stack stored back to front and reads flipped as stored; "
        "if flipped is stored back to front too, predict it with `inkloop predict --reverse`, "
        "train on it with `inkloop train --init modelRev.pt --reverse`, or tick Reverse under "
        "Model input in the dock's Segment section"
    )
