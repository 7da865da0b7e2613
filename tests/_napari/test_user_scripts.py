"""The engine child imports inkloop and nothing of the user's: napari scripts written the way
most people write them (no main guard; ``napari.run()`` at top level; fed to a REPL) train
and preview. Before the fix, spawn re-ran such a script in the child: a second viewer, torch
after it, a segfault (docs/architecture §3); or a child blocked in ``napari.run()``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SETUP = """
import json, sys
import napari
from qtpy.QtCore import QTimer
from inkloop._napari._widget import InkLoopWidget
from inkloop.settings import EngineSettings
from inkloop.settings import ModelConfig
from inkloop.settings import TrainConfig

segment, out = sys.argv[1], sys.argv[2]
InkLoopWidget.warm_engine = False
viewer = napari.Viewer()
_, widget = viewer.window.add_plugin_dock_widget("napari-inkloop", "Ink Loop")
widget.open_segment(segment, wait=True)
widget.loop.settings = EngineSettings(
    model=ModelConfig(encoder="tu-test_resnet", decoder_channels=(16, 8, 8)),
    train=TrainConfig(patch_size=32, batch_size=4, warmup_steps=2, device="cpu"),
)
widget.model_panel.show_settings(widget.loop.settings)
widget.loop_panel.finetune_button.click()
loop = widget.loop

def finished():
    return (loop.losses.count >= 2 and loop.prediction_updates >= 1) or loop.state.name == "FAILED"

def report():
    with open(out, "w") as file:
        json.dump({"steps": loop.losses.count, "updates": loop.prediction_updates,
                   "state": loop.state.name}, file)
"""

# no main guard; the event loop runs until the loop has trained and previewed
WITHOUT_GUARD = (
    SETUP
    + """
from qtpy.QtCore import QEventLoop
waiting = QEventLoop()
poll = QTimer()
poll.timeout.connect(lambda: finished() and waiting.quit())
poll.start(20)
waiting.exec()
report()
viewer.close()
"""
)

# the whole script is napari.run() at top level; a timer ends it
NAPARI_RUN = (
    SETUP
    + """
def check():
    if finished():
        poll.stop()
        report()
        viewer.close()

poll = QTimer()
poll.timeout.connect(check)
poll.start(20)
napari.run()
"""
)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "source"),
    [("script", WITHOUT_GUARD), ("napari.run", NAPARI_RUN), ("stdin", WITHOUT_GUARD)],
)
def test_a_user_script_trains_and_previews(kind, source, segment_folder, tmp_path, qapp):
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display (pytest-xvfb provides one)")
    script, out = tmp_path / "my_napari_script.py", tmp_path / "result.json"
    script.write_text(textwrap.dedent(source))
    arguments = [str(segment_folder), str(out)]
    if kind == "stdin":  # like a REPL or notebook: __main__ has no script file to re-run
        command = [sys.executable, "-", *arguments]
        run = subprocess.run(command, input=script.read_text(), text=True, timeout=300)
    else:
        run = subprocess.run([sys.executable, str(script), *arguments], timeout=300)

    assert run.returncode == 0
    result = json.loads(out.read_text())
    assert result["state"] == "TRAINING"
    assert result["steps"] >= 2
    assert result["updates"] >= 1
