"""A window refused a segment's labels at its start autosaves no model of the segment; once
it took the labels over (the other window let go), its next run autosaves the segment's own
model, as a window that held them from the start does. Steps its engine trained meanwhile,
which no file keeps, are not dropped for it: that engine goes on until a change replaces it."""

from __future__ import annotations

import dataclasses

from inkloop._napari._label_claims import labels_lock_path
from inkloop.engine import StepDone
from inkloop.io import checkpoint_path, open_segment
from tests._napari._fakes import fake_engines
from tests._napari.test_labels_claimed import _claimer
from tests._napari.test_labels_claimed_again import B, needs_locks


def _refused_then_taken_over(open_in_dock, folder, monkeypatch, qtbot, trained: bool):
    """``folder`` opened while another process (a napari quitting) held its labels, its
    engine made then (a step trained there if ``trained``), the labels taken over once that
    process ended: (the loop, the engines made)."""
    made = fake_engines(monkeypatch)
    other, answer = _claimer(labels_lock_path(open_segment(folder)))
    assert answer == "held"
    try:
        _, widget = open_in_dock(folder)
        loop = widget.loop
        assert loop.warm_up()
        qtbot.waitUntil(lambda: len(made) == 1)
        assert made[0].settings.autosave is None  # the other window's loop autosaves it
        if trained:
            loop.event_received.emit(loop.generation, StepDone(3, 0.5, 1e-3, 9.0, 8, 0, None))
        widget.labels.painter.stamp_along(B)
    finally:
        other.stdin.close()
        other.wait()  # it ended: the system let go of its lock
    widget.labels.autosaver.save_if_changed()  # the next autosave tick takes them over
    assert widget.labels.elsewhere is None
    return loop, made


@needs_locks
def test_the_next_run_after_the_labels_were_taken_over_autosaves_the_segments_model(
    open_in_dock, unlabelled_folder, monkeypatch, qtbot
):
    loop, made = _refused_then_taken_over(
        open_in_dock, unlabelled_folder, monkeypatch, qtbot, trained=False
    )
    assert loop.warm_up()  # the next run's settings
    qtbot.waitUntil(lambda: len(made) == 2)
    assert made[0].closed
    assert made[1].settings.autosave == checkpoint_path(loop.labels.segment)
    assert loop.settings.autosave == made[1].settings.autosave  # and every run after


@needs_locks
def test_an_engine_that_trained_while_refused_goes_on_until_a_change_replaces_it(
    open_in_dock, unlabelled_folder, monkeypatch, qtbot
):
    loop, made = _refused_then_taken_over(
        open_in_dock, unlabelled_folder, monkeypatch, qtbot, trained=True
    )
    assert loop.warm_up()
    assert len(made) == 1  # its step is in no file: it goes on
    assert not made[0].closed

    assert loop.warm_up(dataclasses.replace(loop.next_settings(), validate_every=7))
    qtbot.waitUntil(lambda: len(made) == 2)  # replaced for the change, as before
    assert made[1].settings.autosave == checkpoint_path(loop.labels.segment)
