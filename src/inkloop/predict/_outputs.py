"""Prediction files: OME-Zarr pyramid, tiled BigTIFF, PNG and plain zarr, written in two halves.

The blocks of a prediction are computed in any order, on any worker; most formats want
their bytes in order. So every format is written the same way: the blocks go into a zarr
array beside the output (`PredictionFile.target`, one task per chunk, any scheduler), and
`PredictionFile.finish` then builds the file from it in the calling process (a pyramid, a
tile stream, a PNG) and moves it into place (`inkloop.predict._placing`). Until then the
output does not exist under its own name: an interrupted run never leaves a file that looks
finished; a finished one the system will not move into place is kept beside it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from inkloop._cpus import usable_cpus
from inkloop._overwrite import refuse_existing, refuse_folder
from inkloop.io._prediction_metadata import RECORD_KEY
from inkloop.io._sidefiles import ORIGIN_KEY
from inkloop.io._write import remove_left_parts
from inkloop.predict._output_claim import Claim, remove_left_staging
from inkloop.predict._placing import (
    beside,
    kept_name,
    not_replaced,
    recover,
    remove,
    replace_folder,
    sync_placed,
)

OME_VERSION = "0.5"
CHUNK = 1024  # zarr chunks: a 14k x 8k level is ~110 files, a screen needs a few
SMALLEST_LEVEL = 1024  # the pyramid halves until a level fits in this, as napari shows it
TIFF_TILE = 256  # the tile size of the community's own tiled predictions


class PredictionFile:
    """One prediction output of ``kind`` (`inkloop.io.prediction_kind`) being written."""

    def __init__(
        self,
        out: Path,
        kind: str,
        shape,
        *,
        tiff_float=False,
        origin=(0, 0),
        overwrite=True,
        record: dict | None = None,
    ) -> None:
        """``overwrite`` False: an ``out`` that another run finished by the time this one
        holds its claim is refused (ValueError), not replaced. ``record``: how it was made
        (`inkloop.predict._provenance.prediction_record`), which every format records under
        RECORD_KEY with the time it is finished; it may be set until `finish`."""
        self.out, self.kind, self.overwrite = Path(out), kind, overwrite
        self.origin = origin  # where its first pixel lies in the segment (every format says)
        self.record = record
        self.dtype = np.float32 if kind == "zarr" or (kind == "tif" and tiff_float) else np.uint8
        self.staging = beside(self.out, "partial")
        refuse_folder(self.out)  # `finish` removes what is there
        self._claim = Claim(self.out)
        try:  # a full disk, say: the claim and what was staged must not stay behind
            self.target = self._stage(shape)
        except BaseException:
            self.abandon()
            raise

    def _stage(self, shape):
        """The zarr array the blocks are stored into, in `staging`."""
        recover(self.out)  # left half replaced by a killed run (safe: this one holds the claim)
        refuse_existing(self.out, overwrite=self.overwrite)  # written since it was checked
        remove_left_staging(self.staging)
        if self.kind in ("tif", "png"):  # parts of its file that killed runs' encoders left
            remove_left_parts([self.out])
        if self.kind == "ome.zarr":  # level 0 of a pyramid, the other levels come in `finish`
            import zarr

            group = zarr.create_group(str(self.staging), zarr_format=3)
            return _create_array(group, shape, self.dtype, name="0")
        return _create_array(str(self.staging), shape, self.dtype)

    def store(self, probability):
        """A lazy dask array that stores ``probability`` (dask, float32 0..1) into `target`
        when computed: one task per target chunk, each returning a 1 x 1 mark, so a cluster
        reports every chunk without sending its pixels back."""
        image = probability if self.dtype == np.float32 else to_uint8(probability)
        image = image.rechunk(self.target.chunks)
        marks = tuple((1,) * len(c) for c in image.chunks)
        return image.map_blocks(_store_chunk, self.target, chunks=marks, dtype=np.uint8)

    def finish(self) -> Path:
        """Build the output from the stored blocks and move it into place; returns it."""
        from inkloop.predict._provenance import stamped

        # the whole file is this write's: a region's prediction replaces what was there
        said = {} if self.record is None else {RECORD_KEY: stamped(self.record)}
        try:
            if self.kind == "ome.zarr":
                _add_levels(self.staging, self.target, self.out.name, self.origin, said)
                replace_folder(self.staging, self.out)
            elif self.kind == "zarr":
                self.target.attrs.update({ORIGIN_KEY: [float(v) for v in self.origin], **said})
                replace_folder(self.staging, self.out)
            else:
                self._write_file(said)
        finally:
            remove(self.staging)
            self._claim.release()
        return self.out

    def _write_file(self, said: dict) -> None:
        """Encode the PNG or TIFF beside `out` and rename it over `out`. Where the system
        refuses that rename (Windows, while a viewer holds `out` open), it is encoded again
        (atomic_path removed the first) under `kept_name`, and `not_replaced` says where."""
        refused = self._encode_into(self.out, said)
        if refused is not None:
            kept = kept_name(self.out)
            if (again := self._encode_into(kept, said)) is not None:
                raise again
            raise not_replaced(self.out, kept, refused) from refused

    def _encode_into(self, path: Path, said: dict) -> OSError | None:
        """Encode the file into a part beside ``path``, sync it and rename it to ``path``;
        the error of a rename the system refused, else None. A failure before the rename (a
        full disk, a share's I/O error or quota at the sync) is raised: nothing is kept."""
        from inkloop.io._write import atomic_path, sync_file

        synced = False
        try:
            with atomic_path(path, durable=False) as part:
                _write_flat(self.target, Path(part), self.kind, self.origin, said)
                try:
                    sync_file(part)
                except OSError as error:  # EIO on a share, a quota: not a refused move
                    raise OSError(error.errno, f"{path}: not written ({error.strerror})") from error
                synced = True
        except OSError as error:
            if not synced:
                raise
            return error  # all that is left to do after `synced` is the rename
        sync_placed(path)
        return None

    def abandon(self) -> None:
        """Remove what was staged (after an error or a cancel), and let go of the claim
        whether or not that could be removed (else this process's next run is refused)."""
        try:
            remove(self.staging)
        finally:
            self._claim.release()


def _store_chunk(block: np.ndarray, target, block_info=None) -> np.ndarray:
    (y0, y1), (x0, x1) = block_info[0]["array-location"]
    # a block still running on a worker when the run was abandoned must not stage its
    # output again (the store would make the removed folders anew)
    if not Path(target.store.root).is_dir():
        return np.zeros((1, 1), np.uint8)
    target[y0:y1, x0:x1] = block
    return np.ones((1, 1), np.uint8)


def to_uint8(probability):
    """Probability 0..1 as 0..255, rounded (what PNG, BigTIFF and OME-Zarr store)."""
    return (probability * 255 + 0.5).astype(np.uint8)


def _create_array(where, shape, dtype, *, name: str | None = None):
    """A chunked, zstd-compressed 2D zarr array: at the path ``where``, or ``name`` in the
    group ``where``."""
    import zarr
    from zarr.codecs import ZstdCodec

    options = {
        "shape": shape,
        "dtype": dtype,
        "chunks": tuple(min(CHUNK, n) for n in shape),
        "compressors": ZstdCodec(level=3),
        "dimension_names": ("y", "x"),
    }
    if name is None:
        return zarr.create_array(where, **options)
    return where.create_array(name, **options)


def _add_levels(folder: Path, level0, name: str, origin, said: dict) -> None:
    """Levels 1, 2, … of an OME-Zarr 0.5 pyramid, each the 2 x 2 means of the one before
    (read back from disk, so the prediction is not computed again), until a level fits in
    `SMALLEST_LEVEL`; then the multiscales metadata, which makes it an image, and what the
    group ``said`` beside it."""
    import dask.array as da
    import zarr

    group = zarr.open_group(str(folder), mode="r+")
    level = level0
    count = 1
    while max(level.shape) > SMALLEST_LEVEL and min(level.shape) >= 2:
        means = da.coarsen(np.mean, da.from_zarr(level), {0: 2, 1: 2}, trim_excess=True)
        level = _create_array(group, means.shape, np.uint8, name=str(count))
        da.store((means + 0.5).astype(np.uint8).rechunk(level.chunks), level, lock=False)
        count += 1
    group.attrs.update({"ome": _multiscales(name, count, origin), **said})


def _multiscales(name: str, levels: int, origin) -> dict:
    """The OME metadata of a pyramid whose level 0 starts at ``origin`` (y, x) of the
    segment (a region's prediction). A pixel of level i is the mean of 2^i x 2^i pixels of
    level 0, so its centre lies (2^i - 1) / 2 level-0 pixels past theirs."""
    datasets = [
        {
            "path": str(i),
            "coordinateTransformations": [
                {"type": "scale", "scale": [2.0**i] * 2},
                {"type": "translation", "translation": [v + (2**i - 1) / 2 for v in origin]},
            ],
        }
        for i in range(levels)
    ]
    axes = [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}]
    return {
        "version": OME_VERSION,
        "multiscales": [{"name": name, "axes": axes, "datasets": datasets}],
    }


def _write_flat(stored, out: Path, kind: str, origin, said: dict) -> None:
    """A PNG or tiled BigTIFF of ``stored``, its ``origin`` and what it ``said`` in text
    chunks (JSON) or the TIFF's JSON description (`inkloop.io.prediction_origin` reads them)."""
    where = {ORIGIN_KEY: [float(v) for v in origin], **said}
    if kind == "png":
        from inkloop.io._write import encode_png

        texts = {key: json.dumps(value) for key, value in where.items()}
        encode_png(out, np.asarray(stored[:]), texts)
        return
    import tifffile

    tifffile.imwrite(
        out,
        _tiles(stored),
        shape=stored.shape,
        dtype=stored.dtype,
        tile=(TIFF_TILE, TIFF_TILE),
        compression="zlib",
        predictor=True,
        bigtiff=True,
        photometric="minisblack",
        metadata=where,
        # every core this process may use: the blocks are done, and tifffile's default is
        # half (one of two: a 4096² prediction took 0.59-0.67 s to compress, not 0.39-0.47 s)
        maxworkers=usable_cpus(),
    )


def _tiles(stored):
    """Full-size tiles in the order a tiled TIFF holds them, zero-padded at the far edges;
    one row of tiles in memory at a time."""
    height, width = stored.shape
    for top in range(0, height, TIFF_TILE):
        row = np.asarray(stored[top : top + TIFF_TILE])
        for left in range(0, width, TIFF_TILE):
            tile = np.zeros((TIFF_TILE, TIFF_TILE), stored.dtype)
            part = row[:, left : left + TIFF_TILE]
            tile[: part.shape[0], : part.shape[1]] = part
            yield tile
