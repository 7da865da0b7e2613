"""A finished prediction the system will not move into place (Windows, while napari, Fiji or
QGIS holds the old output open) is kept beside it under a name the user sees, and the error
says where: the last step of a long prediction never throws it away."""

from __future__ import annotations

import os

import dask.array as da
import numpy as np
import pytest

from inkloop.io import read_prediction
from inkloop.predict import write_prediction
from inkloop.predict._placing import NotReplacedError

OLD, NEW = np.full((40, 50), 0.2, np.float32), np.full((40, 50), 0.8, np.float32)
NAMES = ["x_prediction.tif", "x_prediction.png", "x_prediction.ome.zarr", "x_prediction.zarr"]
KEPT = {name: name.replace("_prediction.", "_prediction.new.", 1) for name in NAMES}


def _held_open(monkeypatch, out) -> None:
    """os.replace as on Windows while another program holds ``out`` open: no rename onto it
    (a file) nor of it (a folder with a file open inside) is allowed."""
    real_replace = os.replace

    def windows_replace(source, target, **kwargs):
        if str(out) in (os.fspath(source), os.fspath(target)):
            raise PermissionError(
                13, "Access is denied", os.fspath(source), None, os.fspath(target)
            )
        return real_replace(source, target, **kwargs)

    monkeypatch.setattr(os, "replace", windows_replace)


@pytest.mark.parametrize("name", NAMES)
def test_a_prediction_that_cannot_replace_an_open_output_is_kept_beside_it(
    tmp_path, monkeypatch, name
):
    out = write_prediction(da.from_array(OLD), tmp_path / name, progress=False)
    _held_open(monkeypatch, out)

    with pytest.raises(NotReplacedError) as refused:
        write_prediction(da.from_array(NEW), out, progress=False)

    kept = tmp_path / KEPT[name]
    assert str(refused.value) == (
        f"{out} could not be replaced (Access is denied): is it open in napari, Fiji, QGIS or "
        f"another program? The new prediction is kept as {kept}: close what shows {name}, then "
        f"delete it and rename {kept.name} to {name}"
    )
    np.testing.assert_allclose(read_prediction(kept), NEW, atol=1 / 255)
    np.testing.assert_allclose(read_prediction(out), OLD, atol=1 / 255)  # the old one is whole
    # nothing staged, claimed or set aside is left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, kept.name])


@pytest.mark.parametrize("name", ["x_prediction.ome.zarr", "x_prediction.zarr"])
def test_a_folder_set_aside_comes_back_where_the_new_one_cannot_take_its_place(
    tmp_path, monkeypatch, name
):
    """The old folder renamed away, the new one refused its name: the old one goes back."""
    out = write_prediction(da.from_array(OLD), tmp_path / name, progress=False)
    real_replace = os.replace

    def refuse_the_new_one(source, target, **kwargs):
        if os.fspath(source).endswith(".new") and os.fspath(target) == str(out):
            raise PermissionError(13, "Access is denied", os.fspath(source))
        return real_replace(source, target, **kwargs)

    monkeypatch.setattr(os, "replace", refuse_the_new_one)
    with pytest.raises(NotReplacedError):
        write_prediction(da.from_array(NEW), out, progress=False)
    np.testing.assert_allclose(read_prediction(out), OLD, atol=1 / 255)
    np.testing.assert_allclose(read_prediction(tmp_path / KEPT[name]), NEW, atol=1 / 255)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, KEPT[name]])


def test_a_second_prediction_kept_does_not_take_the_first_ones_place(tmp_path, monkeypatch):
    out = write_prediction(da.from_array(OLD), tmp_path / "x_prediction.tif", progress=False)
    _held_open(monkeypatch, out)
    for values in (NEW, OLD / 2):
        with pytest.raises(NotReplacedError):
            write_prediction(da.from_array(values), out, progress=False)
    first, second = tmp_path / "x_prediction.new.tif", tmp_path / "x_prediction.new-2.tif"
    np.testing.assert_allclose(read_prediction(first), NEW, atol=1 / 255)
    np.testing.assert_allclose(read_prediction(second), OLD / 2, atol=1 / 255)


def test_a_file_that_cannot_be_encoded_is_not_kept(tmp_path, monkeypatch):
    """A disk full while encoding: nothing finished, so nothing is kept (nor encoded again)."""
    from inkloop.predict import _outputs

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_outputs, "_write_flat", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_prediction(da.from_array(NEW), tmp_path / "x_prediction.tif", progress=False)
    assert list(tmp_path.iterdir()) == []


def _failing_sync(monkeypatch, what: str) -> None:
    """os.fsync failing with EIO (a share, a quota) on the first ``what``: "file" (the
    encoded part, before its rename) or "folder" (after it)."""
    import errno
    import stat

    real_fsync, failed = os.fsync, []

    def fsync(fd):
        is_folder = stat.S_ISDIR(os.fstat(fd).st_mode)
        if not failed and is_folder == (what == "folder"):
            failed.append(fd)
            raise OSError(errno.EIO, "Input/output error")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_a_failed_sync_before_the_rename_is_a_write_failure_not_a_refused_move(
    tmp_path, monkeypatch
):
    """No output was there to be refused: the disk's error, and nothing encoded again."""
    _failing_sync(monkeypatch, "file")
    out = tmp_path / "x_prediction.tif"
    with pytest.raises(OSError, match="not written") as failed:
        write_prediction(da.from_array(NEW), out, progress=False)
    assert not isinstance(failed.value, NotReplacedError)
    assert str(failed.value) == f"[Errno 5] {out}: not written (Input/output error)"
    assert list(tmp_path.iterdir()) == []


def test_a_failed_folder_sync_after_the_rename_leaves_the_prediction_finished(
    tmp_path, monkeypatch, caplog
):
    out = write_prediction(da.from_array(OLD), tmp_path / "x_prediction.tif", progress=False)
    _failing_sync(monkeypatch, "folder")

    assert write_prediction(da.from_array(NEW), out, progress=False) == out

    np.testing.assert_allclose(read_prediction(out), NEW, atol=1 / 255)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no second copy kept
    assert "its folder could not be synced: [Errno 5] Input/output error" in caplog.text
