"""Which finished outputs a batch run again keeps: only those that record being made as this
run makes them (the same model file's bytes, layers, order, tta...). An output another model
made is no part of this run's work, and skipping it would hand the old predictions on as the
new model's; so it is refused unless --overwrite, as is one whose record cannot be read."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from inkloop.predict._provenance import prediction_record

# what of a prediction's record sets its pixels (not where, when or by which inkloop it
# ran), as a refusal names it
_PIXELS = {
    "layers": "layers",
    "layer_files": "layers",
    "reverse": "layer order",
    "composition": "input composition",
    "scale": "scale",
    "tta": "tta",
    "region": "region",
}
_LISTED = 5  # outputs named in the refusal; the rest are counted


def making(window, segment, model: dict, tta: bool) -> dict:
    """How this run makes ``segment``'s prediction: the model's sha256 and the fields of its
    record (`prediction_record`, one home for them) that set the pixels, for the whole
    segment read through ``window`` (`model_window`); ``model``: `model_identity`."""
    # the record reads only these two of a predictor, which is made later, on the workers
    planned = SimpleNamespace(composition=window, tta=tta)
    record = prediction_record(planned, segment, model, (0, 0, *segment.shape[1:]), device="")
    return _making_of(record)


def refuse_made_otherwise(finished: list[tuple[Path, dict]]) -> None:
    """ValueError naming the outputs in ``finished`` (output, this run's `making` of it) that
    do not record being made so: another model, other layers or options, or no record."""
    otherwise = [(out, why) for out, made in finished if (why := _not_made_so(out, made))]
    if not otherwise:
        return
    named = [f"{out.name} ({why})" for out, why in otherwise[:_LISTED]]
    if len(otherwise) > _LISTED:
        named.append(f"and {len(otherwise) - _LISTED} more")
    folder = otherwise[0][0].parent
    raise ValueError(
        f"{folder} holds {len(otherwise)} finished output{'s' * (len(otherwise) != 1)} this "
        f"run would make otherwise, so they are not skipped: {', '.join(named)}; pass "
        "--overwrite (overwrite=True in Python) to replace them, or write to another folder"
    )


def _not_made_so(out: Path, made: dict) -> str | None:
    """Why ``out`` is not the output this run makes as ``made`` says, or None."""
    from inkloop.io import recorded_provenance

    try:
        record = recorded_provenance(out)
    except Exception as error:  # any file can sit under an output's name
        return f"its record cannot be read: {error}"
    if record is None:
        return "it records no provenance"
    recorded = _making_of(record)
    if made["model"] is None or recorded["model"] != made["model"]:
        return "another model" if recorded["model"] else "it records no model file"
    differ = dict.fromkeys(said for key, said in _PIXELS.items() if recorded[key] != made[key])
    return f"other {', '.join(differ)}" if differ else None


def _making_of(record: dict) -> dict:
    model = record.get("model")
    sha256 = model.get("sha256") if isinstance(model, dict) else None
    return {"model": sha256, **{key: record.get(key) for key in _PIXELS}}
