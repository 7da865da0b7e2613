"""Check stack before any model has learnt: the profile and its suggested window, and that
the layer order needs a trained model, with no request the engine answers with an error."""

from __future__ import annotations

from inkloop._napari._guide_panel import UNTRAINED
from inkloop.engine import StepDone
from tests._napari._fakes import write_torch_zip
from tests._napari._gui import messages


def test_with_no_trained_or_loaded_model_the_profile_says_train_first(
    segment_widget, qtbot, monkeypatch, tmp_path
):
    guide, loop = segment_widget.guide_panel, segment_widget.loop
    asked = []
    monkeypatch.setattr(loop, "check_order", lambda: asked.append(1) or len(asked))
    shown = len(messages(0))

    guide.check_button.click()

    qtbot.waitUntil(lambda: guide.check_button.isEnabled())
    text = guide.check_result.text()
    assert "suggested z-window: layers" in text
    assert text.endswith(f". {UNTRAINED}")
    assert not asked  # no engine started for an answer known already
    assert messages(shown) == []  # no error

    write_torch_zip(tmp_path / "m.pt")
    for has_weights in (  # a model loaded, then one trained here: the engine is asked
        lambda: segment_widget.model_panel.load_model(tmp_path / "m.pt"),
        lambda: monkeypatch.setattr(loop.own_model, "trained_by", loop.generation),
    ):
        has_weights()
        guide.check_button.click()
        qtbot.waitUntil(lambda: "Reading the stack both ways" in guide.check_result.text())
        segment_widget.model_panel.clear_model()
    assert len(asked) == 2
    # an earlier engine trained (then another was switched to, or Clear began afresh): the
    # engine in use has nothing to read the order with
    monkeypatch.setattr(loop, "last_step", StepDone(3, 0.5, 1e-3, 9.0, 8, 0, None))
    monkeypatch.setattr(loop.own_model, "trained_by", loop.generation - 1)
    guide.check_button.click()
    qtbot.waitUntil(lambda: guide.check_result.text().endswith(f". {UNTRAINED}"))
    assert len(asked) == 2
