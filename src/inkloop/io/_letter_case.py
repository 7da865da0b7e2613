"""Names matched whatever their letter case, as macOS's and Windows' disks (and exFAT) match
them: a ``<id>_inklabels.PNG`` or a ``LAYERS/`` folder made there opens on Linux too, and
inkloop writes back to a file under its own spelling, never beside it as a case twin that
such a disk cannot hold."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path


def spelled_as_found(
    folder: Path, names: Iterable[str], is_kind: Callable[[Path], bool] = Path.is_file
) -> Path | None:
    """The first of ``names`` that ``folder`` holds as an entry ``is_kind`` accepts (by
    default a file): under that very name where it is there, else under another letter case
    of it (the first in sorting order); None where none is. The folder is listed once, and
    only where a name is not there as given."""
    spellings = None
    for name in names:
        if is_kind(folder / name):
            return folder / name
        if spellings is None:
            spellings = _spellings(folder)
        for other in spellings.get(name.lower(), ()):
            if is_kind(folder / other):
                return folder / other
    return None


def as_spelled(path: Path) -> Path:
    """``path`` as the entry beside it spells it where one has its name in another letter
    case (``x.png`` -> ``x.PNG``), else ``path``: where inkloop writes a file, so that the
    write replaces that entry instead of making its twin."""
    return spelled_as_found(path.parent, [path.name], Path.exists) or path


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
