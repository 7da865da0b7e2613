"""Ink labels in the scroll community's files: ``<id>_inklabels[_vN].png`` (255 x strength)
and ``<id>_supervision_mask[_vN].png`` (255 = labelled), plus autosaved copies of the same."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import numpy as np

from inkloop._command import in_command, shell_quoted
from inkloop._notify import notify, notify_once
from inkloop.io._autosaved import autosave_state, is_dock_labels, rescue_folders
from inkloop.io._label_images import PAINTED, label_arrays, painted, read_label_image
from inkloop.io._remote import shown_location
from inkloop.io._segment import as_segment
from inkloop.io._sidefiles import (
    checkpoint_path,
    ink_labels_name,
    kept_copy_path,
    label_paths,
    prediction_path,
    rounds_path,
    stray_side_files_hint,
    supervision_path_for,
)
from inkloop.io._torn_labels import (
    DOCK_RESTORES,
    PAIR_KEY,
    TornPairError,
    header_text,
    labelled_where_inked,
    pair_tags,
    restored_ink,
    saved_ink_strokes,
    torn,
)
from inkloop.io._validation import validation_path
from inkloop.io._write import atomic_path, encode_png, remove_left_parts


def write_label_files(ink_path: str | Path, ink: np.ndarray, supervised: np.ndarray, *, fast=False):
    """Write ink labels and their supervision mask as a pair: both are encoded into temporary
    files, then renamed into place one after the other, so a full disk or a crash while
    encoding (seconds for a whole segment) never leaves new ink beside an old mask. A crash
    between the two renames does, ink first: the ink names the mask it replaces (`pair_tags`),
    and an opening restores the ink strokes of such a `torn` pair. The arrays are read as
    `inkloop.io.ink_levels` says (uint8, bool, floats within 0..1, ...); labels it cannot
    read raise before any file is touched. ``fast``: `encode_png`'s, for both."""
    ink, supervised = label_arrays(ink, supervised)
    ink_path = Path(ink_path)
    supervision_path = supervision_path_for(ink_path)
    ink_tag, tag = pair_tags(supervision_path)
    with atomic_path(supervision_path) as supervision_tmp, atomic_path(ink_path) as ink_tmp:
        encode_png(ink_tmp, ink, {**PAINTED, **ink_tag}, fast=fast)
        encode_png(supervision_tmp, supervised.view(np.uint8) * np.uint8(255), tag, fast=fast)
    return ink_path, supervision_path


def save_labels(segment, ink: np.ndarray, supervised: np.ndarray, *, autosave: bool = False):
    """Write ``segment``'s label files beside it (or its autosave copies); labels not of the
    segment's size, or that `write_label_files` cannot read, raise ValueError. Saved files
    inkloop did not mark are first kept as they were (`_unmarked`), unless the save fails
    (`_drop_needless_copies`). ``segment``: a Segment, or its path or URL."""
    segment = as_segment(segment)
    ink, supervised = label_arrays(ink, supervised, segment.shape[1:])
    ink_path = label_paths(segment, autosave=autosave)[0]
    if autosave:
        return write_label_files(ink_path, ink, supervised)
    kept: dict[Path, tuple[Path, tuple]] = {}  # file: its copy, and `_identity` as copied
    try:
        for path in _unmarked(ink_path):
            kept[path] = (_keep(path), _identity(path))
        return write_label_files(ink_path, ink, supervised)
    except BaseException:
        _drop_needless_copies(kept)
        raise
    finally:
        _say_kept(segment, kept)


def _unmarked(ink_path: Path) -> list[Path]:
    """The saved labels at ``ink_path`` where inkloop did not mark them (another tool's, a
    download's ground truth, an inkloop's from before the mark), and their supervision
    mask where it has no write id either, even with no labels beside it."""
    if painted(ink_path):
        return []
    mask = supervision_path_for(ink_path)
    files = [ink_path] if ink_path.is_file() else []
    return files + ([mask] if mask.is_file() and PAIR_KEY not in header_text(mask) else [])


def _keep(path: Path) -> Path:  # the copy at `kept_copy_path`
    copy = kept_copy_path(path)
    with atomic_path(copy) as part:
        shutil.copy2(path, part)
    return copy


def _identity(path: Path) -> tuple:
    """What changes where ``path`` is written or replaced (inodes alone: 0 on some shares)."""
    stat = path.stat()
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def _drop_needless_copies(kept: dict) -> None:
    """Delete the copies in ``kept`` where a failed save left every file as it was, so that
    retries on a full disk do not pile them up; where it replaced one (the ink, before the
    mask's rename failed) all stay: a retry takes the pair as inkloop's, copying none."""
    with contextlib.suppress(OSError):
        if all(path.is_file() and _identity(path) == was for path, (_, was) in kept.items()):
            for path, (copy, _) in list(kept.items()):
                copy.unlink()
                del kept[path]


def _say_kept(segment, kept: dict) -> None:
    """Say which unmarked files a save keeps, as what, and that it saves into them."""
    if not kept:
        return
    names = " and ".join(path.name for path in kept)
    copies = ", ".join(f"{path.name} as {copy.name}" for path, (copy, _) in kept.items())
    notify(
        f"{segment.name}: {names} had no inkloop mark (another tool's, or saved by an inkloop "
        "before 2026-12-05); painted labels are saved into them from now on, and the files "
        f"as they were are kept beside them: {copies}"
    )


ALL_PIXELS = "all pixels"  # the supervision where no mask says which pixels are labelled
PROBABILITY_MAP_SAMPLE = 1_000_000  # pixels a probability-map check looks at, at most
_TOLD: set[Path] = set()  # the label files whose opening was said (`_tell_where_labels_go`)


def probability_map_message(ink: np.ndarray, supervised: np.ndarray, labels_file) -> str | None:
    """What is wrong with labels most of whose labelled pixels are soft (grey), or None.

    That is a model's probability map, which as labels would teach faint ink everywhere
    (painted labels are soft only at a gradient brush's edges). Label files inkloop wrote
    are painted, whatever their ink. Callers add how to turn a map into labels, which differs
    between the CLI and the dock.
    """
    if painted(labels_file):
        return None
    # a grid of at most ~1 M pixels decides it: the reader runs this as napari opens a
    # segment, where a whole 200 MP label image took 0.7 s and 200 MB of copies
    step = max(1, int((np.size(ink) / PROBABILITY_MAP_SAMPLE) ** 0.5))
    grid = (slice(None, None, step), slice(None, None, step))
    labelled = np.asarray(ink[grid])[np.asarray(supervised[grid], bool)]
    soft = np.count_nonzero((labelled > 0) & (labelled < 255))
    if not labelled.size or soft <= labelled.size // 2:
        return None
    return (
        f"{labels_file}: {soft / labelled.size:.0%} of the labelled pixels are grey (soft "
        "ink): it looks like a probability map"
    )


def labels_options(ink: Path, supervision: Path | None = None) -> str:
    """The `inkloop train` options that train on these label files."""
    given = f"--labels {shell_quoted(ink)}"
    return given + (f" --supervision {shell_quoted(supervision)}" if supervision else "")


def labels_given(ink, supervision=None) -> str:
    """These label files as the user gives them: `labels_options` in the `inkloop` command,
    `load_labels`' keywords in Python (`in_command`)."""
    if in_command():
        return labels_options(ink, supervision)
    given = f"labels={str(ink)!r}"
    return given + (f", supervision={str(supervision)!r}" if supervision else "")


def load_labels(segment, labels: Path | None = None, supervision: Path | None = None):
    """Ink labels (uint8) and supervision (bool) for ``segment``, with where they came from.

    Labels default to the segment's own ``*_inklabels.png``. Supervision: the given mask, else
    the supervision mask saved with the labels (`saved_supervision`), else the papyrus mask
    (as the Kaggle and Grand Prize data expect), else every pixel. ``segment``: a Segment, or
    its path or URL.
    """
    segment = as_segment(segment)
    shape = segment.shape[1:]
    if labels is None and segment.ink_labels is None:
        raise ValueError(_no_labels_message(segment))
    if supervision is None:
        restored = labels is None or is_dock_labels(segment, labels)
        paired = saved_supervision(labels or segment.files["ink_labels"], restored=restored)
        supervision = None if labels is None else paired  # the segment's own: decoded
    if labels is not None:
        ink = read_label_image(labels, shape, ink=True)
    else:
        ink, labels = np.asarray(segment.ink_labels), segment.files["ink_labels"]
    if supervision is not None:
        supervised = read_label_image(supervision, shape, ink=False)
    elif segment.supervision is not None and labels == segment.files.get("ink_labels"):
        supervised, supervision = np.asarray(segment.supervision), segment.files["supervision"]
    elif segment.mask is not None:
        supervised, supervision = np.asarray(segment.mask), segment.files["mask"]
    else:
        supervised = np.ones(shape, bool)
    sources = {"labels_file": str(labels), "supervision_file": str(supervision or ALL_PIXELS)}
    return ink, supervised, sources


def saved_supervision(ink_file: str | Path, *, restored: bool = False) -> Path | None:
    """The supervision mask saved with the ink labels ``ink_file`` (`supervision_path_for`),
    or None where there is none. TornPairError where the two are of different writes
    (`torn`): ``restored``, labels the dock opens and restores; else given as they are."""
    mask_file = supervision_path_for(ink_file)
    if torn(ink_file, mask_file):
        given = None if restored else labels_given(ink_file, mask_file)
        raise TornPairError(ink_file, mask_file, given)
    return mask_file if mask_file.is_file() else None


def _no_labels_message(segment) -> str:
    """Why ``segment`` has no labels to train on and how to give some: the dock's unsaved
    (autosaved) labels are named, as the CLI reads only saved ones; for an autosave cut
    short, only the dock's restore (as it is, it would teach erased strokes as "no ink")."""
    message = f"{shown_location(segment.path)}: the segment has no ink labels; "
    copies, orphan = autosave_state(segment)
    if orphan is not None:
        message += f"the dock's autosaved ink {orphan} is of an autosave cut short: "
        message += DOCK_RESTORES
    elif copies is not None:
        message += f"the dock's unsaved labels are in {copies[0].name}: click Save labels in "
        message += f"the dock, or pass {labels_given(*copies)}"
    else:
        message += f"pass {labels_given('INK.png')}"
    hint = stray_side_files_hint(segment)
    return message + (f" ({hint})" if hint else "")


def initial_labels(segment, restored=None, *, autosave=None):
    """The labels to start painting with, where they came from in words and their file:
    autosaved labels newer than the saved ones (a crash to recover, or strokes kept where
    the segment's folder refused them: ``autosave``, `autosave_state`'s, looked up if None;
    NO_AUTOSAVE passes over copies that cannot be read), else the segment's label files,
    else none (zeros). ``restored``: the ink and supervision of the autosaved files, where the
    caller decoded them already (the reader, beside the mask). Parts of the segment's side
    files that killed writes left are deleted first. ``segment``: a Segment, its path or URL."""
    segment = as_segment(segment)
    remove_left_parts(_side_files(segment))
    copies, orphan = autosave_state(segment) if autosave is None else autosave
    if copies is not None:
        ink, supervised = restored or load_labels(segment, *copies)[:2]
        supervised = labelled_where_inked(ink, supervised)
        return ink, supervised, f"restored autosaved labels {copies[0]}", copies[0]
    if orphan is not None:
        ink, supervised = restored_ink(segment, orphan, saved_labels(segment))
        return ink, supervised, f"restored autosaved ink labels {orphan}", orphan
    if segment.ink_labels is not None:
        ink, supervised, warning = saved_labels(segment)
        if warning:
            notify(warning)
        labels_file = Path(segment.files["ink_labels"])
        _tell_where_labels_go(segment, labels_file)
        return ink, supervised, f"labels {labels_file}", labels_file
    shape = segment.shape[1:]
    return np.zeros(shape, np.uint8), np.zeros(shape, bool), "no labels yet", None


def saved_labels(segment):
    """``segment``'s saved ink labels and supervision (`load_labels`), or where the two are
    of different writes, the ink strokes they still hold; with the warning saying so (or
    None), for the caller to say. None where it has no saved labels."""
    if segment.ink_labels is None:
        return None
    try:
        return (*load_labels(segment)[:2], None)
    except TornPairError as error:
        return saved_ink_strokes(segment, np.asarray(segment.ink_labels), *error.paths)


def _tell_where_labels_go(segment, labels_file: Path) -> None:
    """Say once where painted labels go if ``segment`` opened labels other than its plain
    ``<id>_inklabels``: back into that latest version, or beside a file left as it is (a
    Kaggle fragment's inklabels.png: the ground truth that scores are taken against)."""
    ink, supervision = label_paths(segment)
    version = (ink_labels_name(labels_file.stem) or (None, 1))[1]
    if ink == labels_file and version == 1:
        return
    if ink == labels_file:
        said = f"opened version {version} of its ink labels, {ink.name} (the latest beside it)"
    else:
        said = f"opened {labels_file.name}, which inkloop leaves as it is"
    said += f": painted labels are saved to {ink.name} and {supervision.name}"
    notify_once(_TOLD, labels_file, f"{segment.name}: {said}, which inkloop opens from then on")


def _side_files(segment) -> list[Path]:
    """The files inkloop writes beside ``segment`` through `atomic_path`, and its autosave
    copies in the rescue folders."""
    autosaved = label_paths(segment, autosave=True)
    files = [*label_paths(segment), *autosaved]
    files += [folder / path.name for folder in rescue_folders(segment) for path in autosaved]
    files += [checkpoint_path(segment), rounds_path(segment), validation_path(segment)]
    return files + [prediction_path(segment, kind) for kind in ("png", "tif")]
