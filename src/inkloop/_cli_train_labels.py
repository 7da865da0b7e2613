"""The labels an `inkloop train` run trains on, what it says about them, and where its round
is recorded: decided before training, and said where it is not beside the labels."""

from __future__ import annotations

from pathlib import Path

THRESHOLD = 0.5  # of --labels-from-prediction


def train_labels(args, segment):
    """The labels to train on: (ink, supervised, their sources, the rounds file, the pixels
    the round counts as accepted)."""
    from inkloop.io import (
        labels_from_prediction,
        load_labels,
        probability_map_message,
        rounds_path_for,
    )

    if args.labels_from_prediction is not None:
        if args.supervision is not None:
            raise ValueError("--labels-from-prediction labels all papyrus: drop --supervision")
        ink, supervised, sources = labels_from_prediction(
            segment,
            args.labels_from_prediction,
            THRESHOLD if args.prediction_threshold is None else args.prediction_threshold,
            soft=not args.prediction_hard,
        )
        _tell_if_all_pixels(segment, sources, supervision_option=False)
        # the prediction is another model's output (often in a shared data folder): the
        # round goes beside the checkpoint, where this run writes anyway
        return ink, supervised, sources, rounds_path_for(args.out), int(supervised.sum())
    ink, supervised, sources = load_labels(segment, args.labels, args.supervision)
    if args.labels is None:
        _tell_if_autosave_newer(segment)
    _tell_if_all_pixels(segment, sources, supervision_option=True)
    problem = probability_map_message(ink, supervised, sources["labels_file"])
    if problem:
        raise ValueError(f"{problem}; --labels-from-prediction turns one into labels")
    rounds = _rounds_file(segment, Path(sources["labels_file"]), args.out)
    return ink, supervised, sources, rounds, 0


def _rounds_file(segment, labels_file: Path, out: Path) -> Path:
    """Where the round of a run on ``labels_file`` is recorded: with the segment's own labels
    (or those of the read-only folder inkloop keeps its work for), in the segment's rounds
    file, which the dock reads; with other labels, beside them; beside the checkpoint
    ``out`` where that folder is the package's sample data or cannot be written (said)."""
    from inkloop._notify import notify
    from inkloop.io import _writable, in_package_data, rounds_path, rounds_path_for
    from inkloop.io._sidefiles import side_folder

    if in_package_data(labels_file):  # part of the installation: nothing is written there
        return rounds_path_for(out)
    if is_own_labels(segment, labels_file):
        return rounds_path(segment)  # also as named on a read-only share, or through a link
    if _writable.own_side_folder(labels_file.parent, segment.name) == side_folder(segment):
        # another label file of the read-only share: its round joins the segment's own
        return side_folder(segment) / rounds_path_for(labels_file).name
    rounds = rounds_path_for(labels_file)
    if _writable.is_writable(rounds.parent):
        return rounds
    beside = rounds_path_for(out)
    notify(
        f"{rounds.parent} cannot be written: the round of this run is recorded beside --out, "
        f"in {beside}"
    )
    return beside


def _tell_if_autosave_newer(segment) -> None:
    """Say on stderr that the dock's autosaved labels are newer than the saved ones this run
    trains on (strokes painted since the last Save, or a Save cut short), and how to use them;
    or its autosaved ink, where its mask is missing or of an earlier autosave (`torn`)."""
    from inkloop._notify import notify
    from inkloop.io._autosaved import autosave_state
    from inkloop.io._labels import labels_options
    from inkloop.io._torn_labels import DOCK_RESTORES

    autosaved, ink = autosave_state(segment)
    if autosaved is not None:
        notify(
            f"training on the saved labels of {segment.name}, but the dock's unsaved labels "
            f"{autosaved[0].name} and {autosaved[1].name} are newer: to train on them, click "
            f"Save labels in the dock or pass {labels_options(*autosaved)}"
        )
    elif ink is not None:
        notify(
            f"training on the saved labels of {segment.name}, but the dock's autosaved ink "
            f"{ink} is newer (its mask is missing or of an earlier autosave): {DOCK_RESTORES}"
        )


def _tell_if_all_pixels(segment, sources: dict, *, supervision_option: bool) -> None:
    """Say on stderr that every pixel is supervised where no mask says which are: the air
    around the papyrus is taught as no ink too, and normalised on."""
    from inkloop._notify import notify
    from inkloop.io import stray_side_files_hint
    from inkloop.io._labels import ALL_PIXELS
    from inkloop.io._sidefiles import mask_path

    if sources["supervision_file"] != ALL_PIXELS:
        return
    mask = mask_path(segment)
    option = "give --supervision MASK.png (255 = labelled), or " if supervision_option else ""
    hint = stray_side_files_hint(segment)
    notify(
        f"{segment.name} has no papyrus mask: every pixel is supervised, the air around the "
        f"papyrus included (taught as no ink); {option}put a papyrus mask (255 = papyrus) at "
        f"{mask}" + (f" ({hint})" if hint else "")
    )


def is_own_labels(segment, labels_file) -> bool:
    """Whether ``labels_file`` is ``segment``'s own ink labels (those the dock paints), by
    whatever name: as on a read-only share, or through a link."""
    from inkloop.checkpoint import same_file

    own = segment.files.get("ink_labels")
    return own is not None and same_file(labels_file, own)
