"""The soft labels of one open segment: painting, autosave, saving and loading files."""

from __future__ import annotations

import weakref
from concurrent.futures import Future
from pathlib import Path

from inkloop._napari._autosave import Autosaver
from inkloop._napari._labels import LOAD_PREDICTION_ACTION
from inkloop._napari._painter import InkPainter
from inkloop.brush import decode_labels, encode_labels
from inkloop.io import label_paths, load_labels, probability_map_message

_PAINTING: weakref.WeakSet[LabelSession] = weakref.WeakSet()  # the sessions painting now


def _painting(labels_file: Path) -> list[LabelSession]:
    """The sessions painting the segment whose label file is ``labels_file`` (any spelling)."""
    labels_file = labels_file.resolve()
    return [s for s in _PAINTING if label_paths(s.segment)[0].resolve() == labels_file]


def flush_labels_of(segment) -> bool:
    """Finish writing the labels painted on ``segment`` (a Save under way, strokes not
    autosaved yet), so that opened again it starts from all of them, as the newest label
    files (the reader calls this); whether it is being painted."""
    sessions = _painting(label_paths(segment)[0])  # whatever path it was opened by
    for session in sessions:
        session.autosaver.flush()
    return bool(sessions)


def session_of_layer_data(data, labels_file: Path) -> LabelSession | None:
    """The session painting ``data`` (a layer's codes) whose own label file is
    ``labels_file``: saving there is its Save."""
    return next((s for s in _painting(labels_file) if s.layer.data is data), None)


class LabelSession:
    """Paints ``layer`` (the segment's "ink labels") and keeps its files up to date."""

    def __init__(self, layer, segment, autosave_s: float = 10.0) -> None:
        self.layer, self.segment = layer, segment
        self.painter = InkPainter(layer)
        self.autosaver = Autosaver(segment, self.painter, autosave_s)
        _PAINTING.add(self)

    def labels(self):
        """Ink (uint8) and supervision (bool) as they are now (decoded copies)."""
        return decode_labels(self.painter.canvas.codes)

    def save(self) -> Future:
        """Write ``<id>_inklabels.png`` and ``<id>_supervision_mask.png`` beside the segment,
        off the GUI thread (seconds for a whole segment); the Future's result is their paths."""
        return self.autosaver.save()

    def load(self, ink_path: str | Path) -> str:
        """Replace the labels by an ink label file (and its supervision mask, if beside it).

        A file of the wrong size, an unreadable one or a probability map raises with one
        clear message and the labels stay as they were. Returns where the supervision came
        from.
        """
        ink, supervised, sources = load_labels(self.segment, Path(ink_path))
        problem = probability_map_message(ink, supervised, sources["labels_file"])
        if problem:
            raise ValueError(f"{problem}; {LOAD_PREDICTION_ACTION} turns one into labels")
        self.painter.replace(encode_labels(ink, supervised))
        return sources["supervision_file"]

    def close(self) -> None:
        """Write any unsaved changes to the autosave files and stop painting."""
        _PAINTING.discard(self)
        self.autosaver.close()
        self.painter.detach()
