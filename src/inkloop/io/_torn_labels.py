"""Label pairs a process ended between their two renames (`write_label_files` renames the ink
first): the ink file of one write, its mask missing or of an earlier write (`torn`). Opened as
they are, strokes erased since the earlier write would be taught as "no ink" and new strokes
left unlabelled; their ink strokes are restored instead, and the loss said."""

from __future__ import annotations

import secrets
from pathlib import Path

import numpy as np

from inkloop._notify import notify
from inkloop.io._label_images import read_label_image

PAIR_KEY = "inkloop_pair"  # the text chunk holding the id of the write a label file is of


def pair_tag() -> dict[str, str]:
    """The text chunk both files of one write of a label pair carry (`torn`)."""
    return {PAIR_KEY: secrets.token_hex(8)}


def torn(ink_path, supervision_path) -> bool:
    """Whether a label pair's two files are of different writes. Files without a write id
    (an older inkloop, other tools), or not here, count as whole; only headers are read."""
    from inkloop.io._images import image_text

    ids = []
    for path in (ink_path, supervision_path):
        try:
            ids.append(image_text(path).get(PAIR_KEY) if Path(path).is_file() else None)
        except Exception:  # PIL raises many types for a damaged header; its decoder says it
            return False
    return None not in ids and ids[0] != ids[1]


def torn_pair_message(ink_path, supervision_path) -> str:
    """Why a torn pair is not trained on, and how to make it whole."""
    return (
        f"{ink_path} and {Path(supervision_path).name} are of two different writes (the "
        "process ended between the two files), which would teach strokes erased since as "
        "'no ink': open the segment in napari's Ink Loop dock, which restores its ink strokes, "
        "and click Save labels"
    )


def saved_ink_strokes(segment, ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The labels ``segment``'s torn saved labels still hold, said as a warning: the ink
    file's strokes (``ink``), every pixel inkloop saves with ink being labelled."""
    ink_path, supervision_path = segment.files["ink_labels"], segment.files["supervision"]
    notify(
        f"{segment.name}: {ink_path} was saved without its supervision mask (the process "
        f"ended between the two files; {Path(supervision_path).name} is of an earlier save): "
        "its ink strokes are restored, its 'no ink' labels are lost: paint them again and "
        "click Save labels"
    )
    return ink, ink > 0


def restored_ink(segment, ink_path: Path, saved) -> tuple[np.ndarray, np.ndarray]:
    """The labels an autosaved ink file without its mask still holds, said as a warning:
    its ink strokes, as every pixel inkloop saves with ink was labelled, over the ``saved``
    labels (ink and supervision, or None) elsewhere. Its "no ink" strokes and erasures are
    lost."""
    ink = read_label_image(ink_path, segment.shape[1:], ink=True)
    supervised = ink > 0
    if saved is not None:
        saved_ink, saved_supervised = saved
        kept = saved_supervised & ~supervised
        ink = np.where(kept, saved_ink, ink)
        supervised |= saved_supervised
    notify(
        f"{segment.name}: {ink_path} was autosaved without its supervision mask (the "
        f"process ended between the two files): its ink strokes are restored, its 'no ink' "
        "strokes and erasures are lost: paint them again"
    )
    return ink, supervised
