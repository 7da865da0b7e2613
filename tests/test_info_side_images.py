"""`inkloop info` tells a mask or label image whose size is not the layers' (r3 F5)."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from inkloop.cli import main


def test_info_reports_side_images_of_another_size(segment_folder, capsys):
    mask = segment_folder / "20231012184423_mask.png"
    Image.fromarray(np.full((65, 96), 255, np.uint8)).save(mask)  # the layers are 64 x 96

    assert main(["info", str(segment_folder)]) == 0

    said = capsys.readouterr()
    (problem,) = json.loads(said.out)["problems"]
    assert problem.startswith(f"{mask}: image is 65x96 but the layers are 64x96")
    assert problem in said.err


def test_info_reports_no_problem_for_side_images_that_fit(segment_folder, capsys):
    assert main(["info", str(segment_folder)]) == 0

    assert json.loads(capsys.readouterr().out)["problems"] == []
