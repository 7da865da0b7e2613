"""`inkloop synth --name ID OUT`: a segment opens as its folder's name, so another id is
refused before anything is written."""

from __future__ import annotations

import pytest

from inkloop.cli import main
from inkloop.io import open_segment
from inkloop.synthetic import write_segment

SIZE = ["--height", "32", "--width", "32", "--layers", "4"]


def test_synth_refuses_a_name_other_than_its_folders_before_writing(tmp_path, capsys):
    out = tmp_path / "seg_a"

    status = main(["synth", str(out), *SIZE, "--name", "20230905134255", "--demo-strokes"])

    assert status == 1
    assert capsys.readouterr().err == (
        f"inkloop synth: error: {out}: a segment's id is its folder's name, so it would open "
        f"as seg_a, not 20230905134255: to name it 20230905134255, write it to "
        f"{tmp_path / '20230905134255'}\n"
    )
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="would open as seg_a, not 20230905134255"):
        write_segment(out, 32, 32, 4, name="20230905134255")
    assert list(tmp_path.iterdir()) == []


def test_synth_named_as_its_folder_opens_as_that_id(tmp_path, capsys):
    out = tmp_path / "20230905134255"

    assert main(["synth", str(out), *SIZE, "--name", out.name, "--demo-strokes"]) == 0

    segment = open_segment(out)
    assert segment.name == "20230905134255"
    assert segment.mask is not None
    assert segment.ink_labels is not None
