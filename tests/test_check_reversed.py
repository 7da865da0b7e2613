"""`inkloop check` with reversed layers: its suggestions are in the coordinates of the flags
they name (a reversed window's --z-start counts from the last layer), and it compares the
model's window with the suggestion in stored layers."""

from __future__ import annotations

import dataclasses

from inkloop.check import check_segment
from inkloop.checkpoint import load_checkpoint, save_checkpoint
from inkloop.compose import Composition
from inkloop.synthetic import write_segment
from tests._helpers import save_tiny_checkpoint


def _asymmetric_segment(tmp_path):
    """Layers 0..17 of a 24-layer synthetic segment: its sheet lies past the middle."""
    folder = write_segment(tmp_path / "asym", 64, 96, 24, seed=3, ink_contrast=0.5)
    for number in range(18, 24):
        (folder / "layers" / f"{number:02d}.tif").unlink()
    return folder


def _reversed_model(path, start: int, count: int, layers: int):
    """An untrained checkpoint reading ``count`` layers from position ``start`` of the
    reversed ``layers``-layer stack."""
    checkpoint = load_checkpoint(save_tiny_checkpoint(path, count))
    window = Composition("raw", start, count, reverse=True).resolve(layers)
    files = tuple(int(i) for i in window.layer_indices(layers))
    save_checkpoint(path, dataclasses.replace(checkpoint, composition=window, layers=files))
    return path


def test_the_suggested_window_is_given_as_each_flag_takes_it(tmp_path):
    folder = _asymmetric_segment(tmp_path)
    report = check_segment(folder)
    start, count = report["window"]
    assert (start, count) == (7, 10)  # stored layers 7..16, around the sheet
    assert report["lines"][-1].startswith(
        "suggested z-window: layers 7..16 (--z-start 7 --z-count 10; with --reverse: "
        "--z-start 1); training's default window (centred) is layers 4..13"
    )

    # a model that reads 10..1: --z-start 7 of the reversed stack, as the old advice said
    model = _reversed_model(tmp_path / "rev.pt", 7, 10, 18)
    report = check_segment(folder, model, device="cpu")
    assert report["window"] == [7, 10]
    assert report["z_start"] == 1
    assert report["lines"][-1] == (
        "suggested z-window: layers 7..16 (predict --z-start 1); the model's window is layers 1..10"
    )


def test_a_reversed_model_lacking_its_layers_is_checked_at_the_suggested_stored_window(tmp_path):
    folder = _asymmetric_segment(tmp_path)
    model = _reversed_model(tmp_path / "rev.pt", 7, 10, 18)  # files 10..1
    for number in range(2):  # a download of files 02..17: the model's file 1 is missing
        (folder / "layers" / f"{number:02d}.tif").unlink()

    report = check_segment(folder, model, device="cpu")

    assert "checked here at the suggested window" in report["lines"][1]
    assert report["window"] == [5, 10]
    assert report["z_start"] == 1  # 16 - 10 - 5
    assert report["lines"][-1] == (
        "suggested z-window: layers 5..14 (files 7..16) (predict --z-start 1)"
    )


def test_a_model_reversed_on_another_segment_is_checked_at_the_suggestion_as_stored(tmp_path):
    """A model trained back to front on another segment reads this one as stored, so the
    window it is checked at, where this stack lacks its own, is the suggestion itself, not
    the suggestion's mirror image."""
    folder = _asymmetric_segment(tmp_path)
    model = _reversed_model(tmp_path / "rev.pt", 7, 10, 18)
    checkpoint = load_checkpoint(model)
    save_checkpoint(model, dataclasses.replace(checkpoint, provenance={"segment": "elsewhere"}))
    for number in range(2):  # 16 layers: its window's position, 7..16, is off this stack
        (folder / "layers" / f"{number:02d}.tif").unlink()

    report = check_segment(folder, model, device="cpu")

    assert "checked here at the suggested window" in report["lines"][1]
    assert report["window"] == [5, 10]
    assert report["lines"][-1] == (
        "suggested z-window: layers 5..14 (files 7..16) (predict --z-start 5)"
    )
