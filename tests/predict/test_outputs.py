"""Prediction files: the OME-Zarr pyramid napari opens at once, the community's tiled uint8
BigTIFF, and nothing that looks finished after an interrupted write."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import tifffile
import zarr
from dask.callbacks import Callback

from inkloop.io import (
    is_prediction_pyramid,
    prediction_kind,
    prediction_levels,
    prediction_origin,
    prediction_output,
    read_prediction,
)
from inkloop.predict import write_prediction
from inkloop.predict._outputs import SMALLEST_LEVEL


@pytest.fixture(scope="module")
def probability() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.random((2500, 3000), dtype=np.float32)


def _lazy(values):
    return da.from_array(values, chunks=2048)  # the block size of predict_segment


def test_ome_zarr_is_a_compressed_pyramid_down_to_a_screen(probability, tmp_path):
    out = write_prediction(_lazy(probability), tmp_path / "p.ome.zarr", progress=False)
    levels = prediction_levels(out)
    assert [level.shape for level in levels] == [(2500, 3000), (1250, 1500), (625, 750)]
    assert max(levels[-1].shape) <= SMALLEST_LEVEL < max(levels[-2].shape)
    assert all(level.dtype == np.uint8 for level in levels)
    expected = (probability * 255 + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(np.asarray(levels[0]), expected)
    means = expected[:2, :2].mean()  # level 1 holds the 2 x 2 means of level 0
    assert int(levels[1][0, 0]) == int(means + 0.5)

    group = zarr.open_group(str(out), mode="r")
    ome = group.attrs["ome"]
    assert ome["version"] == "0.5"
    (image,) = ome["multiscales"]
    assert [a["name"] for a in image["axes"]] == ["y", "x"]
    scales = [d["coordinateTransformations"][0]["scale"] for d in image["datasets"]]
    assert scales == [[1.0, 1.0], [2.0, 2.0], [4.0, 4.0]]
    first = group["0"]
    assert first.chunks == (1024, 1024)
    assert first.metadata.dimension_names == ("y", "x")
    assert first.compressors  # compressed chunks
    assert is_prediction_pyramid(out)


def test_ome_zarr_levels_lie_over_the_pixels_they_average(probability, tmp_path):
    """Each level's first pixel centre lies at the mean of the level-0 centres it covers
    (OME-NGFF transforms place pixel centres), for a region starting at (40, 300)."""
    out = write_prediction(
        _lazy(probability), tmp_path / "r.ome.zarr", progress=False, origin=(40, 300)
    )
    datasets = zarr.open_group(str(out), mode="r").attrs["ome"]["multiscales"][0]["datasets"]
    for level, dataset in enumerate(datasets):
        scale, translation = (t[t["type"]] for t in dataset["coordinateTransformations"])
        covered = np.arange(2**level)  # the level-0 pixels its first pixel averages
        centre = [40 + covered.mean(), 300 + covered.mean()]
        assert scale == [2.0**level] * 2
        assert translation == centre
    assert prediction_origin(out) == (40.0, 300.0)


def test_tiff_is_a_tiled_compressed_uint8_bigtiff(probability, tmp_path):
    out = write_prediction(_lazy(probability), tmp_path / "p.tif", progress=False)
    with tifffile.TiffFile(out) as tif:
        page = tif.pages[0]
        assert tif.is_bigtiff
        assert (page.tilelength, page.tilewidth) == (256, 256)
        assert page.compression == tifffile.COMPRESSION.ADOBE_DEFLATE
        assert page.dtype == np.uint8
        stored = page.asarray()
    np.testing.assert_array_equal(stored, (probability * 255 + 0.5).astype(np.uint8))


def test_tiff_as_float32_on_request(probability, tmp_path):
    out = tmp_path / "p.tif"
    write_prediction(_lazy(probability), out, progress=False, tiff_float=True)
    np.testing.assert_array_equal(tifffile.imread(out), probability)


def test_a_tiff_prediction_is_read_in_chunks_that_decode_each_strip_once(
    probability, tmp_path, monkeypatch
):
    """Tiled (inkloop's own) and uncompressed files are read by 1024² windows; strips, which
    decode whole at every read, whole for a small file, else in full-width bands of whole
    strips (1024² chunks decoded each strip once per column of chunks)."""
    values = probability[:1100, :1300]
    tiled = write_prediction(_lazy(values), tmp_path / "tiled.tif", progress=False)
    tifffile.imwrite(tmp_path / "raw.tif", values)
    tifffile.imwrite(tmp_path / "strips.tif", values, compression="zlib", rowsperstrip=8)

    def chunks(name):
        (level,) = prediction_levels(tmp_path / name)
        return level.chunks

    assert chunks(tiled.name) == chunks("raw.tif") == ((1024, 76), (1024, 276))
    assert chunks("strips.tif") == ((1100,), (1300,))
    monkeypatch.setattr("inkloop.io._sidefiles.WHOLE_STRIPS_BYTES", values.nbytes)
    assert chunks("strips.tif") == ((1024, 76), (1300,))
    np.testing.assert_array_equal(read_prediction(tmp_path / "strips.tif"), values)


class _Interrupt(Callback):
    """Ctrl+C after the first task finishes."""

    def _posttask(self, *args):
        raise KeyboardInterrupt


@pytest.mark.parametrize("name", ["p.ome.zarr", "p.tif", "p.png", "p.zarr"])
def test_an_interrupted_write_leaves_no_file(probability, tmp_path, name):
    with pytest.raises(KeyboardInterrupt):
        write_prediction(_lazy(probability), tmp_path / name, progress=_Interrupt())
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_rewrite_keeps_the_old_file(probability, tmp_path):
    out = write_prediction(_lazy(probability), tmp_path / "p.ome.zarr", progress=False)
    with pytest.raises(KeyboardInterrupt):
        write_prediction(_lazy(1 - probability), out, progress=_Interrupt())
    assert [p.name for p in tmp_path.iterdir()] == ["p.ome.zarr"]
    np.testing.assert_allclose(read_prediction(out), probability, atol=1 / 255)


def test_a_second_run_into_an_output_being_written_is_refused(probability, tmp_path):
    from inkloop.predict._outputs import PredictionFile

    out = tmp_path / "p.zarr"
    first = PredictionFile(out, "zarr", probability.shape)
    with pytest.raises(ValueError, match=r"p\.zarr: another prediction is writing it now"):
        PredictionFile(out, "zarr", probability.shape)
    assert (tmp_path / ".p.zarr.partial").is_dir()  # the first one's blocks are left alone
    first.abandon()
    PredictionFile(out, "zarr", probability.shape).abandon()  # free again
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["p.ome.zarr", "p.png"])
def test_an_output_that_cannot_be_staged_leaves_no_claim_behind(tmp_path, monkeypatch, name):
    import errno
    from pathlib import Path

    from inkloop.predict._outputs import PredictionFile

    made = []

    def disk_full(folder, *args, **kwargs):
        made.append(folder)
        raise OSError(errno.ENOSPC, "No space left on device")

    out = tmp_path / name
    with monkeypatch.context() as patch:
        patch.setattr(Path, "mkdir", disk_full)
        with pytest.raises(OSError, match="No space left on device"):
            PredictionFile(out, prediction_kind(out), (8, 8))
    assert made  # the staging area was being made
    assert list(tmp_path.iterdir()) == []
    PredictionFile(out, prediction_kind(out), (8, 8)).abandon()  # not "another is writing it"


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("x.ome.zarr", "png", "x.png"),
        ("x.png", "ome.zarr", "x.ome.zarr"),
        ("x.zarr", "tif", "x.tif"),
        ("x.tiff", None, "x.tiff"),
    ],
)
def test_output_names_take_the_format(tmp_path, name, fmt, expected):
    out = prediction_output(tmp_path / name, fmt)
    assert out.name == expected
    assert prediction_kind(out) == (fmt or "tif")


def test_a_segment_ome_zarr_is_not_a_prediction(tmp_path):
    group = zarr.create_group(str(tmp_path / "s.ome.zarr"), zarr_format=3)
    group.create_array("0", shape=(4, 32, 32), dtype=np.uint8)
    group.attrs["ome"] = {"version": "0.5", "multiscales": [{"datasets": [{"path": "0"}]}]}
    assert not is_prediction_pyramid(tmp_path / "s.ome.zarr")
    assert not is_prediction_pyramid(tmp_path)


def test_one_worker_computes_every_block_in_one_thread(probability, tmp_path):
    import threading

    threads = set()

    def record(block):
        if block.size:  # not dask's call on an empty block to learn the output's type
            threads.add(threading.get_ident())
        return block

    lazy = _lazy(probability).map_blocks(record, dtype=np.float32)
    write_prediction(lazy, tmp_path / "p.zarr", progress=False, workers=1)
    assert len(threads) == 1  # the engine's blocks, one at a time, commands between them


@pytest.mark.parametrize(("name", "kind"), [("p.ome.zarr", "ome.zarr"), ("p.png", "png")])
def test_a_block_still_running_when_its_output_is_abandoned_stages_nothing(
    probability, tmp_path, name, kind
):
    """A worker's block outlives the run a Ctrl-C abandoned: it must not make the staged
    folders anew (they were left behind as a hidden .partial)."""
    from inkloop.predict._outputs import PredictionFile

    output = PredictionFile(tmp_path / name, kind, probability.shape)
    block = output.store(_lazy(probability))  # one task per chunk
    output.abandon()
    assert block.blocks[0, 0].compute().tolist() == [[0]]  # not written
    assert list(tmp_path.iterdir()) == []


def test_a_block_started_as_ctrl_c_lands_is_waited_for_before_its_output_is_removed(
    tmp_path, monkeypatch
):
    """A Ctrl-C may land in the pool's submit as it starts a thread: after the thread took a
    block, before the pool holds the thread or dask the block's future. Before, nothing waited
    for that block: its output was removed under it, the claim let go while it still ran, and
    its late write staged the output again."""
    import threading

    from inkloop.predict import _outputs, _write
    from tests._helpers import WAIT_S

    started, go_on, happened = threading.Event(), threading.Event(), []

    class CtrlCAsAThreadStarts(set):  # the pool's own record of its threads
        def add(self, thread):
            started.wait(WAIT_S)  # the new thread runs the block
            raise KeyboardInterrupt

    class Pool(_write._BlockPool):
        def __init__(self, workers: int) -> None:
            super().__init__(workers)
            self._threads = CtrlCAsAThreadStarts()

        def shutdown(self, wait=True, **options):
            if wait:  # the wait for its blocks has begun: this one may finish
                go_on.set()
            super().shutdown(wait, **options)

    real_store, real_abandon = _outputs._store_chunk, _outputs.PredictionFile.abandon

    def held_store(block, target, block_info=None):
        if not block.size:  # dask's call on an empty block to learn the output's type
            return real_store(block, target, block_info)
        started.set()
        go_on.wait(WAIT_S)
        written = real_store(block, target, block_info)
        happened.append("block written" if written.all() else "block dropped")
        return written

    def abandon(output):
        happened.append("output removed")
        go_on.set()  # the removal has begun: let the block go on, after it
        real_abandon(output)

    monkeypatch.setattr(_write, "_BlockPool", Pool)
    monkeypatch.setattr(_outputs, "_store_chunk", held_store)
    monkeypatch.setattr(_outputs.PredictionFile, "abandon", abandon)
    with pytest.raises(KeyboardInterrupt):
        write_prediction(da.ones((8, 8), np.float32), tmp_path / "p.png", progress=False)
    assert happened == ["block written", "output removed"]
    assert list(tmp_path.iterdir()) == []


def test_a_removal_that_fails_after_a_second_interrupt_is_said_and_frees_the_output(
    tmp_path, monkeypatch, capfd
):
    """The second Ctrl-C in Python stops the wait; the removal goes on and, if it fails,
    says so (before, silently) and still lets go of the output's claim (before, this
    process's next run into it was refused as if another were writing)."""
    import threading
    from concurrent.futures import Future

    from inkloop.predict import _outputs, _write

    real_abandon_when_done, real_remove = _write._abandon_when_done, _outputs.remove

    class SecondCtrlC(Future):
        def result(self, timeout=None):
            raise KeyboardInterrupt  # pressed again during the wait

    def abandon_when_done(pool, output):
        waited_for, seen = real_abandon_when_done(pool, output), SecondCtrlC()
        waited_for.add_done_callback(lambda done: seen.set_exception(done.exception()))
        return seen

    def remove(path):
        if path.name.endswith(".partial") and path.exists():  # not the check as it is staged
            raise PermissionError(f"{path}: read-only share")
        real_remove(path)

    monkeypatch.setattr(_write, "_abandon_when_done", abandon_when_done)
    monkeypatch.setattr(_outputs, "remove", remove)
    with pytest.raises(KeyboardInterrupt):
        write_prediction(
            _lazy(np.ones((8, 8), np.float32)), tmp_path / "p.zarr", progress=_Interrupt()
        )
    for thread in threading.enumerate():  # the removal, which says how it went as it ends
        if thread.name == "inkloop-abandon":
            thread.join()
    monkeypatch.setattr(_outputs, "remove", real_remove)
    assert "what was staged was not removed: " in capfd.readouterr().err
    write_prediction(_lazy(np.ones((8, 8), np.float32)), tmp_path / "p.zarr", progress=False)
