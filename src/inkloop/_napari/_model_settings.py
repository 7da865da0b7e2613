"""The Model panel's Advanced settings: the model and training choices of the next run."""

from __future__ import annotations

import dataclasses
import functools

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QCheckBox, QComboBox, QFormLayout, QSpinBox, QWidget

from inkloop._napari._controls import LogSpinBox, StepSpinBox, set_quietly, spin
from inkloop.settings import (
    CPU_BATCH,
    CUDA_BATCH,
    ENCODER_DEPTHS,
    LIGHT_ENCODERS,
    NO_AUGMENTATION,
    OUTPUT_STRIDES,
    Augmentations,
    EngineSettings,
    ModelConfig,
    TrainConfig,
    recipe_words,
)

ENCODERS = tuple(dict.fromkeys((ModelConfig().encoder, *LIGHT_ENCODERS)))
DEVICES = ("auto", "cpu", "cuda")
ENCODER_TIP = (
    "UNet encoder: any smp encoder name, or tu-<timm model>. auto: resnet18 on a GPU or a CPU "
    "with bf16, the lighter tu-resnet10t on other CPUs (it learns more per second there)"
)
DEPTH_TIP = (
    "Encoder stages the UNet uses, each halving the resolution: fewer make a cheaper step "
    "(more learning per second on a CPU), more see wider context"
)
OUTPUT_TIP = (
    "Model pixels (image pixels at full resolution) per side of each predicted value, "
    "upsampled bilinearly. 1: the whole UNet decoder, for detail finer than a stroke; 4: "
    "faster, and more learning per second on real CT"
)
FROM_CHECKPOINT = "The loaded model brings its own {}; clear it to choose here"


class ModelSettings(QWidget):
    """Encoder, depth, output stride, patch and batch size, learning rate, augmentation and
    device (see `apply`); a loaded model brings its own encoder, depth and stride, and its
    training recipe once the engine reads it (`take_recipe`)."""

    changed = Signal()  # a control changed by the user (not by `show_settings`)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("model_settings")
        self.recipe: TrainConfig | None = None  # a loaded model's, under the controls
        self.touched: set[str] = set()  # TrainConfig fields the user set since a model choice
        self._make_model_controls()
        self._make_training_controls()
        self._lay_out()
        self._connect()

    def apply(self, settings: EngineSettings) -> EngineSettings:
        """``settings`` with these model and training choices.

        ``model.in_channels`` stays: the trainer sets it from the resolved composition. A
        recipe taken (`take_recipe`) sets what no control shows (seed, weight decay, ...).
        """
        train = settings.train
        if self.recipe is not None:
            train = train.with_recipe_of(self.recipe)
        augment = train.augment
        if not self.augment.isChecked():
            augment = NO_AUGMENTATION
        elif augment == NO_AUGMENTATION:
            augment = Augmentations()
        train = dataclasses.replace(
            train,
            patch_size=self.patch_size.value(),
            batch_size=self.batch_size.value() or None,  # 0 shows "auto"
            lr=self.lr.value(),
            augment=augment,
            device=self.device.currentText(),
        )
        depth, stride = self.depth.currentData(), self.output_stride.currentData()
        model = dataclasses.replace(
            settings.model.with_depth(depth, stride), encoder=self.encoder.currentText().strip()
        )
        return dataclasses.replace(settings, model=model, train=train)

    def show_settings(self, settings: EngineSettings) -> None:
        """Show ``settings``' model and training choices in the controls (no recipe kept)."""
        self.recipe = None
        self.touched.clear()
        _set_text(self.encoder, settings.model.encoder)
        depth = settings.model.encoder_depth
        _set_text(self.depth, _depth_text(depth), depth)
        stride = settings.model.output_stride
        _set_text(self.output_stride, _stride_text(stride), stride)
        self._show_training(settings.train)

    def take_recipe(self, recipe: TrainConfig, settings: EngineSettings) -> str:
        """Have the next run take ``recipe``, a loaded model's, but for the controls the user
        set since the model was chosen: shown here, and applied to ``settings`` by `apply`
        (`TrainConfig.with_recipe_of`, as `inkloop train --init`). What it changed, in words."""
        before = self.apply(settings).train
        self.recipe = dataclasses.replace(
            recipe, **{name: getattr(before, name) for name in self.touched}
        )
        after = before.with_recipe_of(self.recipe)  # the device chosen stays
        self._show_training(after)
        return _changes(before, after)

    def forget_recipe(self) -> None:
        """Another model chosen (or a fresh one): no control set since; a recipe taken before
        leaves the plain one under the controls, not its seed, weight decay, ..."""
        self.recipe = None if self.recipe is None else TrainConfig()
        self.touched.clear()

    def _show_training(self, train: TrainConfig) -> None:
        for box, value in (
            (self.patch_size, train.patch_size),
            (self.batch_size, train.batch_size),
        ):
            if value and value > box.maximum():  # a recipe past the control's usual range
                set_quietly(box, "setMaximum", value)
        set_quietly(self.patch_size, "setValue", train.patch_size)
        set_quietly(self.batch_size, "setValue", train.batch_size or 0)
        set_quietly(self.lr, "setValue", train.lr)
        set_quietly(self.augment, "setChecked", train.augment != NO_AUGMENTATION)
        _set_text(self.device, train.device)

    def follow_loaded_model(self, loaded: bool) -> None:
        """A loaded model brings its own encoder, depth and stride: those grey out."""
        for control, tip, what in ((self.encoder, ENCODER_TIP, "encoder"),
                                   (self.depth, DEPTH_TIP, "depth"),
                                   (self.output_stride, OUTPUT_TIP, "output stride")):  # fmt: skip
            control.setEnabled(not loaded)
            control.setToolTip(FROM_CHECKPOINT.format(what) if loaded else tip)

    def _make_model_controls(self) -> None:
        self.encoder = QComboBox()
        self.encoder.setObjectName("encoder_combo")
        self.encoder.setEditable(True)
        self.encoder.addItems(ENCODERS)
        self.depth = QComboBox()
        self.depth.setObjectName("encoder_depth_combo")
        for depth in ENCODER_DEPTHS:
            self.depth.addItem(_depth_text(depth), depth)
        self.output_stride = QComboBox()
        self.output_stride.setObjectName("output_stride_combo")
        for stride in OUTPUT_STRIDES:
            self.output_stride.addItem(_stride_text(stride), stride)

    def _make_training_controls(self) -> None:
        self.patch_size = spin(StepSpinBox(), 32, 1024, "Training patch side (× 32)", "px")
        self.patch_size.setSingleStep(32)
        self.patch_size.setObjectName("patch_size_spin")
        self.batch_size = spin(
            QSpinBox(),
            0,
            512,
            f"Patches per step, halved on out-of-memory; auto: {CUDA_BATCH} on a CUDA GPU, "
            f"{CPU_BATCH} on the CPU",
        )
        self.batch_size.setSpecialValueText("auto")  # shown for 0, the minimum
        self.batch_size.setObjectName("batch_size_spin")
        self.lr = LogSpinBox(1e-6, 1.0)
        self.lr.setObjectName("learning_rate_spin")
        self.lr.setToolTip("AdamW learning rate (arrows step on a log scale)")
        self.augment = QCheckBox("On")
        self.augment.setObjectName("augment_checkbox")
        self.augment.setToolTip("Flips, rotations, intensity, blur, noise, dropout, z-jitter")
        self.device = QComboBox()
        self.device.setObjectName("device_combo")
        self.device.addItems(DEVICES)
        self.device.setToolTip("auto: a CUDA GPU if there is one, else Apple's MPS, else the CPU")

    def _lay_out(self) -> None:
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Encoder", self.encoder)
        form.addRow("Depth", self.depth)
        form.addRow("Output stride", self.output_stride)
        form.addRow("Patch size", self.patch_size)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Learning rate", self.lr)
        form.addRow("Augmentation", self.augment)
        form.addRow("Device", self.device)

    def _connect(self) -> None:
        for combo in (self.encoder, self.depth, self.output_stride, self.device):
            combo.currentTextChanged.connect(self.changed)
        for box in (self.patch_size, self.batch_size, self.lr):
            box.valueChanged.connect(self.changed)
        self.augment.toggled.connect(self.changed)
        for signal, name in ((self.patch_size.valueChanged, "patch_size"),
                             (self.batch_size.valueChanged, "batch_size"),
                             (self.lr.valueChanged, "lr"),
                             (self.augment.toggled, "augment")):  # fmt: skip
            signal.connect(functools.partial(self._touch, name))  # the device is no recipe's

    def _touch(self, name: str, _value=None) -> None:
        self.touched.add(name)


def _changes(before: TrainConfig, after: TrainConfig) -> str:
    """The recipe fields ``after`` sets otherwise than ``before`` (`recipe_changes`), as
    "patch size 96, lr 0.0003" ("" where none)."""
    old, new = before.recipe_changes(), after.recipe_changes()
    names = [*new, *(name for name in old if name not in new)]
    changed = [name for name in names if old.get(name, _UNSET) != new.get(name, _UNSET)]
    return recipe_words(
        {name: functools.reduce(getattr, name.split("."), after) for name in changed}
    )


_UNSET = object()


def _depth_text(depth: int) -> str:
    return f"{depth} stages"


def _stride_text(stride: int) -> str:
    return "every pixel" if stride == 1 else f"per {stride} × {stride} px"


def _set_text(combo: QComboBox, text: str, data=None) -> None:
    """Select ``text`` in ``combo``, adding it as an item (with ``data``) if it is not one: a
    setting made through the API that the panel does not offer."""
    if combo.findText(text) < 0:
        combo.addItem(text, data)
    set_quietly(combo, "setCurrentText", text)
