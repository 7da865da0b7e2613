"""Coming back to a segment: the whole-segment prediction inkloop wrote beside it is named,
with the model step that made it, and offered as its layer; Predict whole segment keeps it as
``<id>_prediction.saved-<date>-<time>.<format>`` before the new one takes its name, as models
are kept, and puts it back where no new one came."""

from __future__ import annotations

import dask.array as da
import numpy as np
from napari.utils.notifications import notification_manager

from inkloop.engine import Notice, SegmentPredicted
from inkloop.io import prediction_path, read_prediction
from inkloop.predict import write_prediction
from tests._napari._gui import messages


def _predicted(segment, value: float, step: int, fmt: str = "ome.zarr"):
    """A whole-segment prediction of ``segment`` (OME-Zarr unless ``fmt``), as the dock
    writes it."""
    out = prediction_path(segment, fmt)
    record = {"model": {"step": step}, "segment": {"name": segment.name}}
    probability = da.full(segment.shape[1:], value, np.float32)
    return write_prediction(probability, out, progress=False, record=record)


def test_a_reopened_segment_names_and_offers_its_prediction(open_in_dock, segment_folder):
    from inkloop.io import open_segment

    segment = open_segment(segment_folder)
    out = _predicted(segment, 0.5, 15)
    since = len(notification_manager.records)

    viewer, _ = open_in_dock(segment_folder)

    layer = viewer.layers[f"{segment.name} prediction"]
    assert not layer.visible  # offered: its eye shows it
    said = [m for m in messages(since) if out.name in m]
    assert said == [
        f"Ink Loop: {segment.name}: its whole-segment prediction {out.name} (model step 15) "
        "is the "
        f'layer "{segment.name} prediction", hidden: its eye shows it; a Predict whole '
        "segment into it keeps it as a .saved- copy"  # another format's leaves it
    ]


def test_a_reopened_segments_png_prediction_is_named_not_decoded(open_in_dock, segment_folder):
    """A PNG has no random access: shown, it would be decoded whole on napari's GUI thread
    at each open of the segment."""
    from inkloop.io import open_segment

    segment = open_segment(segment_folder)
    out = _predicted(segment, 0.5, 15, "png")
    since = len(notification_manager.records)

    viewer, _ = open_in_dock(segment_folder)

    assert f"{segment.name} prediction" not in viewer.layers
    said = [m for m in messages(since) if out.name in m]
    assert said == [
        f"Ink Loop: {segment.name}: its whole-segment prediction {out.name} (model step 15) is "
        "beside it, not shown: a PNG is read whole, which would hold napari up at each open "
        "(File → Open shows it); a Predict whole segment into it keeps it as a .saved- copy"
    ]


def test_the_notice_counts_the_earlier_predictions_kept(open_in_dock, segment_folder):
    """Each kept copy is a full prediction: the notice says how many lie beside it."""
    from inkloop.io import open_segment

    segment = open_segment(segment_folder)
    out = _predicted(segment, 0.5, 15)
    (out.parent / f"{segment.name}_prediction.saved-20261207-101010.ome.zarr").mkdir()
    (out.parent / f"{segment.name}_prediction.saved-20261207-101011.png").write_bytes(b"x")
    since = len(notification_manager.records)

    open_in_dock(segment_folder)

    (said,) = [m for m in messages(since) if out.name in m]
    assert said.endswith(
        "a Predict whole segment into it keeps it as a .saved- copy (2 earlier ones are kept "
        "so beside it, each a full copy: delete those you no longer need)"
    )


def test_predict_whole_segment_keeps_the_earlier_prediction(
    open_in_dock, segment_folder, monkeypatch
):
    _, widget = open_in_dock(segment_folder)
    panel, segment = widget.predict_panel, widget.loop.labels.segment
    out = _predicted(segment, 0.25, 15)
    sent = []
    monkeypatch.setattr(
        widget.loop, "predict_segment", lambda out, tta=False, replace=False: sent.append(out) or 7
    )
    panel.predict_button.click()
    (kept,) = out.parent.glob(f"{segment.name}_prediction.saved-*.ome.zarr")
    assert not out.exists()  # set aside until the new one comes
    write_prediction(da.full(segment.shape[1:], 0.75, np.float32), out, progress=False)
    since = len(notification_manager.records)
    widget.loop.changed.emit(SegmentPredicted(7, str(out), 1.0, 30))

    assert sent == [out]
    assert messages(since) == [
        f"Ink Loop: whole-segment prediction written to {out}; the earlier one is kept as "
        f"{kept.name}"
    ]
    assert abs(read_prediction(kept).mean() - 0.25) < 0.01  # day 1's map, kept
    assert abs(read_prediction(out).mean() - 0.75) < 0.01


def test_a_cancelled_prediction_puts_the_earlier_one_back(
    open_in_dock, segment_folder, monkeypatch
):
    _, widget = open_in_dock(segment_folder)
    panel, segment = widget.predict_panel, widget.loop.labels.segment
    out = _predicted(segment, 0.25, 15)
    monkeypatch.setattr(widget.loop, "predict_segment", lambda *a, **k: 7)
    panel.predict_button.click()
    widget.loop.changed.emit(Notice("cancelled", 7))

    assert abs(read_prediction(out).mean() - 0.25) < 0.01
    assert not list(out.parent.glob("*.saved-*"))


def test_a_prediction_the_engine_cannot_start_puts_the_earlier_one_back(
    open_in_dock, segment_folder, monkeypatch
):
    _, widget = open_in_dock(segment_folder)
    panel, segment = widget.predict_panel, widget.loop.labels.segment
    out = _predicted(segment, 0.25, 15)

    def unreachable(*args, **kwargs):
        raise RuntimeError("the engine server 127.0.0.1:9 cannot be reached")

    monkeypatch.setattr(widget.loop, "predict_segment", unreachable)
    panel.predict_button.click()

    assert abs(read_prediction(out).mean() - 0.25) < 0.01
    assert not list(out.parent.glob("*.saved-*"))
