"""Which files beside a segment are its mask, ink labels and supervision mask, as the scroll
community names them: ``<id>_mask.png``, ``<id>_inklabels[_vN].png`` (the greatest version the
current one) and the supervision mask of that version, ``<id>_supervision_mask[_vN].png``;
in any letter case (``<id>_mask.PNG``, as a Mac or Windows disk matches them:
`inkloop.io._letter_case`)."""

from __future__ import annotations

import re
from pathlib import Path

from inkloop.io._letter_case import as_spelled, spelled_as_found

AUTOSAVE = ".autosave"  # the tag of a label file's autosave copy (x_inklabels.autosave.png)
SIDECARS = {  # each file's names after the id, the first found taken
    "mask": ("mask", "flat_mask"),
    "ink_labels": ("inklabels",),
    "supervision": ("supervision_mask",),
}
SIDECAR_SUFFIXES = (".png", ".tif", ".tiff")
_INK_LABELS = re.compile(r"(?:(?P<id>.+)_)?inklabels(?:_v(?P<version>\d+))?", re.IGNORECASE)


def find_side_files(folder: Path, name: str, plain: bool = False) -> dict[str, Path]:
    """Segment ``name``'s mask, its ink labels' greatest version and that version's
    supervision mask (`supervision_path_for`) in ``folder``, those that exist; with ``plain``,
    a Kaggle fragment's mask.png and inklabels.png after its id's."""
    masks = [f"{name}_{stem}" for stem in SIDECARS["mask"]] + [*SIDECARS["mask"]] * plain
    labels = _ink_label_stems(folder, name) + [*SIDECARS["ink_labels"]] * plain
    found = {"mask": _first_existing(folder, masks), "ink_labels": _first_existing(folder, labels)}
    ink = found["ink_labels"]
    found["supervision"] = ink and _first_existing(folder, [supervision_path_for(ink).stem])
    return {key: path for key, path in found.items() if path is not None}


def supervision_path_for(ink_path: str | Path) -> Path:
    """The supervision mask that goes with an ink label file: of the labels' own spelling of
    their version (``x_inklabels[_vN].png`` -> ``x_supervision_mask[_vN].png``, ``_v01`` ->
    ``_v01``), or, where that file is absent and the version's usual spelling is there, that
    one (unversioned for version 1: ``x_inklabels_v1.png`` -> ``x_supervision_mask.png``);
    ``inklabels.png`` -> ``supervision_mask.png``; any other ``name.png`` ->
    ``name_supervision_mask.png``. Autosave copies keep their tag. Spelled as a file of that
    name in another letter case beside it is (`as_spelled`), so that labels saved go into it."""
    ink_path = Path(ink_path)
    stem = ink_path.stem.removesuffix(AUTOSAVE)
    tag = ink_path.stem[len(stem) :]
    named = _INK_LABELS.fullmatch(stem)
    if named is None:
        return as_spelled(ink_path.with_name(f"{stem}_supervision_mask{tag}.png"))
    base = "supervision_mask" if named["id"] is None else f"{named['id']}_supervision_mask"
    spelled, number = named["version"], int(named["version"] or 1)  # "01", 1
    own = ink_path.with_name(f"{base}{f'_v{spelled}' if spelled else ''}{tag}.png")
    usual = ink_path.with_name(f"{base}{f'_v{number}' if number > 1 else ''}{tag}.png")
    return as_spelled(usual if not _is_there(own) and _is_there(usual) else own)


def ink_labels_name(stem: str) -> tuple[str | None, int] | None:
    """(id, version) of a file named, without its suffix, as the community's ink labels
    (vesuvius' parse_label_asset_path): ``<id>_inklabels[_vN]`` (the greatest version is the
    current one; unversioned: 1), or a Kaggle fragment's ``inklabels`` (id None), in any
    letter case (``<id>_InkLabels_V2``); else None."""
    named = _INK_LABELS.fullmatch(stem)
    return None if named is None else (named["id"], int(named["version"] or 1))


def is_ink_labels_of(stem: str, segment_id: str) -> bool:
    """Whether ``stem`` (a file name without its suffix) names ink labels of ``segment_id``,
    of any version (`ink_labels_name`), its id in any letter case."""
    found_id = (ink_labels_name(stem) or (None,))[0]
    return found_id is not None and found_id.lower() == segment_id.lower()


def _is_there(path: Path) -> bool:
    """Whether a side image of ``path``'s name is there, in any of SIDECAR_SUFFIXES."""
    return _first_existing(path.parent, [path.stem]) is not None


def _ink_label_stems(folder: Path, segment_id: str) -> list[str]:
    """The names without suffix of ``segment_id``'s ink labels in ``folder``, the greatest
    version first (`ink_labels_name`); `_first_existing` takes the first that is an image."""
    stems = {path.stem for path in folder.glob("*")}  # none if no folder
    own = [stem for stem in stems if is_ink_labels_of(stem, segment_id)]
    return sorted(own, key=lambda stem: (-ink_labels_name(stem)[1], len(stem), stem))  # x, x_v1


def _first_existing(folder: Path, stems: list[str]) -> Path | None:
    """The first of ``stems`` with a suffix of SIDECAR_SUFFIXES that is a file in ``folder``,
    in any letter case (`spelled_as_found`)."""
    return spelled_as_found(folder, [f"{s}{suffix}" for s in stems for suffix in SIDECAR_SUFFIXES])
