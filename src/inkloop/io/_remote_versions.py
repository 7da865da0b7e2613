"""Which versions of a segment's ink labels a server has beside its zarr
(``<id>_inklabels_vN.png``, with ``<id>_supervision_mask_vN.png``): read from the folder's
listing where the server lists folders (an autoindex, as dl.ash2txt.org's), else asked for
one by one, ``_v2``, ``_v3``, … until one is not there (`MAX_VERSION` at most)."""

from __future__ import annotations

from urllib.parse import unquote

from inkloop._notify import notify_once
from inkloop.io._remote_common import describe_failure, without_login
from inkloop.io._side_lookup import ink_labels_name

MAX_VERSION = 20  # the greatest version asked for where the server lists no folders
_TOLD: set[str] = set()  # the folders said to be unsearchable for versions


def server_label_names(parent: str, name: str, zarr_name: str, timeout: float) -> list[str]:
    """The names of segment ``name``'s ink label files to fetch from ``parent`` (the folder
    of its zarr, ``zarr_name``), the greatest version first: those its listing holds, or
    the greatest version found by asking and the unversioned labels. Where the versions
    cannot be looked for, that is said once, and the unversioned labels are the only name."""
    from inkloop.io._remote_sides import side_file_system

    fs = side_file_system(parent, timeout)
    listed = _listed_names(fs, parent, zarr_name)
    if listed is not None:
        own = {}
        for file in listed:
            named = ink_labels_name(file.removesuffix(".png"))
            if file.endswith(".png") and named and named[0] == name:
                own[file] = named[1]
        return sorted(own, key=lambda file: (-own[file], len(file)))  # _v2 before _v02
    return [*_greatest_asked(fs, parent, name), f"{name}_inklabels.png"]


def _listed_names(fs, parent: str, zarr_name: str) -> list[str] | None:
    """The file names the listing of ``parent`` holds; None where it has none, or what it
    answered lists no ``zarr_name`` (a web page for every path, say): no listing."""
    try:
        links = fs.ls(f"{without_login(parent)}/", detail=False)
    except Exception:  # fsspec, aiohttp: any failure means no listing to read
        return None
    names = [unquote(link.rstrip("/").rsplit("/", 1)[-1]) for link in links]
    return names if unquote(zarr_name) in names else None


def _greatest_asked(fs, parent: str, name: str) -> list[str]:
    """[``<name>_inklabels_vN.png``], N the greatest version the server answers with an
    image, asking for 2, 3, … until one is not there; [] where there is none."""
    from fsspec.asyn import sync

    from inkloop.io._remote_sides import with_retries

    found = []
    for version in range(2, MAX_VERSION + 1):
        url = f"{parent}/{name}_inklabels_v{version}.png"
        try:
            if not with_retries(url, lambda url=url: sync(fs.loop, _answers_image, fs, url)):
                break
        except Exception as error:  # aiohttp, asyncio: told, as its message says
            folder = without_login(parent)
            notify_once(
                _TOLD,
                folder,
                f"{folder}: versioned labels ({name}_inklabels_vN.png) could not be looked for "
                f"({describe_failure(error, url)}): {_used(name, version)} opened",
            )
            break
        found = [url.rsplit("/", 1)[-1]]
    return found


def _used(name: str, version: int) -> str:
    """Which labels open where versions from ``version`` on could not be looked for."""
    if version == 2:
        return f"only the unversioned labels ({name}_inklabels.png) are"
    return f"version {version - 1}, the greatest found before, is"


async def _answers_image(fs, url: str) -> bool:
    """Whether the server answers ``url`` with an image (its first bytes; the rest is not
    read); not a 404, a 403 (as S3 answers for a key it lacks) or a web page."""
    from inkloop.io._remote_sides import IMAGE_SIGNATURES

    session = await fs.set_session()
    async with session.get(fs.encode_url(without_login(url)), **fs.kwargs) as answer:
        if answer.status in (403, 404):
            return False
        answer.raise_for_status()
        head = b""
        while len(head) < 8 and (more := await answer.content.read(16 - len(head))):
            head += more
    return head.startswith(IMAGE_SIGNATURES)
