"""Label pairs a process ended between their two renames (`write_label_files` renames the ink
first): the ink file of one write, its mask missing or the very mask that write was replacing
(`torn`). Opened as they are, strokes erased since the earlier write would be taught as "no
ink" and new strokes left unlabelled; their ink strokes are restored instead, and the loss
said. Two whole saves side by side (a kept ink beside a newer mask, a mask put back) are no
such pair: they open as they are."""

from __future__ import annotations

import secrets
from pathlib import Path

import numpy as np

from inkloop._notify import notify
from inkloop.io._label_images import read_label_image
from inkloop.io._side_lookup import AUTOSAVE

PAIR_KEY = "inkloop_pair"  # the text chunk holding the id of the write a label file is of
REPLACES_KEY = "inkloop_replaces"  # in an ink file: the id of the mask its write replaced


def pair_tags(supervision_path) -> tuple[dict[str, str], dict[str, str]]:
    """The text chunks of the ink file and the mask of one write of a label pair: both carry
    the write's id, the ink also that of the mask now at ``supervision_path`` (`torn`)."""
    tag = {PAIR_KEY: secrets.token_hex(8)}
    replaced = header_text(supervision_path).get(PAIR_KEY)
    return ({**tag, REPLACES_KEY: replaced} if replaced else tag), tag


def torn(ink_path, supervision_path) -> bool:
    """Whether a label pair is the new ink of a write beside the mask that write was
    replacing. Files without write ids (an older inkloop, other tools), not here, or of two
    whole saves count as whole; only headers are read."""
    ink, mask = header_text(ink_path), header_text(supervision_path).get(PAIR_KEY)
    return mask is not None and ink.get(REPLACES_KEY) == mask != ink.get(PAIR_KEY)


def header_text(path) -> dict[str, str]:
    """``path``'s PNG text; {} where it is not there or its header is damaged (its decoder
    says so where it is read)."""
    from inkloop.io._images import image_text

    try:
        return image_text(path) if Path(path).is_file() else {}
    except Exception:  # PIL raises many types for a damaged header
        return {}


DOCK_RESTORES = (
    "open the segment in napari's Ink Loop dock, which restores its ink strokes, and click "
    "Save labels"
)


# the way out of a torn pair not the dock's own, for a dock user (`TornPairError.in_dock`)
_DOCK_RELOADS = (
    "if they are still being written, load them again once they are; if their save was cut "
    "short, save them again where they were painted"
)


def torn_pair_message(ink_path, supervision_path, given: str | None) -> str:
    """Why a torn pair is not trained on, and the way out: for labels the dock opens (the
    segment's own or its autosaved copies; ``given`` None), the dock's restore, as they are
    they would teach erased strokes as "no ink"; for others, giving them as they are
    (``given``: `labels_given`)."""
    way_out = DOCK_RESTORES if given is None else f"to use them as they are, give {given}"
    return _two_saves(ink_path, supervision_path) + way_out


def _two_saves(ink_path, supervision_path) -> str:
    return (
        f"{ink_path} and {Path(supervision_path).name} are of two different saves (a save cut "
        "short or still being written), which would teach strokes erased since as 'no ink': "
    )


class TornPairError(ValueError):
    """A torn pair refused (`torn_pair_message`). The dock restores its own (`dock_labels`:
    `restored`) and refuses others as `in_dock` says."""

    def __init__(self, ink_path, supervision_path, given: str | None) -> None:
        super().__init__(torn_pair_message(ink_path, supervision_path, given))
        self.paths, self.dock_labels = (ink_path, supervision_path), given is None

    def in_dock(self) -> str:
        """The refusal of a pair not the dock's own as its Load labels… says it."""
        return _two_saves(*self.paths) + _DOCK_RELOADS

    def restored(self, segment, saved_labels) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """What the dock's own torn pair still holds, as an opening restores it: the ink
        file's strokes, every inked pixel labelled; an autosaved copy's over the segment's
        saved labels (`ink_over`; ``saved_labels``: `inkloop.io._labels.saved_labels`, which
        imports this module); and the warnings an opening gives about what is lost, for the
        caller to say once they are applied."""
        ink_path, supervision_path = self.paths
        ink = read_label_image(ink_path, segment.shape[1:], ink=True)
        if Path(ink_path).stem.endswith(AUTOSAVE):
            return ink_over(segment, ink, ink_path, saved_labels(segment))
        return ink, ink > 0, [_save_cut_short(segment.name, ink_path, supervision_path)]


def saved_ink_strokes(segment, ink: np.ndarray, ink_path, supervision_path):
    """The labels ``segment``'s torn saved labels (at ``ink_path``, beside the mask of the
    save before) still hold: the ink file's strokes (``ink``), every pixel inkloop saves
    with ink being labelled; and the warning saying what is lost."""
    return ink, ink > 0, _save_cut_short(segment.name, ink_path, supervision_path)


def _save_cut_short(name: str, ink_path, supervision_path) -> str:
    return (
        f"{name}: {ink_path} was saved without its supervision mask (a save cut "
        f"short; {Path(supervision_path).name} is of the save before): "
        "its ink strokes are restored, its 'no ink' labels are lost: paint them again and "
        "click Save labels"
    )


def restored_ink(segment, ink_path: Path, saved) -> tuple[np.ndarray, np.ndarray]:
    """The labels an autosaved ink file without its mask still holds (`ink_over`), its
    warnings said."""
    ink = read_label_image(ink_path, segment.shape[1:], ink=True)
    ink, supervised, warnings = ink_over(segment, ink, ink_path, saved)
    for warning in warnings:
        notify(warning)
    return ink, supervised


def ink_over(segment, ink: np.ndarray, ink_path, saved):
    """The labels an autosaved ink file (``ink``, at ``ink_path``) without its mask still
    holds: its ink strokes, as every pixel inkloop saves with ink was labelled, over the
    ``saved`` labels (ink, supervision and a warning or None: `saved_labels`; or None)
    elsewhere; and the warnings saying what is lost (the saved labels' first). Its "no ink"
    strokes and erasures are lost."""
    supervised, warnings = ink > 0, []
    if saved is not None:
        saved_ink, saved_supervised, warning = saved
        ink = np.where(saved_supervised & ~supervised, saved_ink, ink)
        supervised |= saved_supervised
        warnings = [warning] if warning else []
    return ink, supervised, [*warnings, _autosave_cut_short(segment.name, ink_path)]


def _autosave_cut_short(name: str, ink_path) -> str:
    return (
        f"{name}: {ink_path} was autosaved without its supervision mask (an "
        "autosave cut short): its ink strokes are restored, its 'no ink' "
        "strokes and erasures are lost: paint them again"
    )


def labelled_where_inked(ink: np.ndarray, supervised: np.ndarray, rows: int = 1024):
    """``supervised`` with every inked pixel labelled, as inkloop always saves them: an
    autosave of an inkloop that wrote no write ids (`torn`), killed between its two renames,
    pairs new ink with its older mask, which would leave the newest strokes unlabelled. In
    place where it can be, in bands (600 MB a mask at full size)."""
    if not supervised.flags.writeable:
        supervised = supervised.copy()
    for y0 in range(0, ink.shape[0], rows):
        supervised[y0 : y0 + rows] |= ink[y0 : y0 + rows] > 0
    return supervised
