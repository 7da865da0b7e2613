"""The side images a segment opens with in napari (its papyrus mask, ink labels, supervision
mask and their autosaved copies), decoded side by side. One that cannot be used (a damaged
file, another size) is left out with one warning saying why, and the rest opens."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np

from inkloop.io import Segment, SegmentError, initial_labels, label_paths, read_label_image
from inkloop.io._autosaved import NO_AUTOSAVE, AutosaveState, autosave_state

LABELS = ("ink_labels", "supervision")


@dataclasses.dataclass
class SideImages:
    """What `decoded_side_images` made of a segment's side images."""

    segment: Segment  # decoded; those left out None (the saved labels lazy where restored)
    restored: tuple | None  # the autosaved ink and supervision that open, decoded
    left_out: dict  # name -> the SegmentError that left that side image out
    labels_need_mask: bool = False  # the labels left out with the mask, their supervision
    unread_copy: SegmentError | None = None  # why an autosaved copy could not be read
    autosave: AutosaveState = NO_AUTOSAVE  # the newest autosave, looked up once


def decoded_side_images(segment: Segment) -> SideImages:
    """``segment``'s mask and label images decoded side by side (PNG decoding lets go of the
    GIL: 0.76 s against 1.44 s one after the other for an 8192² segment's three), and the
    autosaved ink and supervision where they are newer and open in place of the saved labels
    (`initial_labels`), decoded beside the mask; the saved labels are then decoded only if
    one of those copies cannot be read. A side image that cannot be used is left out: the
    ink labels and supervision together, and labels whose supervision was the mask with it."""
    autosave = autosave_state(segment)  # stats, rescue folders, headers: once an opening
    autosaved = autosave.copies
    reads = _decodes(segment, ["mask"] if autosaved else ["mask", *LABELS])
    for ink, path in zip((True, False), autosaved or (), strict=False):  # ink, supervision
        reads[ink] = functools.partial(read_label_image, path, segment.shape[1:], ink=ink)
    results = _side_by_side(reads)
    copies = tuple(results.pop(ink) for ink in (True, False) if ink in results)
    unread = next((copy for copy in copies if isinstance(copy, SegmentError)), None)
    if unread is not None:  # the saved labels open instead
        results.update(_side_by_side(_decodes(segment, LABELS)))
    failed = {name: result for name, result in results.items() if isinstance(result, SegmentError)}
    sides = {name: result for name, result in results.items() if name not in failed}
    if failed.keys() & set(LABELS):  # either alone would teach wrong
        sides.update(ink_labels=None, supervision=None)
    # Kaggle and Grand Prize labels have no supervision mask: the papyrus mask says which of
    # their pixels are labelled, and without it `load_labels` would label every pixel
    need_mask = "mask" in failed and sides.get("ink_labels") is not None
    need_mask = need_mask and segment.supervision is None
    if need_mask:
        sides["ink_labels"] = None
    sides.update(dict.fromkeys(failed))
    restored = copies if copies and unread is None else None
    segment = dataclasses.replace(segment, **sides)
    return SideImages(segment, restored, failed, need_mask, unread, autosave)


def _decodes(segment: Segment, names) -> dict:
    """name -> a call decoding that side image of ``segment``, for those it has."""
    arrays = {name: getattr(segment, name) for name in names}
    return {
        name: functools.partial(_decoded, array)
        for name, array in arrays.items()
        if array is not None
    }


def _decoded(array) -> np.ndarray:
    """A lazy side image decoded in this thread (`_side_by_side`'s): dask's pool adds a hop."""
    import dask

    return dask.compute(array, scheduler="sync")[0]


def _side_by_side(reads: dict) -> dict:
    """What each of ``reads`` (key -> call) returns, called in threads side by side, or the
    SegmentError it raised (a file that cannot be used); other errors are raised."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max(1, len(reads))) as pool:
        futures = {key: pool.submit(read) for key, read in reads.items()}
    results = {}
    for key, future in futures.items():
        error = future.exception()
        if error is not None and not isinstance(error, SegmentError):
            raise error
        results[key] = future.result() if error is None else error
    return results


def opening_labels(sides: SideImages) -> tuple[tuple, str | None]:
    """`initial_labels` (ink, supervised, source, labels file) of ``sides``' segment, and a
    warning or None: an autosaved copy that cannot be read is passed over for the saved
    labels, and the warning names it and says what becomes of it."""
    segment, unread = sides.segment, sides.unread_copy
    if unread is None:
        try:
            return initial_labels(segment, sides.restored, autosave=sides.autosave), None
        except SegmentError as error:
            # the rest decoded, the one file it reads itself is an autosaved ink copy whose
            # mask a killed write never renamed into place, beside the segment or kept in a
            # rescue folder (`AutosaveState.orphan`)
            if sides.autosave.orphan is None:
                raise
            unread = error
    opened = initial_labels(segment, autosave=NO_AUTOSAVE)  # the copies passed over
    labels_file = opened[3]
    return opened, _unread_copy_message(segment, unread, labels_file, sides.autosave.files)


def _unread_copy_message(segment: Segment, error: SegmentError, labels_file, pair) -> str:
    """What opened in place of the autosaved copies ``pair`` of the labels, one of which cannot
    be read, and what the dock's next autosave and Save labels do to them (beside the
    segment, or kept in a rescue folder when its folder refused them)."""
    copies = [path for path in pair if path.is_file()]
    names, folder = " and ".join(path.name for path in copies), copies[0].parent
    opened = f"its saved labels {labels_file.name}" if labels_file else "without labels"
    said = f"{segment.name}: its autosaved labels cannot be read ({error}); it opened {opened}"
    beside = label_paths(segment)[0].parent
    if folder == beside:
        said += f" instead. The first stroke's autosave replaces {names}, and Save labels removes"
        said += " them"
    else:
        said += f" instead. The first stroke's autosave replaces or passes over {names} (kept in"
        said += f" {folder} when {beside} refused them)"
    return f"{said}: to keep them, move them out of {folder} first"


def left_out_message(sides: SideImages) -> str | None:
    """The one warning saying what the segment opened without and why, or None."""
    left_out, need_mask = sides.left_out, sides.labels_need_mask
    if not left_out:
        return None
    parts = ["its papyrus mask"] if "mask" in left_out else []
    if left_out.keys() - {"mask"} or need_mask:
        parts.append("its labels (Save labels would replace them)")
    reasons = "; ".join(str(error) for error in left_out.values())
    message = f"{sides.segment.name} opened without {' and '.join(parts)}: {reasons}"
    if need_mask:
        message += (
            ". Its labels have no supervision mask of their own: the papyrus mask says which "
            'pixels they label, and without it every pixel would be, the air as "no ink" '
            "(moving the mask out would do that too)"
        )
    if "mask" in left_out:
        mask = Path(sides.segment.files["mask"]).name
        # a URL's copy moved out is fetched again: a <name>.left-out beside it is not
        out = f"renamed {mask}.left-out" if sides.segment.sidecar_server else "moved out"
        mended = "mended" if need_mask else f"mended or {out}"
        message += (
            ". Finetune, predictions and Check stack read the mask as well, and fail on it "
            f"until it is {mended}"
        )
    return message
