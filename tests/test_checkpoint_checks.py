"""What inkloop says of a file given as a checkpoint that is damaged or another program's
model: bytes that fail the zip's checksums, weights that are not finite (never saved, never
loaded), a TorchScript model, a bare state_dict, a Lightning or other training checkpoint."""

from __future__ import annotations

import dataclasses
import re
import struct
import warnings
import zipfile

import pytest
import torch

from inkloop._errors import TrainingDivergedError, users_error
from inkloop.checkpoint import (
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
    unreadable_checkpoint,
)
from inkloop.model import build_model
from tests._helpers import save_tiny_checkpoint, tiny_model

RECIPE = r", without inkloop's recipe .* --labels-from-prediction"


def _damage_largest_entry(path) -> str:
    """Flip bytes in the middle of the largest entry of the zip at ``path`` (a tensor's, as
    a bad disk or a cut copy would); its name."""
    with zipfile.ZipFile(path) as archive:
        entry = max(archive.infolist(), key=lambda info: info.file_size)
    raw = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack("<HH", raw[entry.header_offset + 26 :][:4])
    middle = entry.header_offset + 30 + name_length + extra_length + entry.file_size // 2
    raw[middle : middle + 64] = bytes(b ^ 0xFF for b in raw[middle : middle + 64])
    path.write_bytes(raw)
    return entry.filename


def test_damaged_tensor_bytes_are_refused_naming_their_entry(tmp_path):
    path = save_tiny_checkpoint(tmp_path / "model.pt")
    entry = _damage_largest_entry(path)
    said = f"damaged: {entry} in it fails its checksum"
    refused = f"model.pt: not a readable inkloop checkpoint ({said})"
    with pytest.raises(CheckpointError, match=re.escape(refused)):
        load_checkpoint(path)
    assert unreadable_checkpoint(path) == said  # the dock's check, without torch


def test_weights_that_are_not_finite_are_refused_at_load(tmp_path):
    path = save_tiny_checkpoint(tmp_path / "model.pt")
    payload = torch.load(path, weights_only=True)
    name, weight = next((k, v) for k, v in payload["state_dict"].items() if v.is_floating_point())
    weight.view(-1)[0] = float("nan")
    torch.save(payload, path)
    refused = f"model.pt: damaged: 1 weight ({name}) is not finite"
    with pytest.raises(CheckpointError, match=re.escape(refused)):
        load_checkpoint(path)


def test_weights_that_are_not_finite_are_never_saved_over_a_model(tmp_path):
    path = save_tiny_checkpoint(tmp_path / "model.pt")
    kept = path.read_bytes()
    checkpoint = load_checkpoint(path)
    weights = {name: weight.clone() for name, weight in checkpoint.state_dict.items()}
    for weight in [w for w in weights.values() if w.is_floating_point()][:2]:
        weight.view(-1)[-1] = float("inf")
    refused = r"the model was not saved: 2 weights \(.*\) are not finite, as training diverged"
    with pytest.raises(TrainingDivergedError, match=refused) as raised:
        save_checkpoint(path, dataclasses.replace(checkpoint, state_dict=weights))
    assert path.read_bytes() == kept  # the model continued in place is still there
    assert users_error(raised.value)  # one line, not a traceback


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
def test_a_torchscript_model_is_named_without_torchs_warning(tmp_path):
    path = tmp_path / "scripted.pt"
    torch.jit.script(torch.nn.Linear(2, 1)).save(str(path))
    refused = r"scripted\.pt: not an inkloop checkpoint but a TorchScript model" + RECIPE
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's "looks like a TorchScript archive" included
        with pytest.raises(CheckpointError, match=refused):
            load_checkpoint(path)
    assert unreadable_checkpoint(path).startswith("not an inkloop checkpoint but a TorchScript")


@pytest.mark.parametrize(
    ("payload", "what", "dock"),
    [
        (lambda weights: weights, r"a bare state_dict \(weights only\)", False),
        (
            lambda weights: {"epoch": 3, "state_dict": weights, "pytorch-lightning_version": "2.4"},
            "a PyTorch Lightning checkpoint",
            True,  # named without torch: the key is plain text in the pickle
        ),
        (
            lambda weights: {"epoch": 3, "state_dict": weights, "optimizer": {}},
            "a training checkpoint of another program",
            False,
        ),
    ],
)
def test_another_programs_model_is_named_with_the_way_to_learn_from_it(
    tmp_path, payload, what, dock
):
    path = tmp_path / "other.pt"
    torch.save(payload(build_model(tiny_model()).state_dict()), path)
    refused = rf"other\.pt: not an inkloop checkpoint but {what}{RECIPE}"
    with pytest.raises(CheckpointError, match=refused):
        load_checkpoint(path)
    assert (unreadable_checkpoint(path) is not None) == dock


def test_a_checkpoint_in_torchs_format_before_zips_is_left_to_the_engine(tmp_path):
    """The dock's torch-free check cannot read torch's old format; `load_checkpoint`
    can, so the dock must not refuse it as cut short."""
    path = tmp_path / "old_format.pt"
    torch.save({"weights": torch.zeros(2)}, path, _use_new_zipfile_serialization=False)
    assert unreadable_checkpoint(path) is None
    (tmp_path / "notes.pt").write_text("not a model")
    assert unreadable_checkpoint(tmp_path / "notes.pt") is not None
