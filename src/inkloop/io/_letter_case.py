"""Names matched whatever their letter case, as macOS's and Windows' disks (and exFAT) match
them: a ``<id>_inklabels.PNG`` or a ``LAYERS/`` folder made there opens on Linux too, and
inkloop writes back to a file under its own spelling, never beside it as a case twin that
such a disk cannot hold."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path


class Listing:
    """A folder's entry names by their lower case, listed at the first question and then
    kept: for one lookup or one opening only (kept longer, it would miss files made since)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._by_lower: dict[str, list[str]] | None = None

    def names(self) -> list[str]:
        """The folder's entry names, sorted; none where it cannot be listed."""
        return [name for names in self._spellings().values() for name in names]

    def spellings(self, name: str) -> list[str]:
        """The entries named ``name`` in any letter case, sorted (capitals first)."""
        return self._spellings().get(name.lower(), [])

    def _spellings(self) -> dict[str, list[str]]:
        if self._by_lower is None:
            self._by_lower = _spellings(self.folder)
        return self._by_lower


def spelled_as_found(
    folder: Path,
    names: Iterable[str],
    is_kind: Callable[[Path], bool] = Path.is_file,
    listing: Listing | None = None,
) -> Path | None:
    """The first of ``names`` that ``folder`` holds as an entry ``is_kind`` accepts (by
    default a file): under that very name where it is there, else under another letter case
    of it (the first in sorting order); None where none is. The folder is listed once (or
    ``listing``, its `Listing`, asked), and only where a name is not there as given."""
    listing = Listing(folder) if listing is None else listing
    for name in names:
        if is_kind(folder / name):
            return folder / name
        for other in listing.spellings(name):
            if is_kind(folder / other):
                return folder / other
    return None


def as_spelled(path: Path, listing: Listing | None = None) -> Path:
    """``path`` as the entry beside it spells it where one has its name in another letter
    case (``x.png`` -> ``x.PNG``), else ``path``: where inkloop writes a file, so that the
    write replaces that entry instead of making its twin."""
    return spelled_as_found(path.parent, [path.name], Path.exists, listing) or path


def case_twins(path: Path, listing: Listing | None = None) -> list[str]:
    """The names of the entries beside ``path`` that differ from its name in letter case
    alone (``x.PNG`` beside ``x.png``): one disk of Linux's holds both, a Mac's or Windows'
    only one."""
    listing = Listing(path.parent) if listing is None else listing
    spellings = listing.spellings(path.name)
    if path.name not in spellings:  # a disk that ignores case found ``path`` as another's
        return []
    return [name for name in spellings if name != path.name]


def _spellings(folder: Path) -> dict[str, list[str]]:
    """``folder``'s entry names by their lower case, each list sorted."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:  # not there, a file, or not to be listed: the names as given were tried
        return {}
    found: dict[str, list[str]] = {}
    for name in names:
        found.setdefault(name.lower(), []).append(name)
    return found
