"""What the autosave says of strokes that the segment's folder refused: where they are
kept, or that no folder took them, and the way out."""

from __future__ import annotations

import errno
from pathlib import Path

from inkloop._napari._autosave_rescue import disk_of, reason, rescue_targets
from inkloop._napari._label_claims import save_selected_layers
from inkloop.io._autosaved import rescue_folders
from inkloop.io._sidefiles import side_folder

_FULL = {errno.ENOSPC, errno.EDQUOT}


def kept_message(segment, kept: Path, refused: OSError, last: bool) -> str:
    """Where the strokes that ``segment``'s folder refused are kept (``kept``, the rescued
    ink copy), and the way out; ``last``: the last strokes."""
    folder, why = side_folder(segment), reason(refused)
    lead = "The last strokes" if last else "The unsaved strokes"
    said = f"{lead} could not be written to {folder} ({why}): they are in {kept.parent}"
    said += f", and {segment.name} opens with them from there"
    if kept.parent != rescue_folders(segment)[0]:  # the temporary folder's
        said += " while the system keeps its temporary files"
    return f"{said}. {way_out_of_refusal(segment, refused)}"


def lost_message(segment, error: Exception, last: bool) -> str:
    """What became of strokes that no folder took (``error``: ``segment``'s folder's)."""
    lead = "The last strokes" if last else "The unsaved strokes"
    held = "lost unless the 'ink labels' layer is still open" if last else "only in this window"
    if not isinstance(error, OSError):  # not a refusal (codes no file takes): its way out
        return f"{lead} could not be written: they are {held}. {error}"
    folder = side_folder(segment)
    tried = " nor ".join(str(f) for f in (folder, *rescue_targets(segment)))
    said = f"{lead} could not be written to {tried} ({reason(error)}): they are {held}"
    return f"{said}. {way_out_of_refusal(segment, error)}"


def way_out_of_refusal(segment, error: OSError) -> str:
    """What makes ``segment``'s folder take the labels again, or where else they go."""
    folder = side_folder(segment)
    elsewhere = f"save them to another disk with {save_selected_layers()}"
    if error.errno in _FULL:
        return f"Free space on {disk_of(folder)}, or {elsewhere}"
    return f"Make {folder} writable again (or its disk reachable), or {elsewhere}"
