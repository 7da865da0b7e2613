"""What `LabelStore.check_trainable` tells of labels: why they cannot train yet (no ink, no
"no ink", a mask that misses the ink, all of a class held out for validation), and labels
that look saved the other way round (black ink on white), which train but are said."""

from __future__ import annotations

import numpy as np

from inkloop.io._label_images import INK_LEVEL
from inkloop.train._cells import class_masks

# Real ink is ~8-10% of the papyrus (8.3% on the Grand Prize crop 20231005123335); labels
# saved black ink on white are the other ~90%. Only labels over (nearly) all the papyrus are
# judged: a supervision mask that hugs painted strokes may well be mostly ink.
INVERTED_SHARE = 0.5  # of the trainable pixels ink: more looks inverted
WHOLE_PAPYRUS = 0.9  # of the papyrus labelled: labels of the whole segment
_BAND = 1024  # rows counted at a time: no mask the size of a whole segment
_CLASSES = ("ink", "'no ink'")  # as class_masks gives them
_HELD_OUT = "in the validation region, which training leaves out"
# what labels of ink and no "no ink" are told, in the dock and from `inkloop train` alike
NO_NO_INK = (
    "the labels hold no 'no ink' yet: paint some 'no ink' on papyrus without ink (soft labels, "
    "such as the edges of ink strokes or an accepted prediction's uncertain pixels, are not "
    "'no ink'), or give a supervision mask that covers more than the ink"
)


def untrainable(store, supervised: int, ink: int) -> str:
    """Why the labels of ``store`` (a LabelStore), ``supervised`` trainable pixels, ``ink`` of
    them ink, cannot train: ink the supervision leaves out (a mask inverted or another
    segment's) is told apart from labels the user has not painted yet."""
    held_out = _held_out(store, supervised, ink)
    if held_out or ink:  # ink, and no "no ink": the soft rims of ink strokes are not that
        return held_out or NO_NO_INK
    outside = int(np.count_nonzero((store.ink >= INK_LEVEL) & ~store.supervised))
    labels = store.sources.get("labels_file", "the labels")
    mask = store.sources.get("supervision_file", "the supervision mask")
    if supervised == 0 and outside:
        return (
            f"no labelled pixels yet: {mask} covers no pixel, so none of the {outside:,} "
            f"ink pixels of {labels} can train: is it the right mask?"
        )
    if supervised == 0:
        named = f" ({mask} covers no pixel)" if "supervision_file" in store.sources else ""
        return f"no labelled pixels yet{named}: paint some ink and some 'no ink' first"
    if outside:
        return (
            f"all {outside:,} ink pixels of {labels} lie outside the {supervised:,} pixels "
            f"{mask} covers: is it inverted, or another segment's?"
        )
    faint = int(np.count_nonzero((store.ink > 0) & store.trainable))
    if faint:
        return (
            f"the labels hold no ink yet: all {faint:,} inked pixels are fainter than half "
            f"strength (below {INK_LEVEL} of 255), too faint to count as ink"
        )
    return "the labels hold no ink yet: paint ink where you see it"


def _held_out(store, supervised: int, ink: int) -> str | None:
    """Why labels cannot train if it is that the validation region, which training leaves
    out, holds all of them, or all of a class (ink, or "no ink" where there is ink)."""
    if store.validation is None or not store.supervised.any():
        return None
    if supervised == 0:
        return f"every labelled pixel is {_HELD_OUT}: label some papyrus outside it"
    lacking = bool(ink)  # "no ink" to go with the ink, or else ink (class_masks' order)
    y0, x0, y1, x1 = store.validation
    there = class_masks(store.ink[y0:y1, x0:x1], store.supervised[y0:y1, x0:x1])[lacking]
    name = _CLASSES[lacking]
    if there.any():
        return f"all the labelled {name} is {_HELD_OUT}: paint some {name} outside it"
    return None


def inverted_message(store, supervised: int, ink: int, papyrus) -> str | None:
    """What to say of the labels of ``store`` (a LabelStore), ``supervised`` trainable pixels,
    ``ink`` of them ink, if they look saved the other way round: ink on more than
    INVERTED_SHARE of them, and labels over WHOLE_PAPYRUS of the ``papyrus`` (the segment's
    mask; None: every pixel), as the papyrus mask or all pixels supervise them. Else None."""
    if not supervised or ink <= INVERTED_SHARE * supervised:
        return None
    labelled = store.supervised
    papyrus = np.ones(labelled.shape, bool) if papyrus is None else np.asarray(papyrus)
    covered = area = 0
    for top in range(0, labelled.shape[0], _BAND):
        rows = papyrus[top : top + _BAND] != 0
        covered += int(np.count_nonzero(rows & labelled[top : top + _BAND]))
        area += int(np.count_nonzero(rows))
    if covered <= WHOLE_PAPYRUS * area:
        return None
    labels = store.sources.get("labels_file")
    return (
        f"{f'{labels}: ' if labels else ''}ink covers {ink / supervised:.0%} of the labelled "
        "papyrus, where real ink is nearer 10%: black ink on white? inkloop reads 255 as ink "
        "(invert the image's colours)"
    )
