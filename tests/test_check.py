"""`inkloop check`: the layers' intensity curve, a z-window, and the layer order a model sees."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inkloop.check import LayerProfile, Orientation, layer_profile
from inkloop.cli import main
from inkloop.io import open_segment
from inkloop.settings import Augmentations, EngineSettings
from inkloop.synthetic import write_segment
from tests._helpers import tiny_model, tiny_training


def test_the_profile_finds_the_sheet_and_centres_the_window_on_it(tmp_path):
    folder = write_segment(tmp_path / "seg", 96, 128, 20, seed=2)
    segment = open_segment(folder)
    profile = layer_profile(segment, np.asarray(segment.mask))
    assert len(profile.means) == 20
    assert 8.5 <= profile.surface() <= 10.5  # the synthetic sheet lies around the middle
    assert profile.window(8) == (round(profile.surface() - 3.5), 8)
    skewed = LayerProfile((0.0, 0.0, 0.0, 1.0, 5.0, 1.0))
    assert skewed.window(4) == (2, 4)  # centred on layer 4, kept inside the stack
    assert skewed.window(10) == (0, 6)


def test_without_a_mask_a_small_segment_is_profiled_by_its_own_pixels(tmp_path):
    """The 256² sample window of a 40 x 50 segment is mostly padding past its edge: those
    zeros are not papyrus and must not pull the layer means down."""
    segment = open_segment(write_segment(tmp_path / "small", 40, 50, 6, seed=1))
    profile = layer_profile(segment, None)
    volume = np.asarray(segment.volume, np.float64)
    assert np.allclose(profile.means, volume.mean(axis=(1, 2)))


def test_a_curve_without_a_peak_inside_the_stack_names_no_surface_and_centres_the_window():
    # the real dev crop's curve: 13 layers within the sheet, brightest at both ends
    crop = LayerProfile((140.0, 134, 126, 119, 113, 109, 107, 108, 111, 115, 118, 122, 124))
    assert crop.surface() is None  # a centroid of the two ends would say layer 4.6
    assert crop.window(6) == (3, 6)
    assert "no layer inside the stack is the brightest (the first one is)" in crop.described()
    rising = LayerProfile((1.0, 2, 3, 4, 5))
    assert rising.surface() is None
    assert "(the last one is)" in rising.described()
    flat = LayerProfile((3.0,) * 7)
    assert flat.surface() is None
    assert flat.window(4) == (1, 4)
    assert "every layer is as bright as the next" in flat.described()
    # the words follow the smoothed curve, as the surface does: its peak is the first layer
    early = LayerProfile((10.0, 9, 11, 0, 0))
    assert early.surface() is None
    assert "(the first one is)" in early.described()


@pytest.mark.parametrize(
    ("forward", "backward", "says"),
    [
        (0.08, 0.005, "layer order looks right"),
        (0.004, 0.06, "layers look reversed: train with them reversed"),
        (0.0005, 0.001, "almost no ink either way"),
        (0.05, 0.04, "unclear"),
    ],
)
def test_the_verdict_is_one_line_to_act_on(forward, backward, says):
    assert says in Orientation(forward, backward).verdict()


@pytest.mark.slow
def test_a_stack_written_back_to_front_is_found_reversed(tmp_path, capsys):
    # ink on one face of the sheet, as on a real recto: the stack has a right way round
    options = {"seed": 11, "ink_contrast": 0.3, "ink_depth": -2.0}
    forward = write_segment(tmp_path / "forward", 192, 256, 12, **options)
    backward = write_segment(tmp_path / "backward", 192, 256, 12, reverse=True, **options)
    segment = open_segment(forward)
    # no z-jitter: a model that knows at which depth the ink lies, as scroll models do; 200
    # steps: at 120 one training seed in ten left the verdict "unclear"
    still = Augmentations(z_jitter=0, order_jitter=0.0)
    train = tiny_training(
        patch_size=64, batch_size=8, lr=3e-3, warmup_steps=10, max_steps=200, augment=still
    )
    settings = EngineSettings(model=tiny_model(), train=train)
    from inkloop.headless import train_to_file

    ink, mask = np.asarray(segment.ink_labels), np.asarray(segment.mask)
    train_to_file(segment, ink, mask, settings, tmp_path / "model.pt", progress=False)
    capsys.readouterr()
    reports = {}
    for name, folder in (("forward", forward), ("backward", backward)):
        args = ["check", str(folder), "--model", str(tmp_path / "model.pt"), "--device", "cpu"]
        assert main([*args, "--json"]) == 0
        reports[name] = json.loads(capsys.readouterr().out)
    assert "look reversed" in reports["backward"]["verdict"], reports["backward"]["lines"]
    assert "look reversed" not in reports["forward"]["verdict"], reports["forward"]["lines"]
    assert reports["forward"]["forward_ink"] > reports["forward"]["reversed_ink"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "`inkloop train --reverse`" in printed
    start, count = reports["backward"]["window"]
    assert (
        f"suggested z-window: layers {start}..{start + count - 1} (predict --z-start {start})"
    ) in printed


def test_a_suggestion_that_is_not_the_default_window_says_which_is_read(tmp_path, capsys):
    folder = write_segment(tmp_path / "seg", 128, 160, 12, seed=0)
    assert main(["check", str(folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    start, count = report["window"]
    default = (12 - count) // 2
    assert start != default  # this sheet lies off the stack's middle
    assert report["lines"][-1].endswith(
        f"; training's default window (centred) is layers {default}..{default + count - 1}"
    )


def test_a_stack_without_the_model_layers_is_checked_at_the_suggested_window(tmp_path, capsys):
    folder = write_segment(tmp_path / "seg", 128, 160, 8, seed=0)
    model = tmp_path / "model.pt"
    fast = ["--max-steps", "1", "--patch-size", "32", "--batch-size", "2", "--device", "cpu"]
    assert main(["train", str(folder), "--out", str(model), "--quiet", *fast]) == 0
    for number in range(4):  # a download of layers 04..07: the model read 02..05
        (folder / "layers" / f"{number:02d}.tif").unlink()
    capsys.readouterr()

    assert main(["check", str(folder), "--model", str(model), "--device", "cpu", "--json"]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report["lines"][1].startswith(
        "the model was trained on layers 2..5 (file numbers) but seg has 4 layers (4..7)"
    )
    assert report["lines"][-1] == (
        "suggested z-window: layers 0..3 (files 4..7) (predict --z-start 0)"
    )
    assert 0 <= report["forward_ink"] <= 1
