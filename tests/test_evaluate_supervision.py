"""`inkloop evaluate` scores the pixels the labels' own supervision mask says are labelled,
as `inkloop train` trains on them; `--supervision all` scores every pixel."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inkloop.cli import main
from inkloop.io import write_label_files, write_png
from inkloop.io._torn_labels import TornPairError
from inkloop.metrics import best_scores


@pytest.fixture
def painted(tmp_path):
    """A prediction, and labels saved as the dock saves them: ink in a 10² box, a 40² box
    supervised (the rest unpainted), with their arrays."""
    ink = np.zeros((60, 80), np.uint8)
    ink[10:20, 10:20] = 255
    supervised = np.zeros((60, 80), bool)
    supervised[5:45, 5:45] = True
    probability = np.full((60, 80), 200, np.uint8)  # calls every pixel ink
    prediction = write_png(tmp_path / "p.png", probability)
    labels, mask = write_label_files(tmp_path / "x_inklabels.png", ink, supervised)
    return prediction, labels, mask, probability, ink, supervised


def _run(capsys, *args):
    assert main(["evaluate", *map(str, args)]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def test_the_supervision_mask_saved_with_the_labels_is_scored_on_and_said(painted, capsys):
    prediction, labels, mask, probability, ink, supervised = painted
    report, err = _run(capsys, prediction, "--labels", labels)
    assert report["ink_share"] == 0.0625  # 10² ink of the 40² supervised pixels
    assert report["f05"] == pytest.approx(best_scores(probability, ink, supervised).f05)
    assert err == (
        f"inkloop evaluate: scored on the 1600 pixels of {mask.name}, the supervision mask "
        "saved with the labels (--supervision all: every pixel)\n"
    )
    assert _run(capsys, prediction, "--labels", labels, "--supervision", mask)[0] == report


def test_supervision_all_scores_every_pixel(painted, capsys):
    prediction, labels, _, probability, ink, _ = painted
    report, err = _run(capsys, prediction, "--labels", labels, "--supervision", "all")
    assert report["ink_share"] == pytest.approx(100 / (60 * 80), abs=1e-4)
    assert report["f05"] == pytest.approx(best_scores(probability, ink).f05)
    assert err == ""


def test_a_torn_pair_is_refused_with_the_way_to_score_it_as_it_is(painted, tmp_path):
    from inkloop.headless import evaluate_file

    prediction, labels, mask, _, ink, supervised = painted
    old_mask = mask.read_bytes()
    write_label_files(labels, ink, supervised)  # a second save, then its mask torn back
    mask.write_bytes(old_mask)
    with pytest.raises(TornPairError, match="to use them as they are, give"):
        evaluate_file(prediction, labels)


def test_the_report_says_which_pixels_it_scored(painted, capsys):
    prediction, labels, mask = painted[:3]
    report = _run(capsys, prediction, "--labels", labels)[0]
    assert (report["supervision"], report["scored_pixels"]) == (str(mask), 1600)
    report = _run(capsys, prediction, "--labels", labels, "--supervision", "all")[0]
    assert (report["supervision"], report["scored_pixels"]) == ("all", 60 * 80)


def test_a_region_the_saved_mask_leaves_out_names_it_and_how_to_score_every_pixel(painted, capsys):
    prediction, labels, mask = painted[:3]
    assert main(["evaluate", str(prediction), "--labels", str(labels), "--region", "0:60,50:80"])
    assert capsys.readouterr().err.endswith(
        f"no pixel to score: {mask.name}, the supervision mask saved with the labels, has no "
        "labelled pixel in the region 0:60,50:80; pass --supervision all to score every pixel "
        "there\n"
    )


def test_a_region_the_saved_mask_covers_in_part_says_how_much_it_scored(painted, capsys):
    prediction, labels, mask = painted[:3]
    report, err = _run(capsys, prediction, "--labels", labels, "--region", "0:60,15:80")
    assert report["scored_pixels"] == 40 * 30  # rows 5-44 of columns 15-44
    assert err == (
        f"inkloop evaluate: scored on the 1200 pixels of {mask.name} (1200 of the region's 3900 "
        "pixels), the supervision mask saved with the labels (--supervision all: every pixel)\n"
    )
