"""A remote segment's side files (mask, ink labels, supervision mask), fetched from beside its
zarr on the server into its local folder, where they are then kept (`inkloop.io.local_folder`):
the labels' greatest version as on disk (`inkloop.io._remote_versions`), each download tried
again where the server failed it for a moment, and kept only once it is whole. A side file
renamed ``<name>.left-out`` there is not fetched again: the way to open without it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from inkloop._notify import notify, notify_once
from inkloop.io._errors import SegmentError
from inkloop.io._remote import guarded
from inkloop.io._remote_common import describe_failure, without_login
from inkloop.io._remote_logins import session_options
from inkloop.io._side_lookup import SIDECARS, ink_labels_name, supervision_path_for

if TYPE_CHECKING:  # aiohttp and zarr load only once a URL is opened
    from inkloop.io._remote_bounds import AnswerBound

LEFT_OUT = ".left-out"  # <name><LEFT_OUT> beside where <name> would be: it is not fetched
# what a PNG, JPEG or (Big)TIFF starts with: a side file that does not is no image
IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")
_PNG_END = b"\0\0\0\0IEND\xaeB`\x82"  # a PNG's last chunk: a file without it is cut short
_JPEG_END = b"\xff\xd9"
_TAIL = 1024  # the bytes at a file's end its end is looked for in (tools may append some)
_TOLD: set = set()  # (what, URL or path) said once


def fetch_side_files(
    parent: str, name: str, zarr_name: str, folder: Path, timeout: float, node
) -> None:
    """Fetch into ``folder`` the side files the server has for segment ``name`` at ``parent``
    (the folder of its zarr, ``zarr_name``, opened as ``node``): its mask (or flat mask), its
    ink labels' greatest version and that version's supervision mask, which is optional:
    where the server fails it, that is said and the segment opens without it. An ink fetched
    anew brings its mask anew (beside the mask it replaced, it reads as `torn`). Each is
    read up to what an image of the segment's size may take (`side_image_bound`)."""
    from inkloop.io._remote_bounds import side_image_bound
    from inkloop.io._remote_versions import server_label_names

    bound = side_image_bound(node, f"{parent}/{zarr_name}")
    for stem in SIDECARS["mask"]:
        if fetch_side_file(f"{parent}/{name}_{stem}.png", folder, timeout, bound):
            break
    for labels in server_label_names(parent, name, zarr_name, timeout):
        kept = _file_identity(folder / labels)
        if ink := fetch_side_file(f"{parent}/{labels}", folder, timeout, bound):
            break
    else:
        return
    supervision = supervision_path_for(ink)
    if _file_identity(ink) != kept and _kept(supervision):  # of an earlier save (one that is
        supervision.unlink(missing_ok=True)  # not an image `_kept` deletes itself, and says so)
    fetch_side_file(f"{parent}/{supervision.name}", folder, timeout, bound, optional=True)
    if kept is None:
        _tell_painted_superseded(ink, name)


def fetch_side_file(
    url: str, folder: Path, timeout: float, bound: AnswerBound, *, optional: bool = False
) -> Path | None:
    """Download ``url`` into ``folder``, up to ``bound`` (past it, the part is deleted); kept
    if already there and whole (a user's labels are never replaced). None if the server has
    no such file (404, or 403 as S3 answers), answers with no image (a web page, as servers
    answering every path do), or it is left out (`LEFT_OUT`); each said once. A read the
    server fails for a moment is tried again as a chunk's is; one failing for good raises
    SegmentError, or with ``optional`` is said and None."""
    from inkloop.io._write import atomic_path

    target = folder / url.rsplit("/", 1)[-1]
    if _left_out(target):
        return None
    if _kept(target):
        return target
    folder.mkdir(parents=True, exist_ok=True)
    fs = side_file_system(url, timeout)
    try:
        with atomic_path(target) as tmp:
            guarded(url, lambda: with_retries(url, lambda: _download(fs, url, tmp, bound)))
            if not _head(tmp).startswith(IMAGE_SIGNATURES):
                raise _NoImageError(_head(tmp))
    except _NoImageError as error:
        _tell_no_image(without_login(url), error.args[0])
        return None
    except SegmentError as error:
        return _not_fetched(error, url, optional, _marker(target))
    return target


def side_file_system(url: str, timeout: float):
    """fsspec's HTTP file system for side files at ``url``'s server (listings not cached:
    a later open in this process sees the server's files as they are then)."""
    import fsspec

    options = session_options(timeout, url)
    return fsspec.filesystem("http", client_kwargs=options, use_listings_cache=False)


def with_retries(url: str, attempt):
    """``attempt()``, tried again where it fails as a chunk read is tried again (a 5xx, a
    connection dropped, an answer cut short: `inkloop.io._remote_store`'s pauses)."""
    import aiohttp

    from inkloop.io import _remote_store

    for pause in (*_remote_store.RETRY_PAUSES_S, None):
        try:
            return attempt()
        except aiohttp.ClientError as error:
            if pause is None or not _remote_store._may_pass(error):
                raise
            times = len(_remote_store.RETRY_PAUSES_S)
            said = f"{without_login(url)}: {describe_failure(error, url)}"
            notify_once(_TOLD, ("retried", url), f"{said}; tried again, {times} times at most")
        time.sleep(pause)


def check_side_image(path: Path, shape: tuple[int, int], server: str | None = None) -> None:
    """`inkloop.io._label_images.check_side_image_size`; for a side image fetched from the
    folder ``server``, the fix it names is one that works: moved out, as it says for a file
    on disk, it would be fetched again, so it says how to leave it out instead."""
    from inkloop.io._label_images import check_side_image_size

    try:
        check_side_image_size(path, shape)
    except SegmentError as error:
        if server is None:
            raise
        url = f"{without_login(server)}/{path.name}"
        moved, message = f"move it out of {path.parent}", str(error)
        instead = (
            f"rename it {path.name}{LEFT_OUT} to open the segment without it (moved out, "
            f"it would be fetched again from {url})"
        )
        fixed = message.replace(moved, instead) if moved in message else f"{message}: {instead}"
        raise SegmentError(fixed) from error


def _download(fs, url: str, tmp, bound: AnswerBound) -> None:
    import aiohttp
    from fsspec.asyn import sync

    sync(fs.loop, _stream, fs, without_login(url), tmp, bound)
    if _head(tmp).startswith(IMAGE_SIGNATURES) and not _whole(tmp):
        raise aiohttp.ClientPayloadError(  # a close where no length was sent: aiohttp is blind
            f"the image ends early, after {Path(tmp).stat().st_size} bytes"
        )


async def _stream(fs, url: str, tmp, bound: AnswerBound) -> None:
    """Write the server's answer for ``url`` to ``tmp``, up to ``bound``."""
    from inkloop.io._remote_bounds import bounded_blocks

    session = await fs.set_session()
    async with session.get(fs.encode_url(url), **fs.kwargs) as answer:
        if answer.status == 404:
            raise FileNotFoundError(url)
        answer.raise_for_status()
        with open(tmp, "wb") as file:
            async for block in bounded_blocks(answer, bound):
                file.write(block)


def _not_fetched(error: SegmentError, url: str, optional: bool, marker: Path) -> None:
    """None for a side file the server has not (404) or refuses (403: S3 and CloudFront
    answer so for a file they lack); and for one it fails if ``optional``, said; else
    ``error`` is raised, for one past its bound naming ``marker``, which leaves it out."""
    import aiohttp

    from inkloop.io._remote_bounds import AnswerTooLarge

    cause = error.__cause__
    if isinstance(cause, FileNotFoundError):
        return None
    if isinstance(cause, aiohttp.ClientResponseError) and cause.status == 403:
        absent = "taken as absent (S3 and CloudFront answer so for a file they lack)"
        notify_once(_TOLD, ("refused", url), f"{error}; {absent}")
        return None
    if not optional and isinstance(cause, AnswerTooLarge):
        without = f"to open the segment without it, create {marker}"
        raise SegmentError(f"{error}; {without}") from cause
    if not optional:
        raise error
    notify_once(_TOLD, ("failed", url), f"{error}; opened without it (asked for at the next open)")
    return None


def _marker(target: Path) -> Path:
    """The `LEFT_OUT` marker that leaves ``target`` out."""
    return target.with_name(target.name + LEFT_OUT)


def _left_out(target: Path) -> bool:
    marker = _marker(target)
    if not marker.exists():
        return False
    notify_once(_TOLD, ("left out", marker), f"{marker}: {target.name} is left out, not fetched")
    return True


def _kept(target: Path) -> bool:
    """Whether ``target`` is kept as it is: an image, whole or written by inkloop. A web
    page or a server's copy cut short (kept so by earlier versions) is deleted, and said."""
    if not target.exists():
        return False
    if not _head(target).startswith(IMAGE_SIGNATURES):
        why = "not an image (a web page a server answered with, for a file it lacks?)"
    elif _whole(target) or _written_here(target):
        return True
    else:
        why = "cut short (a download the server ended early, kept by an earlier version)"
    target.unlink()
    notify(f"{target}: {why}; deleted, and asked of the server again")
    return False


def _file_identity(path: Path) -> tuple[int, int] | None:
    """The file at ``path`` (inode and time; None if none): a download renames a new one in."""
    return (path.stat().st_ino, path.stat().st_mtime_ns) if path.exists() else None


def _whole(path) -> bool:
    """Whether the image at ``path`` (its signature checked) has its end: a PNG its IEND
    chunk, a JPEG its end marker; anything else, if it decodes."""
    from inkloop.io._images import read_image

    with open(path, "rb") as file:
        head = file.read(16)
        file.seek(max(file.seek(0, 2) - _TAIL, 0))
        tail = file.read()
    if head.startswith(IMAGE_SIGNATURES[0]):
        return _PNG_END in tail
    if head.startswith(IMAGE_SIGNATURES[1]):
        return _JPEG_END in tail
    try:  # a TIFF (under a side file's .png name: rare) is whole if it decodes
        read_image(path)
    except Exception:  # PIL and tifffile raise many types for a damaged file
        return False
    return True


def _written_here(path: Path) -> bool:
    """Whether inkloop wrote ``path``: labels painted here (`painted`), or the supervision
    mask saved with them. A header that cannot be read counts as inkloop's: a user's labels
    are never deleted on a guess."""
    labels = path.with_name(path.name.replace("_supervision_mask", "_inklabels"))
    from inkloop.io._label_images import painted

    return any(painted(candidate) is not False for candidate in dict.fromkeys((path, labels)))


def _tell_painted_superseded(ink: Path, name: str) -> None:
    """Say, where labels painted here are of an older version than ``ink`` (fetched now, the
    server's newer labels), that they are kept but no longer opened, and how to open them."""
    from inkloop.io._label_images import painted

    version = (ink_labels_name(ink.stem) or (None, 1))[1]
    for path in sorted(ink.parent.glob(f"{name}_inklabels*.png")):
        named = ink_labels_name(path.stem)
        if not named or named[0] != name or named[1] >= version:
            continue
        if painted(path):
            newer = ink.with_name(f"{name}_inklabels_v{version + 1}.png")
            notify(
                f"{path}: labels painted here, kept, but {ink.name} (version {version}), "
                f"fetched now from the server, is opened: the greatest version is the current "
                f"one. To open yours instead, rename it {newer.name} and its supervision mask "
                f"{supervision_path_for(path).name} {supervision_path_for(newer).name}"
            )


class _NoImageError(Exception):
    """A side file's download that is no image (its first bytes): not put in place."""


def _head(path) -> bytes:
    with open(path, "rb") as file:
        return file.read(16)


def _tell_no_image(url: str, head: bytes) -> None:
    """Say, once for ``url``, what the server answered with (``head``: its first bytes)."""
    what = "a web page" if head.lstrip().startswith(b"<") else f"{head[:8]!r}…"
    notify_once(
        _TOLD,
        ("no image", url),
        f"{url}: the server answered with {what}, not an image; taken as absent",
    )
