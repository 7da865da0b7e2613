"""Where inkloop keeps its own files, in the platform's folders (platformdirs): a cache of
what it can make again, and user data, which no cleaner may empty; there, each remote
segment's local folder, and the move of the work in a folder that an earlier version, or
another spelling of the segment's URL or path, named into the one named now."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

from inkloop._locks import LOCKS, orphaned
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
    (``~/.local/share/inkloop/remote``, ``$INKLOOP_DATA`` itself), from the folder the URL
    as typed named (a final "/", say), or from the folder of another spelling of its server
    (`other_spellings`): the labels painted there and the segment's models.
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
    base = folder.parent.parent
    candidates = [_folder(without_login(url), base)]  # beside it, as typed
    candidates += [_folder(other, base) for other in other_spellings(canonical_url(url))]
    candidates += [_folder(spelled(url), home) for home in homes for spelled in spellings]
    for earlier in candidates:
        if earlier != folder and earlier.is_dir() and _work_in(earlier) and not in_use(earlier):
            try:
                stayed = move_work(_work_in(earlier), earlier, folder)
            except OSError as error:  # in use on Windows, say: the open goes on without it
                notify(f"{without_login(url)}: its labels and models in {earlier} could not "
                       f"be moved to {folder} ({error}): move them there to use them")  # fmt: skip
                return
            notify(
                f"{without_login(url)}: its labels and models moved from {earlier} to {folder}"
                + stayed_note(stayed, earlier, folder)
            )
            return


def other_spellings(url: str) -> list[str]:
    """The other URLs of the server and path of ``url`` (as `canonical_url` spells it):
    http or https, with its default port (80, 443) written or not; another port, as given."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return []
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    try:
        ports = ["", ":80", ":443"] if parts.port in (None, 80, 443) else [f":{parts.port}"]
    except ValueError:  # not a port: no other spelling
        return []
    spelled = {
        parts._replace(scheme=scheme, netloc=host + port).geturl()
        for scheme in ("http", "https")
        for port in ports
    }
    return sorted(spelled - {url})


def move_work(entries: list[Path], earlier: Path, folder: Path) -> list[Path]:
    """Move ``entries`` (in ``earlier``) into ``folder``, made if missing; ``earlier`` goes
    once emptied. An entry whose name ``folder`` has already stays (nothing is overwritten):
    those are returned (`stayed_note` says so)."""
    folder.mkdir(parents=True, exist_ok=True)
    stayed = []
    for entry in entries:
        target = folder / entry.name
        if target.exists() or target.is_symlink():
            stayed.append(entry)
        else:
            shutil.move(entry, target)
    if not any(earlier.iterdir()):  # else found again, moving nothing
        earlier.rmdir()
    return stayed


def in_use(folder: Path) -> bool:
    """Whether a process holds a lock file in ``folder`` (a window painting the labels there,
    a round being written): its work is not to be moved. Unknown without locks (Windows)."""
    return LOCKS and any(
        entry.name.endswith(".lock") and not orphaned(entry) for entry in folder.iterdir()
    )


def stayed_note(stayed: list[Path], earlier: Path, folder: Path) -> str:
    """What a notice of `move_work` adds about the entries that stayed in ``earlier``."""
    if not stayed:
        return ""
    names = ", ".join(entry.name for entry in stayed)
    return f" ({names} stayed in {earlier}: {folder} has files of those names)"


def _work_in(folder: Path) -> list[Path]:
    """What ``folder`` holds but chunks: a chunk cache stays a cache."""
    return [entry for entry in folder.iterdir() if entry.name != "chunks"]
