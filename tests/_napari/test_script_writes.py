"""Labels a script writes straight into the "ink labels" layer's data (napari's console:
``layer.data[...] = 1; layer.refresh()``), with no stroke to report them: Save labels, the
writer's save to the segment's own files and the last write at close keep them."""

from __future__ import annotations

import numpy as np
from PIL import Image

from inkloop.io import label_paths
from tests._napari._fakes import ink_stroke

BLOCK = np.s_[10:40, 10:60]


def _supervised(path) -> np.ndarray:
    return np.asarray(Image.open(path)) == 255


def _console_write(layer) -> None:
    layer.data[BLOCK] = 1  # "no ink"
    layer.refresh()


def test_save_labels_and_the_last_write_keep_labels_a_script_wrote(painting):
    viewer, widget = painting
    labels = widget.labels
    ink_stroke(labels.painter, 150, 150)
    _console_write(labels.layer)
    labels.save().result(timeout=10)
    assert _supervised(label_paths(labels.segment)[1])[BLOCK].all()

    ink_stroke(labels.painter, 100, 200)
    labels.autosaver.save_if_changed().result(timeout=10)
    autosaved = label_paths(labels.segment, autosave=True)[1]
    assert _supervised(autosaved)[BLOCK].all()  # the mirror kept them after the Save

    labels.layer.data[60:70, 10:60] = 1  # after the last write, then the viewer closes
    viewer.close()
    assert _supervised(autosaved)[60:70, 10:60].all()


def test_the_last_write_keeps_a_script_write_after_the_last_save(painting):
    _, widget = painting
    labels = widget.labels
    ink_stroke(labels.painter, 150, 150)
    labels.save().result(timeout=10)
    _console_write(labels.layer)  # nothing dirty: no stroke since the Save
    widget.close()
    autosaved = label_paths(labels.segment, autosave=True)[1]
    assert _supervised(autosaved)[BLOCK].all()


def test_the_writer_saving_the_segments_own_file_keeps_a_script_write(painting):
    viewer, widget = painting
    labels = widget.labels
    ink_stroke(labels.painter, 150, 150)
    _console_write(labels.layer)
    viewer.layers.selection = {labels.layer}
    own = label_paths(labels.segment)
    viewer.layers.save(str(own[0]), selected=True, plugin="napari-inkloop")
    assert _supervised(own[1])[BLOCK].all()


def test_at_interpreter_exit_labels_are_written_when_nothing_shows_them_saved(
    painting, monkeypatch
):
    _, widget = painting
    labels = widget.labels
    ink_stroke(labels.painter, 150, 150)
    labels.save().result(timeout=10)
    _console_write(labels.layer)

    def shut(*args, **kwargs):  # what executors say once the interpreter is exiting
        raise RuntimeError("cannot schedule new futures after interpreter shutdown")

    monkeypatch.setattr(labels.worker._executor, "submit", shut)
    labels.autosaver.flush()
    assert _supervised(label_paths(labels.segment, autosave=True)[1])[BLOCK].all()


def test_at_interpreter_exit_labels_saved_unchanged_leave_no_autosave_copies(painting, monkeypatch):
    """The next open would restore the copies as 'newer than the saved labels' (closing
    review 3, F1): at exit the mirror, its thread done, shows the labels unchanged."""
    _, widget = painting
    labels = widget.labels
    ink_stroke(labels.painter, 150, 150)
    labels.save().result(timeout=10)

    def shut(*args, **kwargs):
        raise RuntimeError("cannot schedule new futures after interpreter shutdown")

    monkeypatch.setattr(labels.worker._executor, "submit", shut)
    labels.autosaver.flush()
    assert not any(path.exists() for path in label_paths(labels.segment, autosave=True))
