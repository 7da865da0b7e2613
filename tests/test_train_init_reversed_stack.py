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


def _train(segment, out, *extra) -> None:
    args = ["train", str(segment), "--out", str(out), "--max-steps", "1", *extra, *FAST]
    assert main(args) == 0


def test_train_init_reverse_reads_a_reversed_copy_as_the_model_reads_a_forward_one(
    copies, tmp_path
):
    model_rev = tmp_path / "modelRev.pt"  # trained back to front, read in depth order
    tiny = ("--z-count", "4", "--encoder", "tu-test_resnet")
    _train(copies["backward"], model_rev, "--reverse", *tiny)
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
