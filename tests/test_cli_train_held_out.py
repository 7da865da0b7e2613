"""What `inkloop train` says it holds out (closing review C6 of session 41): the line on the
dock's kept region speaks for this run only, since the --init model may have trained on it
(finding 3)."""

from __future__ import annotations

import warnings

import pytest

from inkloop._cli_train_held_out import held_out_region
from inkloop.io import open_segment, save_validation_region
from inkloop.synthetic import write_segment

KEPT = (0, 0, 48, 64)  # y0, x0, y1, x1


@pytest.fixture
def segment(tmp_path):
    return open_segment(write_segment(tmp_path / "20240101000000", 64, 96, 6, seed=5))


def _said(call) -> tuple:
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        result = call()
    return result, [str(warning.message) for warning in said]


def test_the_kept_region_line_speaks_for_this_run_only(segment):
    save_validation_region(segment, KEPT)
    region, said = _said(lambda: held_out_region(None, segment, own=True))
    assert region == KEPT
    assert len(said) == 1
    assert "its labels are scored, not trained on by this run;" in said[0]
