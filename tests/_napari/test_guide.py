"""The Guide panel in a real viewer: accept the prediction, label here next, rounds, check
the stack, and a prediction image loaded as labels."""

from __future__ import annotations

import numpy as np
import pytest
from napari.utils.notifications import notification_manager

from inkloop.checkpoint import describe_checkpoint
from inkloop.engine import State
from inkloop.io import write_png
from inkloop.rounds import read_rounds
from inkloop.uncertainty import MAY_COVER, MIN_UNLABELLED, covered_share, uncertainty
from tests._napari._gui import drag, messages, paint_left_half


@pytest.mark.slow
def test_accept_next_rounds_and_check_while_the_loop_runs(loop_widget, qtbot, truth, tmp_path):
    viewer, widget = loop_widget
    loop, guide, painter = widget.loop, widget.guide_panel, widget.labels.painter
    paint_left_half(widget, viewer, qtbot, truth)
    widget.loop_panel.finetune_button.click()
    qtbot.waitUntil(
        lambda: loop.losses.count >= 20 and loop.prediction_updates >= 2, timeout=90_000
    )

    # accept: the prediction under the brush becomes labels as the soft view shows it, the
    # probability as strength from p > 0.5 (the first level drawn), "no ink" below
    prediction = viewer.layers["ink prediction"].data
    painter.set_brush(mode="accept", radius=6, hardness=1.0)
    box = painter.stamp_along([(100, 200)])
    y0, x0, y1, x1 = box
    ink, supervised = painter.canvas.labels(box)
    assert supervised.sum() > 100
    shown = prediction[y0:y1, x0:x1][supervised]
    assert np.array_equal(ink[supervised], np.where(shown >= 128, shown, 0))
    assert painter.canvas.accepted_pixels == supervised.sum()
    doubt = viewer.layers["uncertainty"]
    assert not doubt.visible  # off until the user shows it
    np.testing.assert_allclose(
        doubt.data[y0:y1, x0:x1], uncertainty(prediction[y0:y1, x0:x1] / 255), atol=2
    )

    # Next: ranked in the background (the camera stays where the user works meanwhile),
    # then G goes to an open, unvisited box
    center = tuple(loop.camera.center)
    shown = len(notification_manager.records)
    assert guide.go_next() is None
    qtbot.waitUntil(lambda: any("press G" in m for m in messages(shown)), timeout=60_000)
    assert tuple(loop.camera.center) == center
    assert not guide.next_region.visited
    first = guide.go_next()
    assert guide.next_region.visited == [first]
    papyrus, codes = truth[1], painter.canvas.codes
    by, bx, ey, ex = first
    assert ((codes[by:ey, bx:ex] == 0) & papyrus[by:ey, bx:ex]).mean() >= MIN_UNLABELLED
    np.testing.assert_allclose(loop.camera.center[-2:], ((by + ey) / 2, (bx + ex) / 2))
    ranked = guide.next_region.ranked
    qtbot.waitUntil(lambda: guide.next_region.ranked is not ranked, timeout=60_000)  # anew
    second = guide.go_next()
    assert second is None or covered_share(second, first) <= MAY_COVER

    # Check stack: the profile now, the model's reading both ways from the engine
    guide.check_button.click()
    qtbot.waitUntil(lambda: "reversed." in guide.check_result.text(), timeout=60_000)
    assert "suggested z-window" in guide.check_result.text()

    widget.loop_panel.stop_button.click()
    qtbot.waitUntil(lambda: len(guide.rounds.rounds) == 1, timeout=60_000)
    assert loop.state is State.STOPPED
    (round_,) = read_rounds(guide.rounds.path)
    assert round_.steps >= 20
    assert round_.accepted_pixels == supervised.sum()
    assert round_.ink_pixels > 0
    assert round_.no_ink_pixels > 0
    assert guide.plot.rounds == [round_]
    info = describe_checkpoint(loop.settings.autosave)
    assert info["round"]["number"] == 1
    assert info["provenance"]["labels"]["hash"] == round_.labels_hash


def test_a_prediction_image_starts_the_labels_and_undoes(segment_widget, tmp_path, qtbot):
    widget = segment_widget
    canvas_codes = widget.labels.painter.canvas.codes
    height, width = canvas_codes.shape
    prediction = np.zeros((height, width), np.uint8)
    prediction[:, : width // 2] = 200
    canvas_codes[...] = 0  # no labels yet, but for a user's "no ink" that stays as painted
    canvas_codes[:4, :4] = 1
    write_png(tmp_path / "gp.png", prediction)
    guide = widget.guide_panel
    guide.threshold.setValue(0.5)
    guide.soft.setChecked(False)
    with qtbot.waitSignal(guide.load_prediction(str(tmp_path / "gp.png")).finished):
        assert not guide.load_button.isEnabled()  # read off the GUI thread, one at a time
    assert guide.load_button.isEnabled()
    mask = np.asarray(widget.labels.segment.mask)
    ink, supervised = widget.labels.labels()
    assert (supervised == mask | (np.arange(height)[:, None] < 4) & (np.arange(width) < 4)).all()
    assert (ink[4:, : width // 2][mask[4:, : width // 2]] == 255).all()
    assert (ink[:, width // 2 :] == 0).all()
    assert (ink[:4, :4] == 0).all()
    widget.labels.painter.undo()
    assert widget.labels.painter.canvas.codes.sum() == 16

    write_png(tmp_path / "small.png", prediction[:-1])
    shown = len(messages(0))
    before = widget.labels.painter.canvas.codes.copy()
    with qtbot.waitSignal(guide.load_prediction(str(tmp_path / "small.png")).finished):
        pass
    assert guide.load_button.isEnabled()
    assert any("is 63 x 96 pixels but" in m for m in messages(shown))
    np.testing.assert_array_equal(widget.labels.painter.canvas.codes, before)


def test_accepting_before_any_prediction_says_so_and_changes_nothing(segment_widget):
    painter = segment_widget.labels.painter
    before = painter.canvas.codes.copy()
    shown = len(messages(0))
    painter.set_brush(mode="accept")
    assert painter.stamp_along([(20, 20)]) is None
    assert any("no prediction to accept yet" in m for m in messages(shown))
    np.testing.assert_array_equal(painter.canvas.codes, before)


def test_next_ranks_one_at_a_time_and_waits_for_g_to_move(segment_widget, monkeypatch):
    from inkloop.engine import Failed, Ranked

    loop, guide = segment_widget.loop, segment_widget.guide_panel
    seeds = []
    monkeypatch.setattr(loop, "rank", lambda box, tiles, seed: seeds.append(seed) or len(seeds))
    box = (0, 0, 16, 16)
    loop.labels.painter.canvas.codes[:16, :16] = 0  # unlabelled: open to suggest
    center = tuple(loop.camera.center)

    assert guide.go_next() is None
    assert guide.go_next() is None  # pressed again: the first ranking goes on
    assert seeds == [1]
    loop.changed.emit(Ranked(1, ((0.9, box),), 0))
    assert seeds == [1, 2]  # one more, for the labels since, with other tiles
    assert tuple(loop.camera.center) == center  # it never moves under the user's brush
    assert guide.go_next() == box
    assert guide.next_region.visited == [box]
    assert seeds == [1, 2]  # the second ranking goes on
    loop.changed.emit(Failed("a tile could not be read", 2))  # the ranking's answer
    assert guide.go_next() is None  # the box is visited: rank anew, not wait for ever
    assert seeds == [1, 2, 3]

    layer = loop.labels.layer
    assert "G" in {str(key) for key in layer.keymap}
    guide.set_loop(None)
    assert "G" not in {str(key) for key in layer.keymap}  # no Next for a closed loop


def test_a_stack_that_cannot_be_read_is_said_once_and_check_stack_works_again(
    segment_widget, qtbot
):
    guide, segment = segment_widget.guide_panel, segment_widget.labels.segment
    for layer in (segment.path / "layers").iterdir():
        layer.unlink()  # the drive went away, say
    shown = len(messages(0))

    guide.check_button.click()

    qtbot.waitUntil(lambda: guide.check_button.isEnabled())  # no error raised on the GUI
    (message,) = messages(shown)
    assert message.startswith("Ink Loop: the stack could not be read:")
    assert not guide.check_result.isVisibleTo(guide)  # no empty gap where nothing is said


def test_the_check_result_shows_once_there_is_one_in_sentences(segment_widget, qtbot, monkeypatch):
    from inkloop.engine import OrderChecked

    guide, loop = segment_widget.guide_panel, segment_widget.loop
    assert not guide.check_result.isVisibleTo(guide)  # no empty gap before a check
    monkeypatch.setattr(loop, "check_order", lambda: 7)  # the engine's part answered below
    monkeypatch.setattr(loop.own_model, "trained_by", loop.generation)  # trained here

    guide.check_button.click()

    assert guide.check_result.isVisibleTo(guide)
    assert guide.check_result.text() == "Reading the layers…"
    qtbot.waitUntil(lambda: "Reading the stack both ways" in guide.check_result.text())
    assert "suggested z-window: layers 2–5 (First layer 2)." in guide.check_result.text()
    verdict = "layer order is unclear: the model finds similar ink both ways"
    loop.changed.emit(OrderChecked(7, 0.082, 0.083, verdict))
    assert guide.check_result.text().endswith(
        "The model calls 8.2% of the papyrus ink as stored, 8.3% reversed. Layer order is "
        "unclear: the model finds similar ink both ways."
    )


def test_a_hidden_prediction_is_accepted_neither_by_brush_nor_by_rectangle(
    open_in_dock, segment_folder, qtbot
):
    """What the user cannot see is not accepted: one message, and the labels stay."""
    from inkloop._napari._guide_panel import ACCEPT_LAYER
    from inkloop._napari._overlay import PREDICTION_LAYER

    viewer, widget = open_in_dock(segment_folder)
    loop, guide, painter = widget.loop, widget.guide_panel, widget.labels.painter
    height, width = loop.labels.segment.shape[1:]
    loop.prediction_layer()
    loop.overlay.show((0, 0, height, width), np.full((height, width), 0.95, np.float32))
    prediction = viewer.layers[PREDICTION_LAYER]
    painter.canvas.codes[...] = 0  # nothing labelled: all of it open to accept
    painter.set_brush(mode="accept", radius=6, hardness=1.0)
    prediction.visible = False
    shown = len(messages(0))

    assert painter.stamp_along([(20, 20)]) is None
    guide.accept_button.click()  # refused before a rectangle is drawn in vain

    assert viewer.layers.selection.active is painter.layer  # the brush paints on
    assert not painter.canvas.codes.any()
    said = messages(shown)
    assert len(said) == 2
    assert all("prediction hidden, not accepted" in message for message in said)
    prediction.visible, prediction.opacity = True, 0.0  # shown, but nothing of it seen
    assert painter.stamp_along([(20, 20)]) is None
    assert not painter.canvas.codes.any()
    assert len(messages(shown)) == 3
    prediction.opacity = 0.5

    guide.accept_button.click()
    prediction.visible = False  # hidden while the rectangle is drawn
    drag(viewer, [(4, 4), (30, 30)], qtbot)
    assert viewer.layers.selection.active is painter.layer
    assert len(viewer.layers[ACCEPT_LAYER].data) == 0
    assert not painter.canvas.codes.any()
    assert len(messages(shown)) == 4

    prediction.visible = True  # seen: accepted, by brush and by rectangle alike
    assert painter.stamp_along([(20, 20)]) is not None
    guide.accept_button.click()
    drag(viewer, [(34, 34), (60, 60)], qtbot)
    assert (painter.canvas.codes[36:58, 36:58] > 1).all()
    assert len(messages(shown)) == 4


def test_accept_in_rectangle_works_in_a_reopened_dock_and_not_after_it_closed(
    make_napari_viewer, monkeypatch, segment_folder
):
    """The rectangle layer outlives the dock that made it: a rectangle drawn with the dock
    closed does nothing (no error), and the reopened dock's panel accepts into the labels."""
    from inkloop._napari._guide_panel import ACCEPT_LAYER
    from inkloop._napari._widget import InkLoopWidget

    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)
    viewer = make_napari_viewer()

    def dock_showing_a_prediction():
        dock, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
        if widget.loop is None:
            widget.open_segment(str(segment_folder), wait=True)
        height, width = widget.loop.labels.segment.shape[1:]
        widget.loop.prediction_layer()
        widget.loop.overlay.show((0, 0, height, width), np.full((height, width), 0.95, "f4"))
        widget.labels.painter.canvas.codes[...] = 0  # nothing labelled: all open to accept
        widget.guide_panel.accept_button.click()
        return dock, widget

    dock, first = dock_showing_a_prediction()
    viewer.window.remove_dock_widget(dock)  # the dock's X
    rectangles = viewer.layers[ACCEPT_LAYER]
    rectangles.add_rectangles(np.array([[4, 4], [30, 30]]))  # raises nothing
    assert first.guide_panel.loop is None

    _, second = dock_showing_a_prediction()  # Plugins > Ink Loop
    assert viewer.layers[ACCEPT_LAYER] is rectangles
    codes = second.labels.painter.canvas.codes
    rectangles.add_rectangles(np.array([[4, 4], [30, 30]]))
    assert (codes[5:29, 5:29] > 1).all()
    assert not codes[31:].any()
    assert len(rectangles.data) == 0
