"""Names the user tells files apart by show at the dock's width (298 px on a laptop, where
the Model and Predict panels are 265 px wide): a model's segment id and ending, and the
whole-segment prediction's file name."""

from __future__ import annotations

import pytest
from qtpy.QtWidgets import QApplication

from inkloop._napari._model_panel import ModelPanel
from inkloop._napari._predict_panel import PredictPanel
from tests._napari._fakes import write_torch_zip

PANEL_WIDTH = 265  # the panels' width in the 298 px dock (1366x768, napari's font)
SEGMENT = "/home/researcher/scrolls/PHercParis4/segments/20231005123335"


def _shown(qtbot, panel):
    qtbot.addWidget(panel)
    panel.resize(PANEL_WIDTH, panel.sizeHint().height())
    panel.show()
    QApplication.processEvents()  # the layout requests it posted
    return panel


def test_models_of_other_segments_and_saved_copies_show_apart(qtbot, tmp_path):
    panel = _shown(qtbot, ModelPanel())
    assert panel.width() == PANEL_WIDTH  # the panel is no wider for its controls
    names = (
        "20231007101619_inkloop_model.pt",
        "20231005123336_inkloop_model.pt",
        "20231005123335_inkloop_model.saved-20231201-101500.pt",
        "20231005123335_inkloop_model.saved-20231202-091500.pt",
    )
    shown = []
    for name in names:
        write_torch_zip(tmp_path / name)
        assert panel.load_model(tmp_path / name)
        QApplication.processEvents()
        shown.append(panel.checkpoint_file.text())
        assert shown[-1].startswith(name.split("_")[0]), shown  # the segment id, whole
        assert shown[-1].endswith(name[-6:]), shown  # the ending
    assert len(set(shown)) == len(names), shown


@pytest.mark.parametrize("fmt", ["ome.zarr", "png"])
def test_the_prediction_file_name_shows_beside_choose(qtbot, fmt):
    panel = _shown(qtbot, PredictPanel())
    name = f"20231005123335_prediction.{fmt}"
    panel.path_label.set_path("Into", f"{SEGMENT}/{name}")
    QApplication.processEvents()
    lines = panel.path_label.text().splitlines()
    assert any(line.endswith(name[-len("35_prediction.") - len(fmt) :]) for line in lines), lines
    assert panel.path_label.toolTip() == f"{SEGMENT}/{name}"
    assert panel.width() == PANEL_WIDTH
