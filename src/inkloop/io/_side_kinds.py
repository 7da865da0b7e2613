"""The kinds of side file a segment keeps, each named ``<id>_<kind>`` beside its mask: the
home of that list, and of what is said where a renamed folder's files keep the old id."""

from __future__ import annotations

import os
import re
import shlex
from functools import cache
from pathlib import Path

from inkloop.io._side_lookup import AUTOSAVE, SIDECAR_SUFFIXES

_IMAGE = "|".join(re.escape(suffix) for suffix in SIDECAR_SUFFIXES)
_PREDICTION = r"(?:\.ome\.zarr|\.png|\.tiff?|\.zarr)"  # `inkloop.io._sidefiles` PREDICTION_FORMATS
KEPT = r"(?:\.saved-\d{8}-\d{6}(?:-\d+)?)?"  # a kept copy's mark, as `kept_copy_path` makes it
SIDE_KINDS = {  # what follows "<id>_" in each kind's file names, in any letter case
    "ink labels": rf"inklabels(?:_v\d+)?{KEPT}(?:{_IMAGE})",
    "supervision mask": rf"supervision_mask(?:_v\d+)?{KEPT}(?:{_IMAGE})",
    "papyrus mask": rf"(?:flat_)?mask(?:{_IMAGE})",
    "validation region": r"validation_region\.json",
    "rounds": r"rounds\.jsonl",
    "model and its kept copies": rf"inkloop_model{KEPT}\.pt",
    "autosaved labels": rf"(?:inklabels|supervision_mask)(?:_v\d+)?{re.escape(AUTOSAVE)}\.png",
    "prediction": rf"prediction{KEPT}{_PREDICTION}",
}
WINDOWS = os.name == "nt"  # no sh there to run a command in
SHOWN = 10  # stray files named at most; the rename takes them all


def side_kinds_pattern() -> str:
    """What follows ``<id>_`` in a side file's name, any kind (a regex)."""
    return "|".join(f"(?:{pattern})" for pattern in SIDE_KINDS.values())


@cache
def _side_file() -> re.Pattern:
    """A side file's name: its id (the shortest that leaves a kind after it) and kind."""
    return re.compile(rf"(?P<id>.+?)_(?:{side_kinds_pattern()})", re.IGNORECASE)


def stray_side_files_hint(segment) -> str | None:
    """What to do about side files in ``segment``'s own folder named for another id (a
    renamed or copied folder: they keep the old id), or None. Segments sharing their folder
    (a TIFF stack, a zarr) are not asked: others' files are at home."""
    from inkloop.io._sidefiles import side_folder

    folder = side_folder(segment)
    if not isinstance(segment.path, Path) or folder != segment.path:
        return None
    strays = _strays(folder, segment.name)
    if not strays:
        return None
    listed = ", ".join(name for names in strays.values() for name in names)
    count = sum(map(len, strays.values()))
    if count > SHOWN:
        listed = ", ".join(listed.split(", ")[:SHOWN]) + f" and {count - SHOWN} more"
    hint = (
        f"{listed} in {folder} name another segment; this one's files must start with its "
        f"id, {segment.name}_ (the folder's name): {_rename_advice(folder, strays, segment.name)}"
    )
    regions = [n for names in strays.values() for n in names if _kind(n) == "validation region"]
    if regions:
        hint += f"; until then {', '.join(regions)} is not read: its labels are trained on"
    return hint


def _strays(folder: Path, own_id: str) -> dict[str, list[str]]:
    """The side files in ``folder`` named for ids other than ``own_id``: id as spelled ->
    names, in SIDE_KINDS' order. macOS's ``._`` copies are not files of a segment."""
    found: dict[str, list[str]] = {}
    for path in folder.iterdir():
        named = _side_file().fullmatch(path.name)
        if named and named["id"].lower() != own_id.lower() and not path.name.startswith("._"):
            found.setdefault(named["id"], []).append(path.name)
    order = list(SIDE_KINDS)
    return {
        old: sorted(names, key=lambda name: (order.index(_kind(name)), name))
        for old, names in sorted(found.items())
    }


def _kind(name: str) -> str:
    """The kind (a key of SIDE_KINDS) of a side file's ``name``; the first that fits."""
    rest = _side_file().fullmatch(name)
    after = name[len(rest["id"]) + 1 :]
    return next(k for k, p in SIDE_KINDS.items() if re.fullmatch(p, after, re.IGNORECASE))


def _rename_advice(folder: Path, strays: dict, own_id: str) -> str:
    """How to give each stray file ``own_id``'s name, never replacing one: a command of one
    ``mv -n`` per file found (no glob: the segment's own files may start with an old id's
    prefix, as ``<id>_superseded``'s do), or on Windows the renames themselves."""
    renames = [(name, own_id + name[len(old) :]) for old, names in strays.items() for name in names]
    count = f"{len(renames)} file{'s' if len(renames) != 1 else ''}"
    if WINDOWS:
        return f"rename them to use them ({count}): " + ", ".join(f"{a} to {b}" for a, b in renames)
    moves = " ".join(f"mv -n {shlex.quote(a)} {shlex.quote(b)};" for a, b in renames)
    command = f"cd {shlex.quote(str(folder))} && {{ {moves} }}"
    return f"rename them to use them ({count}), as `{command}` does"
