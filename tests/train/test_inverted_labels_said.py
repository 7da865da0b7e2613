"""Labels saved the other way round (black ink on white, GIMP's default colours) train, but
are said: ink over most of labels that cover the papyrus. Ink strokes under a supervision
mask that hugs them may well be mostly ink: not a word."""

from __future__ import annotations

import re
import warnings

import numpy as np

from inkloop._notify import InkloopWarning
from inkloop.cli import main
from inkloop.io import open_segment, write_png
from inkloop.train import LabelStore
from tests._helpers import FAST

SHAPE = (64, 96)


def _papyrus() -> np.ndarray:
    papyrus = np.zeros(SHAPE, bool)
    papyrus[8:56] = True  # air above and below
    return papyrus


def _strokes() -> np.ndarray:
    """Three ink strokes of 255 on 0: 3 x 4 x 60 px, 9% of the papyrus."""
    ink = np.zeros(SHAPE, np.uint8)
    for top in (16, 28, 40):
        ink[top : top + 4, 18:78] = 255
    return ink


def _said(store, papyrus) -> list[str]:
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        store.check_trainable(papyrus)
    return [str(w.message) for w in said if issubclass(w.category, InkloopWarning)]


def test_labels_inverted_over_the_papyrus_mask_are_said_once_with_their_share():
    inverted = 255 - _strokes()
    papyrus = _papyrus()
    store = LabelStore(inverted, papyrus, sources={"labels_file": "seg/seg_inklabels.png"})
    share = np.count_nonzero(inverted[papyrus]) / np.count_nonzero(papyrus)  # 84%
    assert _said(store, papyrus) == [
        f"seg/seg_inklabels.png: ink covers {share:.0%} of the labelled papyrus, where real "
        "ink is nearer 10%: black ink on white? inkloop reads 255 as ink (invert the image's "
        "colours)"
    ]
    everywhere = np.ones(SHAPE, bool)  # no papyrus mask: every pixel supervised
    assert len(_said(LabelStore(255 - _strokes(), everywhere), None)) == 1


def test_ink_the_right_way_round_or_under_a_hugging_supervision_mask_is_not_said():
    papyrus = _papyrus()
    assert _said(LabelStore(_strokes(), papyrus), papyrus) == []
    ink = _strokes()
    hugging = np.zeros(SHAPE, bool)  # the strokes and a pixel of "no ink" above and below
    for top in (16, 28, 40):
        hugging[top - 1 : top + 5, 17:79] = True
    assert np.count_nonzero(ink[hugging]) / np.count_nonzero(hugging) > 0.6
    assert _said(LabelStore(ink, hugging), papyrus) == []


def test_inkloop_train_says_it_on_stderr_and_trains(segment_folder, tmp_path, capsys):
    ink_path = segment_folder / f"{segment_folder.name}_inklabels.png"
    ink = np.asarray(open_segment(segment_folder).ink_labels)
    write_png(ink_path, np.where(ink >= 128, 0, 255).astype(np.uint8))  # black ink on white
    out = tmp_path / "model.pt"

    tiny = ["--max-steps", "1", "--encoder", "tu-test_resnet", "--loader-workers", "0", *FAST]
    code = main(["train", str(segment_folder), "--out", str(out), *tiny])

    assert code == 0
    said = [line for line in capsys.readouterr().err.splitlines() if "ink covers" in line]
    assert len(said) == 1
    assert re.fullmatch(
        f"inkloop train: {re.escape(str(ink_path))}: ink covers [89]\\d% of the labelled "
        r"papyrus, where real ink is nearer 10%: black ink on white\? .*",
        said[0],
    )
    assert out.exists()
