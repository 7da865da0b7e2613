"""The `inkloop` command line: info, synth, help and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest

from inkloop._notify import notify, said_as
from inkloop.cli import main
from tests._helpers import linux_only, posix_only


def test_info_prints_one_json_object(segment_folder, capsys):
    assert main(["info", str(segment_folder)]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report["name"] == "20231012184423"
    assert report["shape"] == [8, 64, 96]
    assert report["dtype"] == "uint16"
    assert report["has_mask"] is True
    assert report["has_ink_labels"] is True
    assert report["has_supervision"] is False
    assert report["format"] == "vesuvius"


def test_synth_writes_a_segment_that_info_reads(tmp_path, capsys):
    out = tmp_path / "fake_segment"
    args = ["synth", str(out), "--height", "48", "--width", "40", "--layers", "6", "--seed", "2"]
    assert main(args) == 0
    capsys.readouterr()

    assert main(["info", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["shape"] == [6, 48, 40]
    assert report["dtype"] == "uint16"
    assert (out / "fake_segment_mask.png").exists()
    assert (out / "fake_segment_inklabels.png").exists()

    labels = (out / "fake_segment_inklabels.png").read_bytes()
    assert main([*args[:2], "--layers", "4"]) == 1  # never two segments' files in one folder
    assert "fake_segment: folder is not empty" in capsys.readouterr().err
    assert (out / "fake_segment_inklabels.png").read_bytes() == labels


def test_bad_segment_is_one_line_on_stderr_and_exit_1(tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing")]) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().count("\n") == 0
    assert "missing: no such file or folder" in captured.err


def test_a_notice_is_one_line_naming_the_command(segment_folder, capsys):
    assert main(["info", str(segment_folder / "layers")]) == 0
    notice = f"{segment_folder / 'layers'} is the layer folder of the segment"
    assert capsys.readouterr().err == (
        f"inkloop info: {notice} {segment_folder.name}: opened {segment_folder}\n"
    )


def test_each_notice_is_said_once_and_other_warnings_as_python_says_them(capsys):
    shown = []
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # each call shown, wherever it comes from
        warnings.showwarning = lambda message, category, *rest: shown.append(category)
        with said_as("predict"):
            notify("the same words")
            notify("the same words")
            warnings.warn("from a library", UserWarning, stacklevel=1)
    assert capsys.readouterr().err == "inkloop predict: the same words\n"
    assert shown == [UserWarning]


@posix_only("bash, head, and the SIGPIPE or EPIPE of a pipe closed early")
def test_a_reader_that_leaves_early_is_no_error(segment_folder):
    command = f"{sys.executable} -m inkloop.cli info {segment_folder} | head -c 0"
    result = subprocess.run(["bash", "-c", command], capture_output=True, check=True)
    assert result.stderr == b""  # head left before the JSON came: no error, no traceback


@linux_only("the DISPLAY and WAYLAND_DISPLAY check, made on Linux alone")
def test_demo_without_display_says_how_to_run_it(monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)

    assert main(["demo"]) == 1
    assert "xvfb-run" in capsys.readouterr().err


def test_demo_window_refuses_what_it_cannot_do_before_opening(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DISPLAY", ":99")  # refused before any window could try it
    shot = tmp_path / "missing" / "demo.png"

    assert main(["demo", "--screenshot", str(shot)]) == 1
    assert capsys.readouterr().err == (
        f"inkloop demo: error: cannot save the screenshot: {shot.parent}: folder does not exist\n"
    )
    assert main(["demo", "--device", "cpu", "--overwrite"]) == 1
    assert capsys.readouterr().err == (
        "inkloop demo: error: --device, --overwrite: only with --headless OUT_DIR (the window "
        "trains on a click)\n"
    )


def test_console_script_help_lists_the_commands():
    result = subprocess.run(
        [sys.executable, "-m", "inkloop.cli", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("info", "synth", "demo"):
        assert command in result.stdout


def test_version_names_the_installed_inkloop_and_its_wire_mark(capsys):
    from inkloop import __version__
    from inkloop.engine._versions import WIRE

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"inkloop {__version__}, wire {WIRE}"
