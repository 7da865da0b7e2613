"""The Segment panel: the open segment, its z-window and channels, the model-input preview."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from qtpy.QtWidgets import QFileDialog

from inkloop._napari._input_preview import INPUT_LAYER
from inkloop._napari._model_panel import ModelPanel
from inkloop._napari._segment_panel import NO_SEGMENT, SegmentPanel
from inkloop._napari._window_controls import FROM_CHECKPOINT
from inkloop._napari._windows import RESOLUTIONS, fit
from inkloop.compose import Composition
from inkloop.engine import CheckpointSaved, ModelBuilt
from inkloop.settings import EngineSettings
from tests._helpers import tiny_model, tiny_training
from tests._napari._fakes import write_torch_zip

AT_DEFAULT = f"{RESOLUTIONS[Composition.scale]} resolution"  # as the summary says


@pytest.fixture
def panel(qtbot):
    panel = SegmentPanel(lambda path: None)
    qtbot.addWidget(panel)
    return panel


@pytest.fixture
def mounted(panel, segment_widget):
    """The panel following the widget's 8-layer segment."""
    panel.set_loop(segment_widget.loop)
    return panel


def test_an_untouched_panel_keeps_the_default_composition(panel, segment_widget):
    window = panel.window
    assert panel.apply(EngineSettings()) == EngineSettings()
    assert panel.segment_label.text() == NO_SEGMENT
    assert not window.z_count.isEnabled()

    panel.set_loop(segment_widget.loop)

    assert panel.apply(EngineSettings()) == EngineSettings()
    assert "20231012184423: 8 layers of 64 x 96 uint16" in panel.segment_label.text()
    assert window.summary.text() == f"reads layers 2–5 of 8 (centred) · 4 channels at {AT_DEFAULT}"
    assert (window.z_start.value(), window.z_count.value()) == (2, 4)  # room for the z-jitter
    panel.set_loop(None)
    assert panel.segment_label.text() == NO_SEGMENT


def _open_choices(panel) -> dict:
    """Open segment…'s menu entries by their text."""
    return {action.text(): action for action in panel.open_button.menu().actions()}


def test_open_segment_asks_for_a_folder_and_hands_it_on(qtbot, monkeypatch, tmp_path):
    opened = []
    panel = SegmentPanel(opened.append)
    qtbot.addWidget(panel)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))

    _open_choices(panel)["Segment folder or zarr…"].trigger()

    assert opened == [str(tmp_path)]


def test_open_segment_opens_a_tiff_stack_in_the_dock(
    make_napari_viewer, monkeypatch, tmp_path, synthetic
):
    """napari's own reader takes a dropped .tif: Open segment… is the way to a stack."""
    import tifffile

    path, asked = tmp_path / "scroll.tif", []
    tifffile.imwrite(path, synthetic.volume)
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", lambda *a, **k: asked.append(a) or (str(path), "")
    )
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
    assert widget.segment_panel.segment_label.text() == NO_SEGMENT
    assert "Open segment… for TIFF stacks" in NO_SEGMENT  # not "drop a TIFF stack"

    _open_choices(widget.segment_panel)["Multi-page TIFF stack…"].trigger()
    widget.opens.wait()  # read off the GUI thread

    assert "*.tif *.tiff" in asked[0][-1]  # the dialog offers .tif files
    assert [layer.name for layer in viewer.layers] == ["scroll", "ink labels"]
    assert widget.labels.segment.name == "scroll"


def test_changed_controls_change_the_composition(mounted):
    mounted.window.mode.setCurrentText("diff")
    mounted.window.z_count.setValue(5)
    mounted.window.z_start.setValue(0)
    mounted.window.reverse.setChecked(True)

    expected = Composition("diff", z_start=0, z_count=5, reverse=True)
    assert mounted.apply(EngineSettings()) == EngineSettings(composition=expected)
    assert (
        mounted.window.summary.text()
        == f"reads layers 3–7 of 8 (reversed) · 4 channels at {AT_DEFAULT}"
    )


def test_the_resolution_the_model_sees_is_chosen_here(mounted):
    for scale, shown in ((1, "full"), (4, "quarter"), (2, "half")):
        mounted.window.scale.setCurrentIndex(mounted.window.scale.findData(scale))
        assert mounted.apply(EngineSettings()).composition.scale == scale
        assert mounted.window.summary.text().endswith(f"at {shown} resolution")


def test_centre_resets_the_start_and_shows_where_it_resolves(mounted):
    mounted.window.z_count.setValue(4)
    mounted.window.z_start.setValue(1)

    mounted.window.centre.click()

    assert mounted.composition.z_start is None
    assert mounted.window.z_start.value() == 2  # (8 - 4) // 2
    assert "(centred)" in mounted.window.summary.text()


def test_the_window_stays_inside_the_layers(mounted):
    assert (mounted.window.z_count.maximum(), mounted.window.mean_k.maximum()) == (8, 8)
    mounted.window.z_count.setValue(5)
    mounted.window.z_start.setValue(3)
    assert mounted.window.z_start.maximum() == 3

    mounted.window.z_count.setValue(7)  # the start moves back inside

    assert (mounted.composition.z_start, mounted.composition.z_count) == (1, 7)
    assert mounted.window.z_start.maximum() == 1


def test_means_keep_whole_groups_and_mean_k_applies_only_to_means(mounted):
    assert not mounted.window.mean_k.isEnabled()
    mounted.window.z_count.setValue(7)

    mounted.window.mode.setCurrentText("mean")

    assert mounted.window.mean_k.isEnabled()
    assert mounted.composition == Composition("mean", z_count=6, mean_k=3)  # 7 -> two groups
    assert mounted.window.z_count.singleStep() == 3
    mounted.window.mean_k.setValue(4)
    assert mounted.composition.z_count == 4  # 6 -> one group of 4
    assert mounted.window.summary.text().endswith(f"· 1 channels at {AT_DEFAULT}")


def test_a_deeper_window_shrinks_to_a_shallower_segment(panel, segment_widget):
    panel.composition = Composition(z_start=20, z_count=16)  # chosen on a 65-layer segment

    panel.set_loop(segment_widget.loop)

    assert panel.composition == Composition(z_start=0, z_count=8)
    assert fit(65, "mean", 40, 17, 3, False) == Composition("mean", 40, 15, 3)
    assert fit(4, "mean", None, 16, 5, True) == Composition("mean", None, 4, 4, True)


def test_a_loaded_model_greys_out_the_composition(mounted, qtbot, tmp_path):
    models = ModelPanel()
    qtbot.addWidget(models)
    models.checkpoint_changed.connect(mounted.show_model)
    checkpoint = tmp_path / "earlier.pt"
    write_torch_zip(checkpoint)
    tip = mounted.window.z_count.toolTip()

    models.load_model(checkpoint)

    assert not mounted.window.z_count.isEnabled()
    assert not mounted.window.mode.isEnabled()
    assert mounted.window.z_count.toolTip() == FROM_CHECKPOINT
    assert mounted.window.preview.isEnabled()  # the engine previews the checkpoint's composition
    models.clear_model()
    assert mounted.window.z_count.isEnabled()
    assert mounted.window.z_count.toolTip() == tip


def test_a_loaded_models_window_shows_once_built_and_first_layer_moves_it(mounted, tmp_path):
    loop, checkpoint = mounted.loop, tmp_path / "earlier.pt"
    mounted.show_model(checkpoint)
    assert mounted.window.z_start.isEnabled()
    assert not mounted.window.z_count.isEnabled()
    assert mounted.window.centre.text() == "As trained"
    assert mounted.window.summary.text() == "the model reads the layers it was trained on"
    assert mounted.apply(EngineSettings()).init_z_start is None

    loop.settings = dataclasses.replace(loop.settings, init=tmp_path / "another.pt")
    trained = Composition("raw", 3, 4)
    loop.changed.emit(ModelBuilt("resnet18", trained, 3))  # of another model: not shown
    assert mounted.window.summary.text() == "the model reads the layers it was trained on"
    loop.settings = dataclasses.replace(loop.settings, init=checkpoint)
    loop.changed.emit(ModelBuilt("resnet18", trained, 3))

    assert (mounted.window.z_start.value(), mounted.window.z_count.value()) == (3, 4)
    expected = f"the model reads layers 3–6 of 8 (as trained) · 4 channels at {AT_DEFAULT}"
    assert mounted.window.summary.text() == expected
    mounted.window.z_start.setValue(0)
    assert mounted.apply(EngineSettings()).init_z_start == 0
    assert mounted.window.summary.text().startswith("the model reads layers 0–3 of 8 (moved)")
    mounted.window.centre.click()
    assert mounted.apply(EngineSettings()).init_z_start is None
    assert mounted.window.z_start.value() == 3
    mounted.show_model(None)
    assert mounted.window.centre.text() == "Centre"
    assert mounted.apply(EngineSettings()).init_z_start is None


@pytest.mark.slow
def test_a_loaded_model_reads_where_it_was_trained_or_where_first_layer_moves_it(
    open_in_dock, segment_folder, qtbot, tmp_path, monkeypatch
):
    _, widget = open_in_dock(segment_folder)
    loop, panel, saved = widget.loop, widget.segment_panel, tmp_path / "earlier.pt"
    loop.settings = EngineSettings(model=tiny_model(), train=tiny_training())
    widget.model_panel.show_settings(loop.settings)
    events = []
    loop.changed.connect(events.append)
    loop.save_checkpoint(saved)
    qtbot.waitUntil(lambda: any(isinstance(e, CheckpointSaved) for e in events), timeout=60_000)
    monkeypatch.setattr(widget, "warm_engine", True)

    widget.model_panel.load_model(saved)  # the engine loads it at once

    qtbot.waitUntil(lambda: "(as trained)" in panel.window.summary.text(), timeout=60_000)
    assert panel.window.summary.text().startswith("the model reads layers 2–5 of 8 (as trained)")
    panel.window.z_start.setValue(0)
    loop.warm_up()  # the next run's settings: a new engine, its window moved

    def built() -> list[int]:
        return [e.composition.z_start for e in events if isinstance(e, ModelBuilt)]

    qtbot.waitUntil(lambda: built()[-1:] == [0], timeout=60_000)
    assert built() == [2, 2, 0]  # the fresh model, the loaded one as trained, then moved
    assert loop.engine.settings.init == saved
    assert panel.window.summary.text().startswith("the model reads layers 0–3 of 8 (moved)")


@pytest.mark.slow
def test_preview_input_shows_the_model_input_of_the_view(panel, segment_widget, qtbot):
    loop = segment_widget.loop
    loop.settings = EngineSettings(model=tiny_model(), train=tiny_training())
    loop.next_settings = lambda: panel.apply(loop.settings)
    panel.set_loop(loop)
    panel.window.mode.setCurrentText("raw+diff")
    panel.window.z_count.setValue(5)

    panel.window.preview.click()

    viewer = loop.viewer
    qtbot.waitUntil(lambda: INPUT_LAYER in viewer.layers, timeout=60_000)
    layer = viewer.layers[INPUT_LAYER]
    y0, x0, y1, x1 = loop.visible_region()
    assert layer.data.shape == (9, y1 - y0, x1 - x0)  # 5 layers + 4 differences
    # the window 1-5 of 8: the layers on their own, the differences above them
    assert tuple(layer.translate) == (1, y0, x0)
    assert layer.metadata["channels"][:6] == ["layer 1", "layer 2", "layer 3", "layer 4",
                                              "layer 5", "|L2-L1|"]  # fmt: skip
    assert viewer.layers.index(layer) < viewer.layers.index(segment_widget.labels.layer)
    assert loop.engine.settings.composition == Composition("raw+diff", None, 5)


@pytest.mark.parametrize(
    ("names", "step", "shown"),
    [
        # raw layers read back to front: each on its own layer, the lowest first
        (("layer 5", "layer 4", "layer 3", "layer 2"), 1, {2: "layer 2", 5: "layer 5"}),
        # means of two layers: each over both layers it averages
        (("mean 2-3", "mean 4-5"), 2, {2: "mean 2-3", 3: "mean 2-3", 4: "mean 4-5", 5: "mean 4-5"}),
        # differences of neighbouring layers: each on the lower of its two
        (("|L3-L2|", "|L4-L3|", "|L5-L4|"), 1, {2: "|L3-L2|", 4: "|L5-L4|"}),
    ],
)
def test_the_model_input_sits_on_the_stack_layers_it_comes_from(
    segment_widget, monkeypatch, names, step, shown
):
    from inkloop.engine import Composed

    loop, viewer = segment_widget.loop, segment_widget.viewer
    monkeypatch.setattr(loop, "compose_view", lambda: 3)  # the engine's answer is below
    segment_widget.segment_panel.window.preview.click()
    viewer.dims.set_point(0, 7)  # the stack's last layer: outside the window
    channels = np.stack([np.full((4, 6), index, np.float32) for index in range(len(names))])

    loop.changed.emit(Composed(3, (10, 20, 14, 26), channels, names))

    layer = viewer.layers[INPUT_LAYER]
    assert tuple(layer.scale) == (step, 1, 1)
    assert viewer.dims.point[0] == max(shown)  # the nearest layer with a channel: it shows
    for z, name in shown.items():
        index = round(layer.world_to_data((z, 10, 20))[0])
        assert layer.metadata["channels"][index] == name
        assert layer.data[index, 0, 0] == names.index(name)  # the channel named so
    assert tuple(layer.translate[1:]) == (10, 20)  # over the region it was read from
    assert layer.world_to_data((min(shown) - 1, 10, 20))[0] < -0.5  # no channel below it


def test_a_segment_url_opens_in_the_dock_and_its_labels_stay_here(
    make_napari_viewer, tmp_path, synthetic, monkeypatch, qtbot
):
    from qtpy.QtWidgets import QInputDialog

    from inkloop._napari._widget import InkLoopWidget
    from inkloop.io import local_folder
    from tests._http import LOGIN, serve, write_served_segment

    monkeypatch.setattr(InkLoopWidget, "warm_engine", False)  # no engine process needed here
    monkeypatch.setenv("INKLOOP_DATA", str(tmp_path / "cache"))
    volume = write_served_segment(tmp_path, "20240303000000", synthetic)
    with serve(tmp_path) as (base, _server):
        user, password = LOGIN
        url = f"{base}/private/20240303000000.zarr".replace("//", f"//{user}:{password}@", 1)
        viewer = make_napari_viewer()
        _, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
        monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: (url, True))

        widget.segment_panel.open_url_button.click()
        widget.opens.wait()  # read off the GUI thread

        qtbot.waitUntil(lambda: widget.labels is not None)
        assert widget.labels.segment.path == url
        assert widget.labels.segment.shape == volume.shape
        shown = widget.segment_panel.segment_label
        assert "20240303000000: 8 layers" in shown.text()
        assert password not in shown.full_text() + shown.toolTip()  # the login stays unsaid
        ink_path, _ = widget.labels.save().result()
    assert ink_path.parent == local_folder(url)
