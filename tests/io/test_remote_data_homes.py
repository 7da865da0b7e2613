"""Where a remote segment's folder moves from, and where it never does: a scratch
$INKLOOP_DATA leaves the platform's data folder (the default, where sessions without it
keep their labels and models) alone; an empty earlier folder is no move; a folder moved
from goes once emptied."""

from __future__ import annotations

import warnings

import pytest

from inkloop._notify import InkloopWarning
from inkloop.io import open_segment
from inkloop.io._homes import other_spellings
from inkloop.io._remote import local_folder
from inkloop.io._sidefiles import side_folder
from tests._http import NAME, serve, write_served_segment

pytest.importorskip("aiohttp")


@pytest.fixture(scope="module")
def served(tmp_path_factory, synthetic):
    root = tmp_path_factory.mktemp("served")
    write_served_segment(root, NAME, synthetic)
    with serve(root) as (base, _server):
        yield f"{base}/{NAME}.zarr"


@pytest.fixture
def platform_home(tmp_path, monkeypatch):
    """A home whose platform data folder is ~/.local/share (Linux's, with no $XDG_DATA_HOME)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("INKLOOP_DATA")
    return tmp_path / "home" / ".local" / "share" / "inkloop" / "remote"


def _moves_told(open_it) -> list[str]:
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        open_it()
    told = [str(w.message) for w in warned if w.category is InkloopWarning]
    return [message for message in told if "moved from" in message]


def test_a_scratch_data_folder_takes_nothing_from_the_platforms(
    served, platform_home, tmp_path, monkeypatch
):
    """One job with $INKLOOP_DATA set took the dock's model and painted labels out of the
    default folder, where the next normal session no longer found them."""
    default = side_folder(open_segment(served))
    assert default == local_folder(served, platform_home)
    model = default / f"{NAME}_inkloop_model.pt"
    model.write_bytes(b"weights")  # the dock's model, or painted labels

    monkeypatch.setenv("INKLOOP_DATA", str(tmp_path / "scratch"))
    assert _moves_told(lambda: open_segment(served)) == []

    assert model.read_bytes() == b"weights"
    assert not (local_folder(served) / model.name).exists()


def test_an_empty_earlier_folder_is_no_move_and_one_moved_from_goes(
    served, platform_home, tmp_path
):
    earlier = local_folder(served, tmp_path / "cache" / "inkloop" / "remote")
    earlier.mkdir(parents=True)
    assert _moves_told(lambda: open_segment(served)) == []  # was "moved", moving nothing
    assert earlier.is_dir()

    folder = local_folder(served)
    for file in folder.iterdir():
        file.unlink()
    folder.rmdir()
    (earlier / f"{NAME}_inkloop_model.pt").write_bytes(b"weights")
    assert len(_moves_told(lambda: open_segment(served))) == 1

    assert (folder / f"{NAME}_inkloop_model.pt").read_bytes() == b"weights"
    assert not earlier.exists()  # else every later new data folder "moved" it again


def test_the_folder_of_another_spelling_of_the_server_moves_to_this_one(
    served, data_home, tmp_path
):
    """http:// and https:// (or :443) of one server named two folders: the labels painted
    under one spelling seemed gone under the other."""
    https = served.replace("http://", "https://")
    earlier = local_folder(https)
    earlier.mkdir(parents=True)
    (earlier / f"{NAME}_inkloop_model.pt").write_bytes(b"weights")

    told = _moves_told(lambda: open_segment(served))

    folder = local_folder(served)
    assert told == [f"{served}: its labels and models moved from {earlier} to {folder}"]
    assert (folder / f"{NAME}_inkloop_model.pt").read_bytes() == b"weights"
    assert not earlier.exists()


def test_other_spellings_of_a_server_are_its_schemes_and_default_ports():
    assert other_spellings("https://dl.ash2txt.org/full-scrolls/S.zarr") == [
        "http://dl.ash2txt.org/full-scrolls/S.zarr",
        "http://dl.ash2txt.org:443/full-scrolls/S.zarr",
        "http://dl.ash2txt.org:80/full-scrolls/S.zarr",
        "https://dl.ash2txt.org:443/full-scrolls/S.zarr",
        "https://dl.ash2txt.org:80/full-scrolls/S.zarr",
    ]
    assert other_spellings("http://[::1]:8000/S.zarr") == ["https://[::1]:8000/S.zarr"]
    assert other_spellings("s3://bucket/S.zarr") == []


def test_work_that_cannot_be_moved_is_said_and_the_segment_opens(
    served, data_home, tmp_path, monkeypatch
):
    """A move the system refuses (a file open in another program on Windows) leaves the work
    where it is, said, and the open goes on."""
    from inkloop.io import _homes

    https = served.replace("http://", "https://")
    earlier = local_folder(https)
    earlier.mkdir(parents=True)
    (earlier / f"{NAME}_inkloop_model.pt").write_bytes(b"weights")

    def refused(*args):
        raise PermissionError(13, "in use by another process")

    monkeypatch.setattr(_homes, "move_work", refused)
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        open_segment(served)
    said = f"{served}: its labels and models in {earlier} could not be moved to "
    said += f"{local_folder(served)} ([Errno 13] in use by another process): move them there"
    assert [str(w.message) for w in warned if "could not be moved" in str(w.message)] == [
        f"{said} to use them"
    ]
    assert (earlier / f"{NAME}_inkloop_model.pt").is_file()
