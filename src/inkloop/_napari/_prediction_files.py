"""A segment's whole-segment prediction file as the dock finds and keeps it: the one inkloop
wrote beside the segment, offered when the segment opens; kept as
``<id>_prediction.saved-<date>-<time>.<format>`` before Predict whole segment writes the next
one into its name, as models are kept (`inkloop.io.kept_copy_path`), and put back where no
new one came."""

from __future__ import annotations

import glob
import re
from pathlib import Path

from inkloop._napari._prediction_layer import layer_name, show_prediction_file, shown_file
from inkloop._napari._say import say_info
from inkloop.io import (
    PREDICTION_FORMATS,
    is_prediction_file,
    prediction_kind,
    prediction_path,
    prediction_stem,
)
from inkloop.io._prediction_metadata import foreign_file, recorded_provenance
from inkloop.io._side_kinds import KEPT
from inkloop.io._sidefiles import kept_copy_path


def inkloops_prediction(segment) -> Path | None:
    """The whole-segment prediction inkloop wrote beside ``segment`` (its default name, in
    the first format of PREDICTION_FORMATS there), or None."""
    for fmt in PREDICTION_FORMATS:
        path = prediction_path(segment, fmt)
        if path.exists() and is_prediction_file(path) and not foreign_file(path):
            return path
    return None


def offer_prediction(loop) -> None:
    """Add ``loop``'s segment's prediction inkloop wrote as the layer Predict whole segment
    shows, hidden (over the live preview both would add up), naming it and the model step
    that made it, as its file records. A PNG is only named: it has no random access, so
    showing it would decode it whole on napari's GUI thread at each open. Where none is
    there, the .saved- copies kept are named (`_name_kept_only`)."""
    segment = loop.labels.segment
    path = inkloops_prediction(segment)
    if path is None:
        _name_kept_only(segment)
        return
    if shown_file(loop) == str(path):  # shown already: painted again
        return
    step = ((recorded_provenance(path) or {}).get("model") or {}).get("step")
    made = "" if step is None else f" (model step {step})"
    kept = "a Predict whole segment into it keeps it as a .saved- copy" + _kept_so_far(path)
    if prediction_kind(path) == "png":
        say_info(
            f"{segment.name}: its whole-segment prediction {path.name}{made} is beside it, "
            "not shown: a PNG is read whole, which would hold napari up at each open "
            f"(File → Open shows it); {kept}"
        )
        return
    show_prediction_file(loop, path)
    name = layer_name(loop)
    loop.viewer.layers[name].visible = False
    say_info(
        f'{segment.name}: its whole-segment prediction {path.name}{made} is the layer "{name}", '
        f"hidden: its eye shows it; {kept}"
    )


def _name_kept_only(segment) -> None:
    """Say where the segment's prediction went where no file is at its own name, in any
    format, but earlier ones are kept beside it: a Replace whose napari was killed before
    the new one landed leaves the user's file only under its .saved- name (`put_back` runs
    in that process alone)."""
    own = [prediction_path(segment, fmt) for fmt in PREDICTION_FORMATS]
    copies = [] if any(p.exists() for p in own) else _kept_copies(own[0])
    if not copies:
        return
    ones = "one is" if len(copies) == 1 else "ones are"
    latest, stem = copies[-1], prediction_stem(own[0])
    its_name = stem + latest.name[len(prediction_stem(latest)) :]  # its format's ending
    say_info(
        f"{segment.name}: no whole-segment prediction under its own name {stem}; "
        f"{len(copies)} earlier {ones} kept beside it in {own[0].parent} as .saved- copies, "
        f"as Predict whole segment keeps them; the one last written is {latest.name}: rename "
        f"it back to {its_name} if it is the one to keep, or File → Open any of them"
    )


def _kept_copies(path: Path) -> list[Path]:
    """The earlier predictions kept beside ``path`` (`keep_earlier`), in any format, oldest
    first: their names hold the time each was last written."""
    stem = prediction_stem(path)
    copies = path.parent.glob(f"{glob.escape(stem)}.saved-*")
    kept = re.compile(re.escape(stem) + KEPT)
    copies = (p for p in copies if prediction_kind(p) and kept.fullmatch(prediction_stem(p)))
    return sorted(copies, key=lambda p: p.name[len(stem) :])


def _kept_so_far(path: Path) -> str:
    """What the notice adds about the earlier predictions kept beside ``path``, in any
    format: each is a full copy, and none is ever deleted for the user."""
    count = len(_kept_copies(path))
    if not count:
        return ""
    ones = "one is" if count == 1 else "ones are"
    return (
        f" ({count} earlier {ones} kept so beside it, each a full copy: delete those you no "
        "longer need)"
    )


def keep_earlier(loop, out: Path) -> Path | None:
    """Move the file at ``out`` to its kept name before a new one is written there, its
    layer (if shown) following it: inkloop's prediction, or a file it did not record writing
    once the user said Replace (the Predict panel asks); the kept copy, or None where there
    is none. OSError if it cannot be moved."""
    if not out.exists():
        return None
    kept = kept_copy_path(out)
    out.rename(kept)
    _follow(loop, out, kept)
    return kept


def put_back(loop, kept: Path, out: Path) -> None:
    """``kept`` (`keep_earlier`) back at ``out``, its layer too, where no new one came."""
    if kept.exists() and not out.exists():
        kept.rename(out)
        _follow(loop, kept, out)


def _follow(loop, moved: Path, to: Path) -> None:
    """The prediction layer showing ``moved``, if any, showing it at ``to``, as visible as it
    was."""
    if shown_file(loop) != str(moved):
        return
    visible = loop.viewer.layers[layer_name(loop)].visible
    show_prediction_file(loop, to)
    loop.viewer.layers[layer_name(loop)].visible = visible
