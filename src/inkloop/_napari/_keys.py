"""The keys of the "ink labels" layer: their table (KEYS, named in tooltips and the layer
controls), binding them, and the loop's own (`LoopKeys`). napari hands a layer's keys to the
selected layer alone: they act while "ink labels" is selected."""

from __future__ import annotations

import inspect

from app_model.types import KeyCode, KeyMod

from inkloop._napari._overlay import PREDICTION_LAYER
from inkloop._napari._say import say_info
from inkloop._napari._validation_region import run_holds_region

KEYS = (  # name, key, what it does (in words: napari reads <B> as bold)
    ("ink", "I", "ink"),
    ("no_ink", "N", "no ink"),
    ("erase", "E", "erase"),
    ("accept", "A", "accept the prediction"),
    ("smaller", "[ or -", "smaller"),
    ("larger", "] or =", "larger"),
    ("strength", "1…9, 0", "ink at strength 0.1…1.0"),
    ("paint", "B", "painting on/off"),
    ("pan", "hold Space", "to pan"),
    ("undo", "Ctrl+Z", "undo"),
    ("redo", "Ctrl+Shift+Z", "redo"),
    ("run", "T", "Finetune & preview, then pause/resume"),
    ("stop", "Shift+T", "Stop the run"),
    ("prediction", "O", "prediction shown/hidden"),
    ("label_ids", "M and X", "off (napari's label-id keys)"),
)
SHORTCUTS = {name: key for name, key, _ in KEYS}  # shown in the dock's tooltips
KEY_HINTS = ", ".join(f"{key} {what}" for _, key, what in KEYS)  # listed in the layer controls
REOPEN = "Plugins > Ink Loop"  # where the dock that paints is opened again
CLOSED_HELP = f"Ink Loop closed: reopen it ({REOPEN}) to paint these labels"  # once detached
# in napari's layer controls of "ink labels" in place of its integer-label tools, dock open or not
CONTROLS_HINT = (
    "Soft ink labels: paint them with the Ink Loop brush (dock, Labels; open it from "
    f"{REOPEN}), in the 2D view. Its keys while the dock is open (napari's shortcut list "
    f"shows its own meanings for them): {KEY_HINTS}"
)
# the strength keys: 1 -> 0.1 ... 9 -> 0.9, 0 -> 1.0 (napari's mode keys 1-7 change nothing
# on this layer: it is not editable, so napari keeps it in pan_zoom)
STRENGTH_KEYS = {getattr(KeyCode, f"Digit{tenths % 10}"): tenths / 10 for tenths in range(1, 11)}
NO_PREDICTION = f'no "{PREDICTION_LAYER}" to show yet: Finetune & preview ({SHORTCUTS["run"]})'
NOTHING_TO_STOP = f"no run to stop ({SHORTCUTS['stop']}): Stop acts while a run trains or is paused"


def bind_keys(layer, actions: dict) -> None:
    """Bind ``actions`` {key: function of nothing} on ``layer``, over napari's own."""
    for key, action in actions.items():
        layer.bind_key(key, _layer_action(action), overwrite=True)


def unbind_keys(layer, keys) -> None:
    for key in keys:
        layer.bind_key(key, None)


class LoopKeys:
    """The loop's keys on the labels layer of the dock's `LoopSession`: T presses the run
    bar's button that acts now (Finetune & preview, else Pause/Resume), Shift+T its Stop,
    O shows or hides the "ink prediction" layer."""

    def __init__(self, loop_panel) -> None:
        self.loop_panel = loop_panel
        self.loop = None

    def set_loop(self, loop) -> None:
        """Move the keys to ``loop``'s labels layer (None: unbind them)."""
        if self.loop is not None:
            unbind_keys(self.loop.labels.layer, self._actions())
        self.loop = loop
        if loop is not None:
            bind_keys(loop.labels.layer, self._actions())

    def _actions(self) -> dict:
        return {
            KeyCode.KeyT: self.run,
            KeyMod.Shift | KeyCode.KeyT: self.stop,
            KeyCode.KeyO: self.toggle_prediction,
        }

    def run(self) -> None:
        """As a click on Finetune & preview, or on Pause/Resume while a run goes on. While a
        run starts or stops neither acts, as the status says."""
        panel = self.loop_panel
        for control in (panel.finetune_button, panel.pause_button):
            if control.isEnabled():
                control.click()
                return
        if not run_holds_region(self.loop):  # idle, and yet no Finetune: its tooltip says why
            say_info(panel.finetune_button.toolTip())

    def stop(self) -> None:
        """As a click on Stop. While a run starts or stops it cannot, as the status says."""
        if self.loop_panel.stop_button.isEnabled():
            self.loop_panel.stop_button.click()
        elif not run_holds_region(self.loop):
            say_info(NOTHING_TO_STOP)

    def toggle_prediction(self) -> None:
        layers = self.loop.viewer.layers
        if PREDICTION_LAYER not in layers:
            say_info(NO_PREDICTION)
            return
        layer = layers[PREDICTION_LAYER]
        layer.visible = not layer.visible


def _layer_action(action):
    """napari calls layer key bindings with the layer; ours don't need it. A generator
    function stays one, so napari calls it again when the key is released."""
    if inspect.isgeneratorfunction(action):

        def held(layer):
            yield from action()

        return held
    return lambda layer: action()
