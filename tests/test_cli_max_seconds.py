"""What `--max-seconds` says it limits: the time spent in training steps, not the wall time."""

from __future__ import annotations

import pytest

from inkloop.cli import main


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("train", "validation (every 50 steps) and the final save come on top"),
        ("demo", "start-up and the predictions and scores around training come on top"),
    ],
)
def test_max_seconds_says_what_comes_on_top(capsys, command, said):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "seconds spent in training steps" in help_text
    assert said in help_text
