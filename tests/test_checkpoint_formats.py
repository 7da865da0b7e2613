"""What inkloop says of a checkpoint of another format than the current one: an old one
(without the file numbers of its layers) whose window is off a stack gets the same way out as
a current one; a newer one names the inkloop that wrote it and says to upgrade."""

from __future__ import annotations

import dataclasses

import pytest

from inkloop import __version__
from inkloop.checkpoint import CHECKPOINT_VERSION, CheckpointError, load_checkpoint

MOVE_IT = r"choose where its window starts \(`--z-start` of .* First layer in the dock"


def test_an_old_checkpoint_off_the_stack_says_how_to_move_its_window(model, tmp_path):
    from inkloop.io import open_segment
    from inkloop.predict import model_window
    from inkloop.synthetic import write_segment

    older = dataclasses.replace(load_checkpoint(model), layers=())  # from before they were kept
    thin = open_segment(write_segment(tmp_path / "thin", 64, 64, 4, seed=1))
    with pytest.raises(ValueError, match=rf"z-window 2\.\.5 is outside layers 0\.\.3; {MOVE_IT}"):
        model_window(older, thin)


def test_a_newer_checkpoint_names_the_inkloop_that_wrote_it(model, tmp_path):
    import torch

    payload = torch.load(model, map_location="cpu", weights_only=True)
    payload["version"] = CHECKPOINT_VERSION + 1
    payload["provenance"]["software"] = {"inkloop": "9.1.0"}
    future = tmp_path / "future.pt"
    torch.save(payload, future)
    with pytest.raises(CheckpointError) as raised:
        load_checkpoint(future)
    assert str(raised.value) == (
        f"{future}: written by inkloop 9.1.0 (checkpoint format {CHECKPOINT_VERSION + 1}); "
        f"this inkloop, {__version__}, reads format {CHECKPOINT_VERSION} and older: "
        "upgrade inkloop to 9.1.0 or later to use it"
    )


def test_a_newer_checkpoint_without_its_software_says_to_upgrade(model, tmp_path):
    import torch

    payload = torch.load(model, map_location="cpu", weights_only=True)
    payload["version"] = CHECKPOINT_VERSION + 1
    payload["provenance"] = {}
    future = tmp_path / "future.pt"
    torch.save(payload, future)
    with pytest.raises(CheckpointError, match=r"written by a newer inkloop .*: upgrade inkloop"):
        load_checkpoint(future)
