"""What `inkloop train` says it holds out (closing review C6 of session 41): the line on the
dock's kept region speaks for this run only, since the --init model may have trained on it
(finding 3); an --init model that does not record what it held out is said to be not known,
not to have trained on the region (finding 2)."""

from __future__ import annotations

import warnings
from argparse import Namespace

import pytest

from inkloop._cli_train_held_out import held_out_region
from inkloop._rounds_held_out import NOT_RECORDED
from inkloop.io import open_segment, rounds_path, save_validation_region
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


def test_an_init_that_records_no_segment_is_said_to_be_not_known(segment, tmp_path):
    """A model of the Python API's Trainer records no segment: what its training held out is
    not known, so the line does not say it trained on the region."""
    from inkloop._cli_train_held_out import held_out_with_init
    from inkloop.checkpoint import Checkpoint
    from inkloop.compose import Composition, Normalisation
    from inkloop.settings import ModelConfig

    provenance = {"trained_on": {"device": "cpu"}, "software": {"inkloop": "0.1.0"}}
    init = Checkpoint(ModelConfig(), Composition().resolve(6), Normalisation(0.0, 1.0), 64, 5,
                      {}, provenance=provenance)  # fmt: skip
    args = Namespace(validation=KEPT, init=tmp_path / "api.pt")
    held, said = _said(lambda: held_out_with_init(args, segment, init, rounds_path(segment)))
    assert held is None  # as the round records: nothing vouched for
    assert said == [f"the model --init api.pt {NOT_RECORDED}; train from scratch for a clean score"]
