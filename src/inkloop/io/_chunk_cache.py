"""A local cache of a remote zarr's chunks that never holds a partial chunk."""

from __future__ import annotations

from pathlib import Path

from zarr.storage import WrapperStore

from inkloop.io._remote_store import METADATA_KEYS
from inkloop.io._write import atomic_path


class ChunkCache(WrapperStore):
    """A zarr store that keeps every chunk it reads in a local folder. fsspec's own caches
    write a download straight into its cache file, so a dropped connection can leave a
    truncated chunk there that later reads take as good; this one renames a chunk into
    place only once all of it has arrived. Metadata is always asked of the server."""

    def __init__(self, store, folder: Path) -> None:
        super().__init__(store)
        self.folder = Path(folder)

    def _with_store(self, store):
        return type(self)(store, self.folder)

    async def get(self, key, prototype, byte_range=None):
        if byte_range is not None or key.rsplit("/", 1)[-1] in METADATA_KEYS:
            return await self._store.get(key, prototype, byte_range)
        path = self.folder / key
        if path.is_file():
            return prototype.buffer.from_bytes(path.read_bytes())
        value = await self._store.get(key, prototype)
        if value is not None:
            with atomic_path(path) as tmp:
                Path(tmp).write_bytes(value.to_bytes())
        return value
