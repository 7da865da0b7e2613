"""The "Model" section of the dock: save/load checkpoints, advanced model and training settings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from inkloop._napari._controls import LogSpinBox, StepSpinBox, button, set_quietly, spin
from inkloop.engine import CheckpointSaved, RunStarted, State, StateChanged
from inkloop.io import check_writable
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
)

ENCODERS = tuple(dict.fromkeys((ModelConfig().encoder, *LIGHT_ENCODERS)))
DEVICES = ("auto", "cpu", "cuda")
MODEL_FILES = "inkloop model (*.pt)"
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


class ModelPanel(QGroupBox):
    """Model checkpoints and the model/training settings of the next run (see `apply`)."""

    #: the checkpoint the next run continues from (a Path), or None for a fresh model; also
    #: when the same one is chosen again (its weights, not those trained since, come next)
    checkpoint_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Model", parent)
        self.loop = None
        self.init: Path | None = None
        self._saving: set[Path] = set()  # paths asked for whose CheckpointSaved is due
        self.save_button = button("Save model…", "save_model_button", "Write the current model")
        self.load_button = button(
            "Load model…", "load_model_button", "Continue from a saved model in the next run"
        )
        self.checkpoint_label = QLabel()
        self.checkpoint_label.setObjectName("checkpoint_label")
        self.checkpoint_label.setWordWrap(True)
        self.clear_button = button(
            "Clear", "clear_model_button", "Back to a fresh model: the next run starts anew"
        )
        self.in_use_label = QLabel()
        self.in_use_label.setObjectName("in_use_label")
        self.in_use_label.setWordWrap(True)
        self.in_use_label.setToolTip("What the engine trains: the encoder an auto setting chose")
        self.advanced = QToolButton()
        self.advanced.setObjectName("advanced_button")
        self.advanced.setText("Advanced")
        self.advanced.setCheckable(True)
        self.advanced.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.body = QWidget()
        self.body.setObjectName("model_settings")
        self._make_settings()
        self._lay_out()
        self._connect()
        self.show_settings(EngineSettings())
        self._show_advanced(False)
        self.set_loop(None)

    def set_loop(self, loop) -> None:
        """Save through ``loop`` (a LoopSession); None: saving is disabled."""
        if self.loop is not None:
            self.loop.changed.disconnect(self._show_event)
        self.loop = loop
        self._saving.clear()
        self.in_use_label.hide()
        if loop is not None:
            loop.changed.connect(self._show_event)
        self.save_button.setEnabled(loop is not None)

    def apply(self, settings: EngineSettings) -> EngineSettings:
        """``settings`` with this panel's model, training and checkpoint choices.

        ``model.in_channels`` stays: the trainer sets it from the resolved composition.
        """
        augment = settings.train.augment
        if not self.augment.isChecked():
            augment = NO_AUGMENTATION
        elif augment == NO_AUGMENTATION:
            augment = Augmentations()
        train = dataclasses.replace(
            settings.train,
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
        return dataclasses.replace(settings, model=model, train=train, init=self.init)

    def show_settings(self, settings: EngineSettings) -> None:
        """Show ``settings``' model, training and checkpoint choices in the controls."""
        train = settings.train
        _set_text(self.encoder, settings.model.encoder)
        depth = settings.model.encoder_depth
        _set_text(self.depth, _depth_text(depth), depth)
        stride = settings.model.output_stride
        _set_text(self.output_stride, _stride_text(stride), stride)
        set_quietly(self.patch_size, "setValue", train.patch_size)
        set_quietly(self.batch_size, "setValue", train.batch_size or 0)
        set_quietly(self.lr, "setValue", train.lr)
        set_quietly(self.augment, "setChecked", train.augment != NO_AUGMENTATION)
        _set_text(self.device, train.device)
        self._set_init(settings.init)

    def load_model(self, path: str | Path) -> bool:
        """Let the next run continue from the checkpoint at ``path``; False if there is none."""
        path = Path(path).expanduser()
        if not path.is_file():
            show_error(f"No model loaded: {path} is not a file")
            return False
        self._set_init(path, chosen=True)
        return True

    def clear_model(self) -> None:
        """Go back to a fresh model with this panel's settings, also after training one."""
        self._set_init(None, chosen=True)

    def save_model(self, path: str | Path) -> bool:
        """Have the engine write the current model to ``path`` (``.pt`` added if missing)."""
        path = Path(path).expanduser()
        path = path if path.suffix else path.with_suffix(".pt")
        try:
            check_writable(path)
        except ValueError as error:
            show_error(f"Model not saved: {error}")
            return False
        self._saving.add(path.resolve())
        self.loop.save_checkpoint(path)
        return True

    def _make_settings(self) -> None:
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
        self.augment = QCheckBox("on")
        self.augment.setObjectName("augment_checkbox")
        self.augment.setToolTip("Flips, rotations, intensity, blur, noise, dropout, z-jitter")
        self.device = QComboBox()
        self.device.setObjectName("device_combo")
        self.device.addItems(DEVICES)
        self.device.setToolTip("auto: a CUDA GPU if there is one, else the CPU")

    def _lay_out(self) -> None:
        layout = QVBoxLayout(self)
        for widgets in ((self.save_button, self.load_button),
                        (self.checkpoint_label, self.clear_button)):  # fmt: skip
            row = QHBoxLayout()
            for widget in widgets:
                row.addWidget(widget)
            layout.addLayout(row)
        layout.addWidget(self.in_use_label)
        layout.addWidget(self.advanced)
        form = QFormLayout(self.body)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Encoder", self.encoder)
        form.addRow("Depth", self.depth)
        form.addRow("Output", self.output_stride)
        form.addRow("Patch size", self.patch_size)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Learning rate", self.lr)
        form.addRow("Augmentation", self.augment)
        form.addRow("Device", self.device)
        layout.addWidget(self.body)

    def _connect(self) -> None:
        self.advanced.toggled.connect(self._show_advanced)
        self.save_button.clicked.connect(self._choose_save)
        self.load_button.clicked.connect(self._choose_load)
        self.clear_button.clicked.connect(self.clear_model)

    def _show_advanced(self, shown: bool) -> None:
        self.body.setVisible(shown)
        arrow = Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        self.advanced.setArrowType(arrow)
        set_quietly(self.advanced, "setChecked", shown)

    def _set_init(self, path: Path | None, chosen: bool = False) -> None:
        changed = chosen or path != self.init
        self.init = path
        text = f"Continues from {path.name}" if path else "A fresh model (settings below)"
        self.checkpoint_label.setText(text)
        self.checkpoint_label.setToolTip(str(path or ""))
        for control, tip, what in ((self.encoder, ENCODER_TIP, "encoder"),
                                   (self.depth, DEPTH_TIP, "depth"),
                                   (self.output_stride, OUTPUT_TIP, "output stride")):  # fmt: skip
            control.setEnabled(path is None)
            control.setToolTip(FROM_CHECKPOINT.format(what) if path else tip)
        if changed:
            self.checkpoint_changed.emit(path)

    def _choose_save(self) -> None:
        start = str(self.loop.settings.autosave or "")
        path, _ = QFileDialog.getSaveFileName(self, "Save model", start, MODEL_FILES)
        if path:
            self.save_model(path)

    def _choose_load(self) -> None:
        autosave = self.loop.settings.autosave if self.loop else None
        start = str(autosave.parent) if autosave else ""
        path, _ = QFileDialog.getOpenFileName(self, "Load model", start, MODEL_FILES)
        if path:
            self.load_model(path)

    def _show_event(self, event) -> None:
        if isinstance(event, RunStarted):
            text = (
                f"In use: {event.encoder} on {event.device}, {event.precision}, "
                f"batches of {event.batch_size}"
            )
            if event.loader != RunStarted.loader:  # worker processes, on a GPU host
                text += f" from {event.loader}"
            self.in_use_label.setText(text)
            self.in_use_label.show()
        elif isinstance(event, StateChanged) and event.state is State.IDLE:
            self.in_use_label.hide()  # a new engine: its model is built at the next start
        elif isinstance(event, CheckpointSaved) and Path(event.path).resolve() in self._saving:
            self._saving.discard(Path(event.path).resolve())
            show_info(f"Saved the model (step {event.step}) to {event.path}")


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
