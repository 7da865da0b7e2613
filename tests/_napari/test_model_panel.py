"""The Model panel: advanced settings into EngineSettings, checkpoints saved and loaded."""

from __future__ import annotations

import dataclasses

import pytest
from napari.utils.notifications import notification_manager
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFileDialog

from inkloop._napari._model_panel import FRESH_MODEL, IN_USE_IDLE, LOADED, ModelPanel
from inkloop.engine import RunStarted, State, StateChanged, StepDone
from inkloop.settings import (
    DECODER_WIDTHS,
    NO_AUGMENTATION,
    Augmentations,
    EngineSettings,
    ModelConfig,
    TrainConfig,
)
from tests._helpers import tiny_model, tiny_training
from tests._napari._fakes import write_torch_zip
from tests._napari._gui import messages


@pytest.fixture
def panel(qtbot):
    panel = ModelPanel()
    qtbot.addWidget(panel)
    return panel


def test_an_untouched_panel_keeps_the_settings_and_starts_collapsed(panel, qtbot):
    assert panel.apply(EngineSettings()) == EngineSettings()
    tiny = EngineSettings(model=tiny_model(), train=tiny_training(patch_size=64, lr=3e-3))
    panel.show_settings(tiny)
    assert panel.apply(tiny) == tiny
    assert not panel.body.isVisibleTo(panel)

    qtbot.mouseClick(panel.advanced, Qt.MouseButton.LeftButton)

    assert panel.body.isVisibleTo(panel)
    assert panel.body.encoder.currentText() == tiny_model().encoder
    for stride, shown in ((2, "per 2 × 2 px"), (16, "per 16 × 16 px")):  # 16: API only
        model = ModelConfig(decoder_channels=DECODER_WIDTHS, output_stride=stride)
        panel.show_settings(EngineSettings(model=model))
        assert panel.body.output_stride.currentText() == shown
        assert panel.apply(EngineSettings()).model == model
    shallow = ModelConfig().with_depth(3)  # API only
    panel.show_settings(EngineSettings(model=shallow))
    assert panel.body.depth.currentText() == "3 stages"
    assert panel.apply(EngineSettings()).model == shallow


def test_depth_and_stride_change_together(panel):
    deep = ModelConfig(decoder_channels=DECODER_WIDTHS, output_stride=16)  # 16: five stages only
    panel.show_settings(EngineSettings(model=deep))
    panel.body.depth.setCurrentText("4 stages")
    panel.body.output_stride.setCurrentText("per 8 × 8 px")
    assert panel.apply(EngineSettings(model=deep)).model == ModelConfig(output_stride=8)


def test_changed_controls_change_the_settings(panel, qtbot):
    panel.body.encoder.setCurrentText("resnet34")
    panel.body.output_stride.setCurrentText("every pixel")
    panel.body.depth.setCurrentText("5 stages")
    panel.body.patch_size.setValue(256)
    panel.body.batch_size.setValue(4)
    panel.body.lr.stepBy(4)  # four quarter-decades up: 1e-3 -> 1e-2
    panel.body.augment.setChecked(False)
    panel.body.device.setCurrentText("cpu")

    settings = panel.apply(EngineSettings())

    assert settings.model == ModelConfig(encoder="resnet34", output_stride=1).with_depth(5)
    train = TrainConfig(patch_size=256, batch_size=4, lr=1e-2, augment=NO_AUGMENTATION)
    assert settings.train == dataclasses.replace(train, device="cpu")
    panel.body.augment.setChecked(True)
    assert panel.apply(settings).train.augment == Augmentations()


@pytest.mark.parametrize(("typed", "value"), [("100", 96), ("20", 32), ("500", 512)])
def test_typed_patch_sizes_snap_to_multiples_of_32(panel, qtbot, typed, value):
    panel.body.patch_size.lineEdit().selectAll()
    qtbot.keyClicks(panel.body.patch_size.lineEdit(), typed)
    qtbot.keyClick(panel.body.patch_size.lineEdit(), Qt.Key.Key_Return)

    assert panel.apply(EngineSettings()).train.patch_size == value


def test_a_typed_learning_rate_is_read_in_scientific_notation(panel, qtbot):
    panel.body.lr.lineEdit().selectAll()
    qtbot.keyClicks(panel.body.lr.lineEdit(), "3e-4")
    qtbot.keyClick(panel.body.lr.lineEdit(), Qt.Key.Key_Return)

    assert panel.apply(EngineSettings()).train.lr == pytest.approx(3e-4)


def test_loading_a_model_sets_init_and_greys_out_the_model_settings(
    panel, qtbot, tmp_path, monkeypatch
):
    checkpoint = tmp_path / "earlier.pt"
    write_torch_zip(checkpoint)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(checkpoint), ""))

    with qtbot.waitSignal(panel.checkpoint_changed) as signal:
        panel.load_button.click()

    assert signal.args == [checkpoint]
    assert panel.apply(EngineSettings()).init == checkpoint
    assert panel.checkpoint_label.text() == LOADED
    assert panel.checkpoint_file.whole == "earlier.pt"
    assert panel.checkpoint_file.toolTip() == str(checkpoint)
    assert not panel.body.encoder.isEnabled()
    assert not panel.body.output_stride.isEnabled()
    assert not panel.body.depth.isEnabled()
    assert "loaded model brings its own encoder" in panel.body.encoder.toolTip()
    assert "its own output stride" in panel.body.output_stride.toolTip()
    with qtbot.waitSignal(panel.checkpoint_changed) as signal:
        panel.clear_button.click()
    assert signal.args == [None]
    assert panel.apply(EngineSettings()) == EngineSettings()
    assert panel.body.encoder.isEnabled()
    assert panel.body.output_stride.isEnabled()
    assert panel.body.depth.isEnabled()
    assert panel.clear_button.isEnabled()  # a fresh model trained in the dock starts anew


def test_loading_a_missing_model_says_so_and_changes_nothing(panel, tmp_path):
    shown = len(notification_manager.records)

    assert not panel.load_model(tmp_path / "missing.pt")

    assert any("missing.pt is not a file" in message for message in messages(shown))
    assert panel.init is None


def test_saving_needs_a_session(panel, segment_widget):
    assert not panel.save_button.isEnabled()
    panel.set_loop(segment_widget.loop)
    assert panel.save_button.isEnabled()
    panel.set_loop(None)
    assert not panel.save_button.isEnabled()


def test_the_model_in_use_shows_from_a_run_start_until_the_engine_changes(panel, segment_widget):
    loop = segment_widget.loop
    panel.set_loop(loop)
    assert panel.in_use_label.isVisibleTo(panel)  # a row that stays: nothing below jumps
    assert panel.in_use_label.text() == IN_USE_IDLE

    loop.changed.emit(RunStarted(0, "tu-resnet10t", "cpu", "float32"))

    assert panel.in_use_label.text() == "In use: tu-resnet10t on cpu, float32, batches of 8"
    loop.changed.emit(StateChanged(State.IDLE, State.STOPPED))  # e.g. the engine moved
    assert panel.in_use_label.text() == IN_USE_IDLE
    assert panel.in_use_label.isVisibleTo(panel)
    loop.changed.emit(RunStarted(0, "resnet18", "cuda:0", "bfloat16", "4 worker processes", 32))
    expected = "In use: resnet18 on cuda:0, bfloat16, batches of 32 from 4 worker processes"
    assert panel.in_use_label.text() == expected


def test_after_training_the_next_run_continues_from_it_and_the_panel_says_so(
    panel, segment_widget, tmp_path
):
    loop = segment_widget.loop
    panel.set_loop(loop)
    assert panel.checkpoint_label.text() == FRESH_MODEL
    trained = "Continues from this session's training (step 40)"

    for event in (
        StateChanged(State.TRAINING, State.IDLE),
        StepDone(40, 0.5, 1e-3, 30.0, 8, 0, None),
        StateChanged(State.STOPPED, State.TRAINING),
    ):
        loop.event_received.emit(loop.generation, event)

    assert panel.checkpoint_label.text() == trained  # not "a fresh model" any more
    panel.clear_button.click()  # the next run starts afresh
    assert panel.checkpoint_label.text() == FRESH_MODEL
    checkpoint = tmp_path / "earlier.pt"
    write_torch_zip(checkpoint)
    assert panel.load_model(checkpoint)
    assert (panel.checkpoint_label.text(), panel.checkpoint_file.whole) == (LOADED, "earlier.pt")
    loop.event_received.emit(loop.generation, StateChanged(State.TRAINING, State.STOPPED))
    assert panel.checkpoint_label.text() == LOADED  # no step yet
    loop.event_received.emit(loop.generation, StepDone(45, 0.5, 1e-3, 30.0, 8, 0, None))
    loop.event_received.emit(loop.generation, StateChanged(State.PAUSED, State.TRAINING))
    # on from the loaded model's training
    assert panel.checkpoint_label.text() == "Continues from this session's training (step 45)"
    assert not panel.checkpoint_file.isVisibleTo(panel)
    panel.set_loop(None)  # another segment: its own start
    assert (panel.checkpoint_label.text(), panel.checkpoint_file.whole) == (LOADED, "earlier.pt")
    assert panel.checkpoint_file.isVisibleTo(panel)


@pytest.mark.slow
def test_a_saved_model_is_written_by_the_engine_and_the_next_run_can_start_from_it(
    panel, segment_widget, qtbot, tmp_path, monkeypatch
):
    loop = segment_widget.loop
    loop.settings = EngineSettings(model=tiny_model(), train=tiny_training())
    panel.show_settings(loop.settings)
    panel.set_loop(loop)
    target = tmp_path / "mine"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    shown = len(notification_manager.records)

    panel.save_button.click()

    saved = target.with_suffix(".pt")
    qtbot.waitUntil(lambda: any("Saved the model" in m for m in messages(shown)), timeout=60_000)
    assert saved.is_file()
    assert str(saved) in messages(shown)[-1]
    assert panel.load_model(saved)
    updates = loop.prediction_updates
    loop.warm_up(panel.apply(loop.settings))  # a new engine process, set up from the checkpoint
    qtbot.waitUntil(lambda: loop.ready, timeout=60_000)
    assert loop.engine.settings.init == saved
    # trained weights show the view at once, with no training run
    qtbot.waitUntil(lambda: loop.prediction_updates > updates, timeout=60_000)
    y0, x0, y1, x1 = loop.region
    assert loop.region == loop.visible_region()
    assert (y1 - y0, x1 - x0) == loop.labels.segment.shape[1:]  # the whole view, not a corner
    assert not loop.state.running
    assert messages(shown) == [f"Ink Loop: Saved the model (step 0) to {saved}"]  # no Failed


def test_a_long_model_file_name_does_not_widen_the_dock(panel, tmp_path):
    """The name is elided on a line of its own, the whole path its tooltip: the panel, and
    so the dock, is no wider for it."""
    from qtpy.QtWidgets import QApplication

    panel.show()  # a hidden panel's layout does not follow its text
    widths = []
    for name in ("m.pt", "20231005123335_2-4_top_inkloop_model_of_a_long_afternoon.pt"):
        checkpoint = tmp_path / name
        write_torch_zip(checkpoint)
        assert panel.load_model(checkpoint)
        QApplication.processEvents()  # the layout requests it posted
        widths.append(panel.minimumSizeHint().width())
    assert widths[1] == widths[0]
    assert panel.checkpoint_file.whole == checkpoint.name
    assert panel.checkpoint_file.toolTip() == str(checkpoint)


def test_clear_says_where_the_segments_own_model_is_kept_at_the_next_save(
    open_in_dock, segment_folder, tmp_path
):
    """Clear (or another model) after a reopen: the fresh run's first save replaced the model
    trained on an earlier day without a word; the engine now keeps it, and the panel says
    so when the choice is made. It names no kept file (close1 F2): a run going on may save
    over the model before the next run's first save, which keeps it under that save's time."""
    from inkloop._napari._model_panel import KEPT
    from inkloop._napari._say import PREFIX
    from inkloop.io import checkpoint_path, open_segment
    from inkloop.io._sidefiles import kept_copy_path
    from tests._helpers import save_tiny_checkpoint

    own = save_tiny_checkpoint(checkpoint_path(open_segment(segment_folder)))
    _, widget = open_in_dock(segment_folder)
    panel = widget.model_panel
    assert panel.init == own  # continued: nothing to keep
    kept = PREFIX + KEPT.format(own=own.name, stem=own.stem, suffix=own.suffix)
    assert f"{own.stem}.saved-<date>-<time>.pt" in kept
    other = tmp_path / "other.pt"
    write_torch_zip(other)

    for choose, told in (
        (panel.clear_model, [kept]),
        (lambda: panel.load_model(own), []),  # back to it: it goes on in place
        (lambda: panel.load_model(other), [kept]),
    ):
        shown = len(notification_manager.records)
        choose()
        assert messages(shown) == told
        # no name worked out now: the next run's first save may find the model saved since
        assert not [said for said in messages(shown) if kept_copy_path(own).name in said]
