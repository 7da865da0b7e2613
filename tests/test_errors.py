"""Whose an error is (`inkloop._errors`): the user's, told in one line, or a bug, told with its
traceback, by the engine's log and the `inkloop` command alike."""

from __future__ import annotations

import errno

import pytest

from inkloop import headless
from inkloop._cli_predict import REFUSED
from inkloop._errors import users_error
from inkloop.boxes import check_box
from inkloop.checkpoint import CheckpointError
from inkloop.cli import main
from inkloop.engine import RequestError
from inkloop.io import SegmentError
from inkloop.train import LabelError


def _raised(call, *args) -> Exception:
    try:
        call(*args)
    except Exception as error:
        return error
    raise AssertionError(f"{call.__name__}{args} raised nothing")


def _raise(error: Exception):
    raise error


@pytest.mark.parametrize(
    "error",
    [
        SegmentError("seg: no layers"),
        LabelError("no ink labelled"),
        CheckpointError("m.pt: not an inkloop checkpoint"),
        RequestError("region 0:10,0:10 is outside the segment"),
        FileNotFoundError(errno.ENOENT, "No such file or directory", "m.pt"),
        OSError(errno.ENOSPC, "No space left on device"),
    ],
)
def test_inkloops_error_classes_a_missing_file_and_the_disk_are_the_users(error):
    assert users_error(error)
    assert users_error(error, command=True)


@pytest.mark.parametrize("error", [ValueError("a bug"), RuntimeError("a bug")])
def test_other_errors_are_bugs(error):
    assert not users_error(_raised(_raise, error))
    assert not users_error(_raised(_raise, error), command=True)


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.EBADF, "Bad file descriptor"),
        OSError("Timed out trying to connect to tcp://10.0.0.9:8786 after 30 s"),
        MemoryError("Unable to allocate 5.96 GiB for an array with shape (8, 8192, 12200)"),
    ],
)
def test_an_os_or_memory_error_is_the_users_in_the_command_only(error):
    assert not users_error(_raised(_raise, error))
    assert users_error(_raised(_raise, error), command=True)


def test_what_inkloops_own_code_raises_is_the_users_in_the_command_only():
    """There every check is of the user's arguments; the engine's own raise is its bug."""
    told = _raised(check_box, (0, 0, 50, 50), (10, 10))
    assert "is empty or outside the 10x10 image" in str(told)
    assert users_error(told, command=True)
    assert not users_error(told)


@pytest.mark.parametrize("box", [("a", 0, 5, 5), (0, 0, 5)], ids=["in-C", "unpacking"])
def test_an_error_of_a_call_in_inkloops_code_is_a_bug_even_in_the_command(box):
    """As a shape error of torch's or numpy's: raised inside inkloop's frame, not by it."""
    error = _raised(check_box, box, (10, 10))
    assert isinstance(error, ValueError)
    assert not users_error(error, command=True)


def test_a_bug_in_the_command_prints_its_traceback(training_folder, tmp_path, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("shape '[1, 16, 544, 544]' is invalid for input of size 123")

    out = tmp_path / "p.png"
    args = ["predict", str(training_folder), "--model", "m.pt", "--out", str(out), "--quiet"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(headless, "predict_to_file", broken)
        assert main(args) == 1
    error = capsys.readouterr().err
    assert error.startswith("Traceback (most recent call last):")
    assert "in broken\n" in error  # down to where it was raised
    assert error.endswith(
        "RuntimeError: shape '[1, 16, 544, 544]' is invalid for input of size 123\n"
        "inkloop predict: a bug in inkloop: please report it, traceback and all\n"
    )
    assert not out.exists()


def test_a_missing_segment_is_one_line_in_the_command(tmp_path, capsys):
    missing = tmp_path / "20240101000000"
    out = tmp_path / "p.png"
    args = ["predict", str(missing), "--model", str(tmp_path / "m.pt"), "--out", str(out)]
    assert main(args) == REFUSED
    error = capsys.readouterr().err
    assert error.count("\n") == 1, error
    assert error.startswith(f"inkloop predict: error: {missing}")
