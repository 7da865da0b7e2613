"""Paths the CLI cannot use, said in one line naming the option or folder (no codec or errno
text): a --segments-file that is not text, a synth folder that cannot be made or written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from inkloop._cli_predict import REFUSED
from inkloop.cli import main
from tests._helpers import posix_only

PNG_START = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"  # an image named by mistake


def _one_line(argv: list[str], capsys) -> str:
    assert main(argv) == (REFUSED if argv[0] == "predict" else 1)  # nothing began
    error = capsys.readouterr().err
    assert error.count("\n") == 1, error
    return error


@pytest.mark.parametrize("content", [PNG_START, b"\x00" * 16], ids=["undecodable", "nul-bytes"])
def test_a_segments_file_that_is_not_text_is_named(tmp_path, monkeypatch, capsys, content):
    monkeypatch.chdir(tmp_path)
    Path("list.txt").write_bytes(content)
    command = ["predict", "--segments-file", "list.txt", "--model", "m.pt", "--out-dir", "out"]
    assert _one_line(command, capsys) == (
        "inkloop predict: error: --segments-file list.txt is not a text file (it lists "
        "segments, one a line)\n"
    )
    assert sorted(os.listdir()) == ["list.txt"]


@pytest.mark.parametrize("target", ["file.txt/seg", "file.txt/a/seg"])
def test_synth_under_a_file_names_the_file(tmp_path, monkeypatch, capsys, target):
    monkeypatch.chdir(tmp_path)
    Path("file.txt").write_text("kept")
    command = ["synth", target, "--height", "64", "--width", "64", "--layers", "8"]
    assert _one_line(command, capsys) == (
        f"inkloop synth: error: {target}: cannot make the folder (file.txt is a file)\n"
    )
    assert sorted(os.listdir()) == ["file.txt"]
    assert Path("file.txt").read_text() == "kept"


@posix_only("a folder made read-only by its mode (Windows ignores it)")
@pytest.mark.skipif(
    getattr(os, "geteuid", lambda: -1)() == 0, reason="root writes in a read-only folder"
)
def test_synth_into_a_read_only_folder_names_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for folder in ("locked", "locked_empty"):
        Path(folder).mkdir(mode=0o555)
    synth = ["synth", "--height", "64", "--width", "64", "--layers", "8"]
    assert _one_line([*synth, "locked/seg"], capsys) == (
        "inkloop synth: error: locked/seg: cannot make the folder (Permission denied)\n"
    )
    assert _one_line([*synth, "locked_empty"], capsys) == (
        f"inkloop synth: error: {tmp_path / 'locked_empty'}: cannot write here\n"
    )
    assert not any(Path("locked").iterdir())
    assert not any(Path("locked_empty").iterdir())
