"""Labels inkloop did not mark (a download's ground truth, a colleague's GIMP file, an inkloop's
from before the mark) are saved into in place, as they are opened, after a first kept copy."""

from __future__ import annotations

import errno
import hashlib
import os
import warnings

import numpy as np
import pytest
from PIL import Image

from inkloop._notify import InkloopWarning
from inkloop.io import initial_labels, label_paths, open_segment, save_labels, write_png
from tests._helpers import band, posix_only

ID = "20231012184423"  # the segment_folder fixture's


@pytest.fixture
def community(segment_folder):
    """The segment with its ink labels and supervision mask as another tool saves them
    (RGBA labels), or as inkloop saved them before its mark: no inkloop text."""
    ink = segment_folder / f"{ID}_inklabels.png"
    grey = np.asarray(Image.open(ink).convert("L"))
    Image.fromarray(np.dstack([grey] * 3 + [np.full_like(grey, 255)]), "RGBA").save(ink)
    write_png(segment_folder / f"{ID}_supervision_mask.png", band(0, 40))
    return segment_folder, ink


def _digest(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _kept(folder, kind: str) -> list:
    return sorted(folder.glob(f"{ID}_{kind}.saved-*.png"))


def test_the_first_save_keeps_unmarked_labels_as_they_were_then_saves_into_them(community):
    folder, ink = community
    mask = folder / f"{ID}_supervision_mask.png"
    before = {ink: _digest(ink), mask: _digest(mask)}
    painted = band(10, 20)

    with pytest.warns(InkloopWarning) as said:
        saved = save_labels(open_segment(folder), painted, np.ones_like(painted, bool))

    assert saved == (ink, mask)  # in place, as opened
    (kept_ink,), (kept_mask,) = _kept(folder, "inklabels"), _kept(folder, "supervision_mask")
    assert {_digest(kept_ink), _digest(kept_mask)} == set(before.values())
    assert [str(w.message) for w in said] == [
        f"{ID}: {ink.name} and {mask.name} had no inkloop mark (another tool's, or saved by an "
        "inkloop before 2026-12-05); painted labels are saved into them from now on, and the "
        f"files as they were are kept beside them: {ink.name} as {kept_ink.name}, "
        f"{mask.name} as {kept_mask.name}"
    ]
    reopened = open_segment(folder)
    assert np.array_equal(np.asarray(reopened.ink_labels), painted)
    save_labels(reopened, band(5, 9), np.ones_like(painted, bool))  # marked now: no new copy
    assert len(_kept(folder, "inklabels")) == len(_kept(folder, "supervision_mask")) == 1


def test_opening_unmarked_labels_says_nothing_of_where_they_go(community):
    folder, ink = community
    segment = open_segment(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InkloopWarning)
        initial_labels(segment)
    assert label_paths(segment)[0] == ink
    assert not _kept(folder, "inklabels")  # kept at the first save only


def test_labels_inkloop_wrote_are_saved_into_in_place(segment_folder):
    segment = open_segment(segment_folder)
    first = save_labels(segment, band(0, 8), np.ones((64, 96), bool))  # the fixture's, inkloop's
    again = save_labels(open_segment(segment_folder), band(5, 9), np.ones((64, 96), bool))
    assert again == first
    assert not _kept(segment_folder, "inklabels")
    write_png(segment_folder / "ignored.png", band(0, 1))  # a stray file changes nothing
    assert label_paths(open_segment(segment_folder)) == first


def test_an_unmarked_supervision_mask_alone_is_kept_at_the_first_save(segment_folder):
    (segment_folder / f"{ID}_inklabels.png").unlink()
    mask = write_png(segment_folder / f"{ID}_supervision_mask.png", band(0, 40))
    before = _digest(mask)

    with pytest.warns(InkloopWarning, match=f"{mask.name} as {ID}_supervision_mask.saved-"):
        save_labels(open_segment(segment_folder), band(10, 20), np.zeros((64, 96), bool))

    (kept_mask,) = _kept(segment_folder, "supervision_mask")
    assert _digest(kept_mask) == before
    assert not _kept(segment_folder, "inklabels")


@pytest.fixture
def files_up_to(monkeypatch):
    """Cap the size of the files this process writes, as a nearly full disk does: a larger
    write fails with EFBIG (SIGXFSZ ignored, else it would end the process)."""
    resource = pytest.importorskip("resource")  # POSIX
    signal = pytest.importorskip("signal")
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    yield lambda size: resource.setrlimit(resource.RLIMIT_FSIZE, (size, limits[1]))
    resource.setrlimit(resource.RLIMIT_FSIZE, limits)
    signal.signal(signal.SIGXFSZ, handler)


def test_a_failed_first_save_leaves_no_kept_copies_and_a_retry_keeps_one_pair(
    community, files_up_to
):
    folder, ink = community
    mask = folder / f"{ID}_supervision_mask.png"
    before = {ink: _digest(ink), mask: _digest(mask)}
    noise = np.random.default_rng(0).integers(0, 256, (64, 96), np.uint8)  # encodes > 4 KiB
    assert max(ink.stat().st_size, mask.stat().st_size) < 4096

    files_up_to(4096)
    with pytest.raises(OSError, match=os.strerror(errno.EFBIG)):
        save_labels(open_segment(folder), noise, np.ones_like(noise, bool))
    files_up_to(-1)  # RLIM_INFINITY
    assert {path: _digest(path) for path in before} == before
    assert not _kept(folder, "inklabels")
    assert not _kept(folder, "supervision_mask")

    with pytest.warns(InkloopWarning):
        save_labels(open_segment(folder), noise, np.ones_like(noise, bool))
    (kept_ink,), (kept_mask,) = _kept(folder, "inklabels"), _kept(folder, "supervision_mask")
    assert {_digest(kept_ink), _digest(kept_mask)} == set(before.values())


@posix_only("a file renamed over a folder fails with EISDIR")
def test_a_save_that_fails_after_replacing_the_ink_keeps_its_copy(community):
    folder, ink = community
    mask = folder / f"{ID}_supervision_mask.png"
    before = _digest(ink)
    mask.unlink()
    mask.mkdir()  # the mask's rename, after the ink's, fails

    with pytest.raises(IsADirectoryError), pytest.warns(InkloopWarning, match=f"{ink.name} as "):
        save_labels(open_segment(folder), band(10, 20), np.ones((64, 96), bool))

    (kept_ink,) = _kept(folder, "inklabels")
    assert _digest(kept_ink) == before != _digest(ink)


def test_a_save_whose_mask_rename_fails_after_the_ink_keeps_the_masks_copy(community, monkeypatch):
    folder, _ = community
    mask = folder / f"{ID}_supervision_mask.png"
    before = _digest(mask)
    replace = os.replace

    def mask_held(source, target):  # Windows: the mask open in another program
        if str(target).endswith("_supervision_mask.png"):
            raise PermissionError(errno.EACCES, "The process cannot access the file", str(target))
        return replace(source, target)

    monkeypatch.setattr(os, "replace", mask_held)
    segment = open_segment(folder)
    with pytest.raises(PermissionError), pytest.warns(InkloopWarning, match="as they were"):
        save_labels(segment, band(10, 20), np.ones((64, 96), bool))
    monkeypatch.setattr(os, "replace", replace)
    save_labels(segment, band(10, 20), np.ones((64, 96), bool))  # the retry: the ink is marked now

    assert before in {_digest(kept) for kept in _kept(folder, "supervision_mask")}
