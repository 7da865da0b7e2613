"""`inkloop train segA segB`: a run takes one segment, and the refusal says how to use
several (review RD of session 41, finding 7): continue with --init, segment by segment."""

from __future__ import annotations

import pytest

from inkloop.cli import main


def test_a_second_segment_is_refused_with_the_way_to_use_several(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["train", str(tmp_path / "segA"), str(tmp_path / "segB"), "--out", "ab.pt"])
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert exited.value.code == 2
    assert error.startswith("inkloop train: error: one segment a run, not 2 (")
    assert "segB" in error
    assert "--init" in error
    assert "segment by segment" in error


def test_other_unknown_arguments_are_still_named(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", str(tmp_path / "segA"), "--out", "a.pt", "--no-such-option"])
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err
