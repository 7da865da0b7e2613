"""The "Predict whole segment" section of the dock: the whole segment into a file and a layer.

The prediction runs in the engine process (`EngineProcess.predict_segment`) with the current
weights; its progress shows as a napari progress bar, and the file it writes opens as the
layer "<id> prediction". Events arrive through `LoopSession.changed`, on the GUI thread.
"""

from __future__ import annotations

from pathlib import Path

from napari.utils import progress
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
)

from inkloop._napari._controls import PathLabel
from inkloop._napari._overlay import PREDICTION_LAYER
from inkloop._napari._prediction_files import keep_earlier, offer_prediction, put_back
from inkloop._napari._prediction_layer import layer_name, let_go_of, show_prediction_file
from inkloop._napari._say import say_error, say_info
from inkloop._overwrite import refuse_folder
from inkloop.engine import Failed, Notice, SegmentPredicted, SegmentProgress
from inkloop.io import (
    PREDICTION_FORMATS,
    prediction_kind,
    prediction_output,
    prediction_path,
    with_prediction_format,
)
from inkloop.io._prediction_metadata import foreign_file
from inkloop.io._sidefiles import kept_copy_path
from inkloop.predict._placing import kept_name

REPLACE, CHOOSE_ANOTHER = "Replace", "Choose another file…"  # when inkloop did not write it
FILE_FILTER = "Predictions (*.ome.zarr *.png *.tif *.tiff *.zarr)"
FORMAT_TIPS = {  # PREDICTION_FORMATS' keys
    "ome.zarr": "A pyramid of 8-bit levels: opens at once and pans smoothly at any zoom, "
    "however large the segment",
    "png": "One 8-bit greyscale image, as predictions are often shared; slow to open when large",
    "tif": "One 8-bit BigTIFF in compressed tiles, for tools that read TIFF",
    "zarr": "The probabilities as float32 0-1, not rounded to 8 bits",
}


class PredictPanel(QGroupBox):
    """Predicts the whole segment of a `LoopSession` (bound with `set_loop`) into
    ``<id>_prediction.<format>`` beside its labels, or a file chosen with *Choose…* (a
    segment in a read-only folder needs one), then shows it as a layer."""

    def __init__(self, parent=None) -> None:
        super().__init__("Predict whole segment", parent)
        self.loop = None
        self.request: int | None = None  # the prediction under way
        self._generation: int | None = None  # its engine process (LoopSession.generation)
        self._bar: progress | None = None
        self._set_aside: Path | None = None  # the file whose layer a prediction into it removed
        self._kept: Path | None = None  # where the new one goes if it cannot replace that file
        self._earlier: tuple[Path, Path] | None = None  # (kept copy, its file) of inkloop's
        self.predict_button = QPushButton("Predict whole segment")
        self.predict_button.setObjectName("predict_segment_button")
        self.predict_button.setToolTip(
            "Predict the whole segment with the current weights into the file below "
            "(during training it starts once training is paused or stopped)"
        )
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel_segment_button")
        self.cancel_button.setToolTip("Stop the whole-segment prediction; no file is left")
        self.format = QComboBox()
        self.format.setObjectName("prediction_format")
        for index, (fmt, shown) in enumerate(PREDICTION_FORMATS.items()):
            self.format.addItem(shown, fmt)
            self.format.setItemData(index, FORMAT_TIPS.get(fmt, ""), Qt.ItemDataRole.ToolTipRole)
        self.format.setToolTip(
            "The prediction's file: an OME-Zarr pyramid (fast to view however large), a PNG, "
            "a tiled TIFF, or a float zarr (unrounded probabilities)"
        )
        self.tta = QCheckBox("TTA")
        self.tta.setObjectName("prediction_tta")
        self.tta.setToolTip("Test-time augmentation: average 8 flips/rotations (8x slower)")
        self.choose_button = QPushButton("Choose…")
        self.choose_button.setObjectName("prediction_choose")
        self.choose_button.setToolTip("Choose the file the prediction goes into")
        # Choose… beside "Into": the file's name and folder below take the dock's width
        self.path_label = PathLabel("prediction_path", name_first=True, beside=self.choose_button)
        self._chosen: Path | None = None  # a file chosen for this segment, else the default
        self._lay_out()
        self.predict_button.clicked.connect(self.predict)
        self.cancel_button.clicked.connect(self.cancel)
        self.choose_button.clicked.connect(self.choose)
        self.format.currentTextChanged.connect(self._show_path)
        self.set_loop(None)

    def set_loop(self, loop) -> None:
        """Predict ``loop``'s segment from now on (None: nothing to predict)."""
        if self.loop is not None:
            self.loop.changed.disconnect(self._show_event)
        self._set_aside = None  # the segment left: its layers are not added again
        self._end()
        self.loop, self._chosen = loop, None
        if loop is not None:
            loop.changed.connect(self._show_event)
            offer_prediction(loop)
        self._show_path()
        self._show_running()

    def output_path(self) -> Path | None:
        """Where the prediction goes with the chosen format (None without a segment)."""
        if self.loop is None:
            return None
        if self._chosen is not None:
            return with_prediction_format(self._chosen, self.format.currentData())
        return prediction_path(self.loop.labels.segment, self.format.currentData())

    def choose(self) -> bool:
        """Ask for the file to predict into; its ending, if it names one, sets the format.
        Whether one was chosen."""
        path, _ = QFileDialog.getSaveFileName(
            self, "Predict the whole segment into", str(self.output_path() or ""), FILE_FILTER
        )
        if not path:
            return False
        self._chosen = Path(path)
        kind = prediction_kind(path)
        if kind is not None:
            self.format.setCurrentIndex(self.format.findData(kind))
        self._show_path()
        return True

    def predict(self) -> None:
        """Start predicting the whole segment (the engine process starts if need be). A file
        there that inkloop did not write is replaced only once the user said so; a folder
        that is no prediction (a CT volume.zarr) never, and is never moved aside."""
        out = self.output_path()
        try:
            prediction_output(out)  # before starting an engine process for nothing
            refuse_folder(out)  # as the engine would, before keep_earlier moves it
            if not self.loop.engine_there():  # still connecting (said), or could not start
                return  # before a file or layer is touched
            replace = foreign_file(out)
            if replace:
                answer = self._ask_replace(out)
                if answer == CHOOSE_ANOTHER and self.choose():
                    self.predict()  # into the file chosen
                if answer != REPLACE:
                    return
            self._start(out, replace)
        except (ValueError, RuntimeError, OSError) as error:  # the output cannot be written
            say_error(str(error))
            return
        self._bar = progress(total=0, desc=f"Predicting {self.loop.labels.segment.name}")
        self._show_running()

    def _start(self, out: Path, replace: bool) -> None:
        """Ask the engine to predict into ``out``. A layer that holds ``out`` open is removed
        first, so that its file handle is gone before the engine moves the new file over it
        (on Windows that move fails while the file is open); `_end` shows it again if no new
        file comes."""
        self._set_aside = out if let_go_of(self.loop, out) else None
        self._kept = kept_name(out)  # free now: a file there at the end is this prediction
        try:
            if kept := keep_earlier(self.loop, out):  # nothing lost, as models are kept
                self._earlier = kept, out
            request = self.loop.predict_segment(out, tta=self.tta.isChecked(), replace=replace)
        except BaseException:
            self._put_back_earlier()
            self._show_set_aside()
            raise
        self.request, self._generation = request, self.loop.generation

    def _put_back_earlier(self) -> None:
        """The earlier prediction `keep_earlier` kept, back under its name: no new one came."""
        if self._earlier is not None:
            put_back(self.loop, *self._earlier)
            self._earlier = None

    def _show_set_aside(self) -> None:
        """The layer `let_go_of` removed for the prediction, again: no new file came. Not
        where the new one was kept beside the old one (NotReplacedError): the error tells the
        user to close and delete that file, so its layer stays closed."""
        path, self._set_aside = self._set_aside, None
        if path is None:
            return
        if self._kept is not None and self._kept.exists():
            say_info(
                f'the layer "{layer_name(self.loop)}" that showed {path.name} was closed, so '
                f"that it can be deleted; the new prediction is {self._kept.name}"
            )
        elif path.exists():
            show_prediction_file(self.loop, path)

    def _ask_replace(self, out: Path) -> str | None:
        """Ask whether to replace ``out``, a file inkloop did not record writing (the Grand
        Prize model's ``<id>_prediction.png``, say; `keep_earlier` keeps it): REPLACE,
        CHOOSE_ANOTHER or None (Cancel)."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Replace a file inkloop did not record writing?",
            f"{out.name} exists in {out.parent}, and inkloop did not record writing it "
            "(another tool's prediction, or one from inkloop before 2026-12-05): Replace "
            f"keeps it beside the new one as {kept_copy_path(out).name}.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        replace = box.addButton(REPLACE, QMessageBox.ButtonRole.DestructiveRole)
        choose = box.addButton(CHOOSE_ANOTHER, QMessageBox.ButtonRole.ActionRole)
        box.setDefaultButton(choose)
        box.exec()
        box.deleteLater()  # each question made a box: none stays behind, hidden
        return {replace: REPLACE, choose: CHOOSE_ANOTHER}.get(box.clickedButton())

    def cancel(self) -> None:
        """Cancel the prediction under way (the engine answers with a Notice)."""
        if self.request is not None and self._generation == self.loop.generation:
            self.loop.cancel(self.request)

    def _lay_out(self) -> None:
        layout = QVBoxLayout(self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.predict_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        options = QFormLayout()  # a row each: side by side they would widen the dock
        options.addRow("Format", self.format)
        options.addRow(self.tta)
        layout.addLayout(options)
        layout.addWidget(self.path_label)

    def _show_event(self, event) -> None:
        if self.request is None:
            return
        if self.loop.generation != self._generation or self.loop.lost_engine(event):
            self._end()  # the engine process was replaced or died, and the prediction with it
        elif getattr(event, "request", None) != self.request:
            return
        elif isinstance(event, SegmentProgress):
            self._bar.total = event.total
            self._bar.update(event.done - self._bar.n)
        elif isinstance(event, SegmentPredicted):
            path = Path(event.path)
            here = path.exists()  # else an engine server wrote it on its own disk
            kept = None
            if here:  # the new file takes the place of the layer and the earlier file
                self._set_aside, kept, self._earlier = None, self._earlier, None
            self._end()
            if not here:
                say_info(f"whole-segment prediction written on the server: {event.path}")
                return
            hidden = self._open(path)
            hidden += f"; the earlier one is kept as {kept[0].name}" if kept else ""
            say_info(f"whole-segment prediction written to {event.path}{hidden}")
        elif isinstance(event, (Failed, Notice)):  # failed or cancelled: the loop shows why
            self._end()

    def _open(self, path: Path) -> str:
        """Show the prediction file as "<id> prediction" under the labels, like the preview
        (an OME-Zarr as its pyramid, which shows at once however large the segment), and hide
        the live preview: two additive maps over each other would add up to brighter ink.
        What to add to the message about it."""
        show_prediction_file(self.loop, path)
        layers = self.loop.viewer.layers
        if PREDICTION_LAYER not in layers or not layers[PREDICTION_LAYER].visible:
            return ""
        layers[PREDICTION_LAYER].visible = False
        return f'; the live "{PREDICTION_LAYER}" layer is hidden (its eye shows it again)'

    def _end(self) -> None:
        """The prediction under way ended: the buttons again, and a layer set aside for it
        back where it wrote no file."""
        if self._bar is not None:
            self._bar.close()
        self.request = self._generation = self._bar = None
        self._put_back_earlier()
        self._show_set_aside()
        self._show_running()

    def _show_running(self) -> None:
        idle = self.request is None
        self.predict_button.setEnabled(idle and self.loop is not None)
        self.cancel_button.setEnabled(not idle)
        self.format.setEnabled(idle)
        self.tta.setEnabled(idle)
        self.choose_button.setEnabled(idle and self.loop is not None)

    def _show_path(self) -> None:
        path = self.output_path()
        self.path_label.set_path("Into" if path else "Open a segment to predict it.", path)
