"""`inkloop train --init` continues with the checkpoint's training recipe (patch size, rate,
batch, seed, loss, augmentations) where no option says otherwise, and says so in one line;
a run without --init is set up as it always was."""

from __future__ import annotations

import dataclasses

import pytest

from inkloop.checkpoint import load_checkpoint, save_checkpoint
from inkloop.cli import main
from inkloop.settings import Augmentations, TrainConfig
from tests._helpers import save_tiny_checkpoint

# how Monday's model was trained (the machine's settings: not the recipe)
MONDAY = TrainConfig(
    patch_size=128,
    batch_size=2,
    lr=3e-4,
    ema=0.9,
    augment=Augmentations(blur=0.0),
    seed=7,
    device="cpu",
    amp=False,
    max_steps=200,
)


@pytest.fixture
def settings(monkeypatch) -> list:
    """The EngineSettings each `inkloop train` would train with: training is not the matter."""
    runs = []

    def train_to_file(segment, ink, supervised, settings, *args, **kwargs):
        runs.append(settings)
        return {"interrupted": False}

    monkeypatch.setattr("inkloop.headless.train_to_file", train_to_file)
    return runs


def _checkpoint(path, train):
    """A tiny checkpoint trained with ``train`` (None: from before inkloop kept it)."""
    save_tiny_checkpoint(path)
    return save_checkpoint(path, dataclasses.replace(load_checkpoint(path), train=train))


def test_init_continues_with_the_checkpoints_recipe_and_options_override_it(
    training_folder, tmp_path, settings, capfd
):
    init = _checkpoint(tmp_path / "monday.pt", MONDAY)
    out = str(tmp_path / "tuesday.pt")
    base = ["train", str(training_folder), "--init", str(init), "--quiet", "--max-steps", "5"]
    assert main([*base, "--out", out, "--lr", "5e-4"]) == 0
    train = settings.pop().train
    # the recipe from the checkpoint, the option given, this run's budget and machine
    assert train == dataclasses.replace(
        MONDAY, lr=5e-4, max_steps=5, max_seconds=None, device="auto", amp=True
    )
    told = [line for line in capfd.readouterr().err.splitlines() if "recipe" in line]
    assert told == [
        "inkloop train: --init monday.pt: continuing with its training recipe: patch size 128, "
        "batch size 2, ema 0.9, augment.blur 0.0, seed 7"
    ]
    given = ["--patch-size", "32", "--batch-size", "4", "--lr", "1e-3", "--seed", "0"]
    assert main([*base, "--out", out, "--overwrite", *given]) == 0
    train = settings.pop().train  # options given override, even with the default value
    assert (train.patch_size, train.batch_size, train.lr, train.seed) == (32, 4, 1e-3, 0)
    told = [line for line in capfd.readouterr().err.splitlines() if "recipe" in line]
    assert told == [
        "inkloop train: --init monday.pt: continuing with its training recipe: ema 0.9, "
        "augment.blur 0.0"
    ]


def test_a_checkpoint_from_before_recipes_were_kept_hands_on_its_patch_size(
    training_folder, tmp_path, settings, capfd
):
    init = save_tiny_checkpoint(tmp_path / "old.pt")  # no `train`: patch size 32
    out = str(tmp_path / "new.pt")
    assert main(["train", str(training_folder), "--init", str(init), "--out", out]) == 0
    assert settings.pop().train == TrainConfig(patch_size=32, max_seconds=300.0)
    assert (
        "inkloop train: --init old.pt: continuing with its training recipe: patch size 32; its "
        "checkpoint, from before inkloop recorded training recipes, records only its patch size: "
        "batch size, lr, weight decay, warmup steps, schedule, label smoothing, dice weight, "
        "ink share, ema, augmentations, seed are today's defaults\n"
    ) in capfd.readouterr().err
    given = ["--patch-size", "64", "--batch-size", "2", "--lr", "1e-3", "--overwrite"]
    assert main(["train", str(training_folder), "--init", str(init), "--out", out, *given]) == 0
    assert settings.pop().train.batch_size == 2
    assert (
        "inkloop train: --init old.pt: its checkpoint, from before inkloop recorded training "
        "recipes, records only its patch size: weight decay, warmup steps, schedule, label "
        "smoothing, dice weight, ink share, ema, augmentations, seed are today's defaults\n"
    ) in capfd.readouterr().err


def test_a_fresh_run_is_set_up_as_before_and_says_nothing_of_a_recipe(
    training_folder, tmp_path, settings, capfd
):
    out = str(tmp_path / "model.pt")
    assert main(["train", str(training_folder), "--out", out]) == 0
    # the options' defaults of before --init took the checkpoint's recipe
    assert settings.pop().train == TrainConfig(
        patch_size=64, batch_size=None, lr=1e-3, seed=0, max_seconds=300.0, device="auto"
    )
    assert "recipe" not in capfd.readouterr().err
