"""Where inkloop keeps its own files, in the platform's folders (platformdirs): a cache of
what it can make again, and user data, which no cleaner may empty; there, each remote
segment's local folder, and the move of one that earlier versions kept elsewhere."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

from inkloop._notify import notify
from inkloop.io._remote_common import without_login

DATA_ENV = "INKLOOP_DATA"  # `data_home`: remote segments' folders, read-only ones' work
# where versions before the platform's folders kept remote segments' folders, on every OS
_EARLIER_HOMES = (".local/share/inkloop/remote", ".cache/inkloop/remote")  # in the home


def cache_home() -> Path:
    """inkloop's cache, for what it can make again, where the platform keeps caches
    (``~/.cache/inkloop`` on Linux, ``$XDG_CACHE_HOME`` honoured; ``~/Library/Caches/inkloop``
    on macOS; ``%LOCALAPPDATA%\\inkloop\\Cache`` on Windows)."""
    return platformdirs.user_cache_path("inkloop", appauthor=False)


def chunk_cache_home() -> Path:
    """Where remote segments' chunks are kept unless told otherwise: ``chunks`` in
    `cache_home`, one `local_folder` under it per URL."""
    return cache_home() / "chunks"


def data_home() -> Path:
    """inkloop's user data: `DATA_ENV`, else `platform_data_home`. Remote segments'
    folders are in its ``remote/``, read-only segments' work in its ``read-only/``."""
    home = os.environ.get(DATA_ENV)
    return Path(home).expanduser() if home else platform_data_home()


def platform_data_home() -> Path:
    """The platform's data folder for inkloop, `data_home` where `DATA_ENV` is not set
    (``~/.local/share/inkloop`` on Linux, ``$XDG_DATA_HOME`` honoured)."""
    return platformdirs.user_data_path("inkloop", appauthor=False)


def canonical_url(url: str) -> str:
    """``url`` spelled one way: no login, scheme and host in lower case, no repeated or final
    "/" in its path. A URL spelled so is left as it is (its folder's name stays the same)."""
    parts = urlsplit(without_login(url))
    path = re.sub("/{2,}", "/", parts.path).rstrip("/")
    return parts._replace(
        scheme=parts.scheme.lower(), netloc=parts.netloc.lower(), path=path
    ).geturl()


def local_folder(url: str, base: str | Path | None = None) -> Path:
    """The local folder of a remote segment under ``base`` (default: ``remote`` in
    `data_home`): its side files and labels; a chunk cache's chunks.
    Every spelling of the URL (`canonical_url`) names the same folder."""
    return _folder(canonical_url(url), base)


def _folder(url: str, base: str | Path | None) -> Path:
    """The folder named by ``url`` as spelled."""
    base = Path(base).expanduser() if base else data_home() / "remote"
    parts = urlsplit(url.rstrip("/"))
    digest = hashlib.sha1(url.encode()).hexdigest()[:10]
    return base / parts.netloc.replace(":", "_") / f"{Path(parts.path).name}-{digest}"


def adopt_earlier_folder(url: str, folder: Path, cache=None) -> None:
    """Move what earlier versions kept for ``url`` into ``folder``, if it has none yet: from
    a cache folder (~/.cache/inkloop/remote, ``$INKLOOP_CACHE``, or a chunk cache ``cache``),
    which cache cleaners would empty, from the folders earlier versions used on every OS
    (``~/.local/share/inkloop/remote``, ``$INKLOOP_DATA`` itself), or from the folder the URL
    as typed named (a final "/", say): the labels painted there and the segment's models.
    Never from the platform's data folder, where sessions without ``$INKLOOP_DATA`` keep
    theirs; an earlier folder with nothing to move is left alone, one emptied goes."""
    if folder.exists():
        return
    homes = [cache, os.environ.get("INKLOOP_CACHE"), cache_home() / "remote"]
    homes += [Path.home() / home for home in _EARLIER_HOMES]
    homes.append(os.environ.get(DATA_ENV))  # which named the remote folder itself before
    current = (platform_data_home() / "remote").resolve()
    homes = [home for home in homes if home and Path(home).expanduser().resolve() != current]
    spellings = (canonical_url, without_login)  # earlier versions: the URL as typed
    candidates = [_folder(without_login(url), folder.parent.parent)]  # beside it, as typed
    candidates += [_folder(spelled(url), home) for home in homes for spelled in spellings]
    for earlier in candidates:
        if earlier != folder and earlier.is_dir() and _work_in(earlier):
            folder.mkdir(parents=True)
            for entry in _work_in(earlier):
                shutil.move(entry, folder / entry.name)
            if not any(earlier.iterdir()):  # else found again, moving nothing
                earlier.rmdir()
            notify(f"{without_login(url)}: its labels and models moved from {earlier} to {folder}")
            return


def _work_in(folder: Path) -> list[Path]:
    """What ``folder`` holds but chunks: a chunk cache stays a cache."""
    return [entry for entry in folder.iterdir() if entry.name != "chunks"]
