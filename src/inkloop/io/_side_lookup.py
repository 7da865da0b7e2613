"""Which files beside a segment are its mask, ink labels and supervision mask, as the scroll
community names them: ``<id>_mask.png``, ``<id>_inklabels[_vN].png`` (the greatest version the
current one) and the supervision mask of that version, ``<id>_supervision_mask[_vN].png``;
in any letter case (``<id>_mask.PNG``, as a Mac or Windows disk matches them:
`inkloop.io._letter_case`). A VC3D surface's ``mask.tif`` is its grid's, not the papyrus's."""

from __future__ import annotations

import json
import re
from pathlib import Path

from inkloop._notify import notify_once
from inkloop.io._errors import SegmentError
from inkloop.io._images import image_info
from inkloop.io._letter_case import Listing, as_spelled, case_twins, spelled_as_found

AUTOSAVE = ".autosave"  # the tag of a label file's autosave copy (x_inklabels.autosave.png)
SIDECARS = {  # each file's names after the id, the first found taken
    "mask": ("mask", "flat_mask"),
    "ink_labels": ("inklabels",),
    "supervision": ("supervision_mask",),
}
SIDECAR_SUFFIXES = (".png", ".tif", ".tiff")
_INK_LABELS = re.compile(r"(?:(?P<id>.+)_)?inklabels(?:_v(?P<version>\d+))?", re.IGNORECASE)
_TOLD: set = set()  # the case twins named already
_TOLD_GRID_MASKS: set = set()  # the VC3D surfaces' masks said to be left out already
_SURFACE_GRID = ("x.tif", "y.tif", "z.tif")  # a VC3D surface's points, one image per axis
_SURFACE_MASKS = ("mask.tif", "mask.tiff")  # VC3D's own mask of them (a user's mask.png is not)


def find_side_files(
    folder: Path, name: str, plain: bool = False, shape: tuple[int, int] | None = None
) -> dict[str, Path]:
    """Segment ``name``'s mask, its ink labels' greatest version and that version's
    supervision mask (`supervision_path_for`) in ``folder``, those that exist; with ``plain``,
    a Kaggle fragment's mask.png and inklabels.png after its id's (in a VC3D surface, its
    mask.tif only where it is the layers' ``shape``: `_papyrus_mask`). Where a file is there in
    two letter cases, its exact spelling is taken and the other named once (`_tell_case_twins`)."""
    listing = Listing(folder)  # this lookup's, listed once
    masks = [f"{name}_{stem}" for stem in SIDECARS["mask"]] + [*SIDECARS["mask"]] * plain
    labels = _ink_label_stems(listing, name) + [*SIDECARS["ink_labels"]] * plain
    found = {
        "mask": _papyrus_mask(folder, name, masks, listing, shape),
        "ink_labels": _first_existing(folder, labels, listing),
    }
    ink = found["ink_labels"]
    supervision = ink and _supervision_path(ink, listing).stem
    found["supervision"] = ink and _first_existing(folder, [supervision], listing)
    found = {key: path for key, path in found.items() if path is not None}
    _tell_case_twins(found.values(), listing)
    return found


def has_surface_grid(folder: Path, listing: Listing | None = None) -> bool:
    """Whether ``folder`` holds a VC3D surface's points: its x.tif, y.tif and z.tif."""
    listing = Listing(folder) if listing is None else listing
    return all(listing.spellings(name) for name in _SURFACE_GRID)


def is_vc3d_surface(folder: Path, listing: Listing | None = None) -> bool:
    """Whether ``folder`` is a VC3D surface (tifxyz): its x.tif, y.tif and z.tif are there, or
    its meta.json says ``"format": "tifxyz"``."""
    if has_surface_grid(folder, listing):
        return True
    try:
        return json.loads((folder / "meta.json").read_text()).get("format") == "tifxyz"
    except (OSError, ValueError, AttributeError):  # none, not JSON, not an object
        return False


def _papyrus_mask(folder: Path, name: str, stems: list[str], listing: Listing, shape):
    """The first of ``stems`` that is there, but a VC3D surface's plain mask.tif (its grid's
    validity mask, 255 keep) only where it is the layers' ``shape``; one of another size is
    left out, said once, and VC3D's file left alone."""
    found = _first_existing(folder, stems, listing)
    if shape is None or found is None or found.name.lower() not in _SURFACE_MASKS:
        return found
    if not is_vc3d_surface(folder, listing):
        return found
    try:
        size = image_info(found).shape
    except SegmentError:  # unreadable: said where it would be used, as any mask
        return found
    if size == tuple(shape):
        return found
    instead = _first_existing(folder, [s for s in stems if s != found.stem.lower()], listing)
    if _sized(instead, shape):
        fix = f"{instead} is read instead"
    else:
        fix = f"give a papyrus mask of the layers' size ({shape[0]} x {shape[1]}) as "
        fix += str(folder / f"{name}_mask.png")
    notify_once(
        _TOLD_GRID_MASKS,
        found,
        f"{found}: not read as the papyrus mask: it is the VC3D surface's own mask, "
        f"{size[0]} x {size[1]}, and the layers are {shape[0]} x {shape[1]}; {fix}",
    )
    return instead


def _sized(path: Path | None, shape) -> bool:
    """Whether ``path`` is an image of ``shape`` (an unreadable one is said where it is used)."""
    try:
        return path is not None and image_info(path).shape == tuple(shape)
    except SegmentError:
        return False


def supervision_path_for(ink_path: str | Path) -> Path:
    """The supervision mask that goes with an ink label file: of the labels' own spelling of
    their version (``x_inklabels[_vN].png`` -> ``x_supervision_mask[_vN].png``, ``_v01`` ->
    ``_v01``), or, where that file is absent and the version's usual spelling is there, that
    one (unversioned for version 1: ``x_inklabels_v1.png`` -> ``x_supervision_mask.png``);
    ``inklabels.png`` -> ``supervision_mask.png``; any other ``name.png`` ->
    ``name_supervision_mask.png``. Autosave copies keep their tag. Spelled as a file of that
    name in another letter case beside it is (`as_spelled`), so that labels saved go into it."""
    ink_path = Path(ink_path)
    return _supervision_path(ink_path, Listing(ink_path.parent))


def _supervision_path(ink_path: Path, listing: Listing) -> Path:
    """`supervision_path_for`, ``listing`` the folder of ``ink_path``'s."""
    stem = ink_path.stem.removesuffix(AUTOSAVE)
    tag = ink_path.stem[len(stem) :]
    named = _INK_LABELS.fullmatch(stem)
    if named is None:
        return as_spelled(ink_path.with_name(f"{stem}_supervision_mask{tag}.png"), listing)
    base = "supervision_mask" if named["id"] is None else f"{named['id']}_supervision_mask"
    spelled, number = named["version"], int(named["version"] or 1)  # "01", 1
    own = ink_path.with_name(f"{base}{f'_v{spelled}' if spelled else ''}{tag}.png")
    usual = ink_path.with_name(f"{base}{f'_v{number}' if number > 1 else ''}{tag}.png")
    there = not _is_there(own, listing) and _is_there(usual, listing)
    return as_spelled(usual if there else own, listing)


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


def _is_there(path: Path, listing: Listing) -> bool:
    """Whether a side image of ``path``'s name is there, in any of SIDECAR_SUFFIXES."""
    return _first_existing(path.parent, [path.stem], listing) is not None


def _ink_label_stems(listing: Listing, segment_id: str) -> list[str]:
    """The names without suffix of ``segment_id``'s ink labels in ``listing``'s folder, the
    greatest version first (`ink_labels_name`), within one its exact spelling
    (``<id>_inklabels``, not ``<id>_InkLabels``: the earlier version saved that beside this);
    `_first_existing` takes the first that is an image."""
    exact = re.compile(rf"{re.escape(segment_id)}_inklabels(?:_v\d+)?")
    stems = {Path(name).stem for name in listing.names()}  # none if no folder
    own = [stem for stem in stems if is_ink_labels_of(stem, segment_id)]
    return sorted(  # x, x_v1
        own,
        key=lambda stem: (-ink_labels_name(stem)[1], not exact.fullmatch(stem), len(stem), stem),
    )


def _first_existing(folder: Path, stems: list[str], listing: Listing) -> Path | None:
    """The first of ``stems`` with a suffix of SIDECAR_SUFFIXES that is a file in ``folder``,
    in any letter case (`spelled_as_found`; ``listing``, the folder's)."""
    names = [f"{s}{suffix}" for s in stems for suffix in SIDECAR_SUFFIXES]
    return spelled_as_found(folder, names, Path.is_file, listing)


def _tell_case_twins(found, listing: Listing) -> None:
    """Name once each file beside one of ``found`` whose name differs from it in letter case
    alone: it is not read (and a Mac's or Windows' disk can hold only one of the two)."""
    for path in found:
        for twin in case_twins(path, listing):
            notify_once(
                _TOLD,
                path.parent / twin,
                f"{path.parent}: {twin} is not read, {path.name} is (their names differ in "
                f"letter case alone; a Mac's or Windows' disk keeps only one): "
                f"move or merge {twin} if it holds work",
            )
