"""What `inkloop train` holds out of its labels: the --validation region, or the one the dock
keeps, and, said before training, how much of it the --init model's training held out too,
as the run's round will record (`held_out_by_run`), or that it is not known."""

from __future__ import annotations

from inkloop._cli_predict import parse_region
from inkloop._notify import notify

NO_REGION = "none"  # --validation none: nothing held out, not even the dock's region
FROM_SCRATCH = "train from scratch for a clean score"


def validation_option(text: str):
    """--validation's value: a region (`parse_region`), or NO_REGION."""
    return NO_REGION if text.strip().lower() == NO_REGION else parse_region(text)


def own_labels(args, segment) -> bool:
    """Whether the run trains on ``segment``'s own labels (those the dock paints), which its
    kept validation region is of: not on --labels of another file or a prediction's."""
    from inkloop._cli_train_labels import is_own_labels

    if args.labels_from_prediction is not None:
        return False
    return args.labels is None or is_own_labels(segment, args.labels)


def held_out_region(given, segment, own: bool):
    """The region the run holds out: the one --validation ``given``, None for `none`, else,
    on the segment's ``own`` labels, the validation region the dock keeps for ``segment``
    (said on stderr), if any, so that its labels stay out of training here too."""
    from inkloop.io import read_validation_region, validation_path

    if given is not None:
        return None if given == NO_REGION else given
    if not own:
        return None
    try:
        kept = read_validation_region(segment)
    except ValueError as error:  # a damaged file: which region to hold out is the user's call
        raise ValueError(f"{error}; give --validation Y0:Y1,X0:X1, or --validation none") from None
    if kept is not None:
        notify(
            f"holding out the validation region {_words(kept)} (rows, columns) that the "
            f"dock keeps for {segment.name} ({validation_path(segment)}): its labels are scored, "
            f"not trained on by this run; --validation none trains on them"
        )
    return kept


def held_out_with_init(args, segment, init, rounds) -> tuple | None:
    """What the run holds out in all, as its round will record: its region narrowed to what
    the training behind the --init Checkpoint ``init`` held out (`held_out_by_run`, from the
    rounds file ``rounds``). Where that is less than the region, or not known, say so now:
    its F0.5 will, or may, read high."""
    from inkloop._rounds_held_out import NOT_RECORDED, UNRECORDED, held_out_by_init
    from inkloop.rounds import held_out_by_checkpoint, held_out_throughout, read_history

    region = args.validation
    if region is None:
        return None
    record = () if init is None else held_out_by_checkpoint(init.provenance, segment.name)
    earlier = held_out_by_init(read_history(rounds), args.init, record)
    held = held_out_throughout((*earlier, region))
    if UNRECORDED in earlier:
        notify(f"the model --init {args.init.name} {NOT_RECORDED}; {FROM_SCRATCH}")
    elif held != tuple(region):
        kept = "none of it" if held is None else f"only {_words(held)}"
        notify(
            f"the model --init {args.init.name} has trained on labels in the validation region "
            f"{_words(region)} (its training held out {kept}): this run's F0.5 will read high; "
            "train from scratch or move the region for a clean score"
        )
    return held


def held_out_words(region, held) -> bool | list[int]:
    """The summary's ``validation.held_out``: true where the whole scored ``region`` was held
    out of all the training behind the weights, false where none of it, else the part that
    was (y0, x0, y1, x1)."""
    if held is None:
        return False
    return True if tuple(held) == tuple(region) else [int(v) for v in held]


def _words(box) -> str:
    y0, x0, y1, x1 = box
    return f"{y0}:{y1},{x0}:{x1}"
