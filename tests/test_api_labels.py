"""The Python API's labels: patches read as the whole labels were, paths for segments, the
labels' shared memory freed when training closes, and messages worded for Python."""

from __future__ import annotations

import multiprocessing
import warnings
from importlib import resources
from multiprocessing import shared_memory
from pathlib import Path

import numpy as np
import pytest

from inkloop._command import as_command
from inkloop._notify import InkloopWarning
from inkloop.compose import sample_normalisation
from inkloop.engine import Engine, EngineProcess
from inkloop.engine._labelfiles import LabelFiles
from inkloop.io import (
    initial_labels,
    label_paths,
    load_labels,
    open_segment,
    read_validation_region,
    save_labels,
    save_validation_region,
)
from inkloop.train import LabelStore
from tests._engine import process_settings
from tests._helpers import FULL_RESOLUTION, tiny_trainer

BOX = (40, 10, 60, 70)  # a patch of the training segment (96 x 128)


def _stroke(ink: np.ndarray, supervised: np.ndarray, box, value=1) -> None:
    y0, x0, y1, x1 = box
    supervised[y0:y1, x0:x1] = 1
    ink[y0 + 5 : y1 - 5, x0:x1] = value


def test_a_uint8_patch_of_0_and_1_is_full_ink_where_the_labels_given_were(segment):
    shape = segment.shape[1:]
    ink, supervised = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
    _stroke(ink, supervised, (5, 10, 25, 70))
    with pytest.warns(InkloopWarning, match="ink labels of 0 and 1"):
        engine = Engine(segment, ink, supervised)
    try:
        _stroke(ink, supervised, BOX)
        y0, x0, y1, x1 = BOX
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            engine.update_labels(ink[y0:y1, x0:x1], supervised[y0:y1, x0:x1], BOX)
        assert engine.labels.ink[50, 30] == engine.labels.ink[15, 30] == 255
        assert engine.labels.summary()["soft_pixels"] == 0
        assert "read 1 as ink (255)" in str(said[-1].message)  # as at the start
    finally:
        engine.close()


@pytest.mark.filterwarnings("ignore:ink labels of 0 and 1")
def test_an_engine_process_reads_a_0_and_1_patch_as_its_labels_were(segment, monkeypatch):
    sent = []
    record = LabelFiles.record

    def spy(files, bbox, ink, supervised):
        sent.append(ink.copy())
        return record(files, bbox, ink, supervised)

    monkeypatch.setattr(LabelFiles, "record", spy)
    shape = segment.shape[1:]
    ink, supervised = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
    _stroke(ink, supervised, (5, 10, 25, 70))
    with EngineProcess(segment.path, ink, supervised, process_settings()) as proxy:
        _stroke(ink, supervised, BOX)
        y0, x0, y1, x1 = BOX
        proxy.update_labels(ink[y0:y1, x0:x1], supervised[y0:y1, x0:x1], BOX)
    assert set(np.unique(sent[-1])) == {0, 255}  # full ink, not 1/255


@pytest.mark.filterwarnings("ignore:ink labels of 0 and 1")
def test_after_bool_labels_a_uint8_patch_of_0_and_1_is_full_ink_too():
    store = LabelStore(np.zeros((64, 96), bool), np.ones((64, 96), bool))
    store.update(np.ones((4, 4), np.uint8), np.ones((4, 4), bool), (0, 0, 4, 4))
    assert store.ink[:4, :4].min() == 255


def test_after_ink_levels_a_faint_patch_stays_faint():
    """The dock's patches are levels: a gradient brush's edge may top out at 1."""
    ink = np.zeros((64, 96), np.uint8)
    ink[:8] = 255
    store = LabelStore(ink, np.ones((64, 96), bool))
    store.update(np.ones((4, 4), np.uint8), np.ones((4, 4), bool), (20, 0, 24, 4))
    assert store.ink[20:24, :4].max() == 1


def test_closing_the_trainer_frees_the_labels_shared_memory(segment):
    composition = FULL_RESOLUTION.resolve(segment.shape[0])
    labels = LabelStore(np.asarray(segment.ink_labels), np.asarray(segment.mask))
    parts = segment, labels, composition, sample_normalisation(segment, composition)
    trainer = tiny_trainer(parts)
    labels.share(multiprocessing.get_context("spawn"))  # as batch worker processes need them
    name = labels._shared.__getstate__()["name"]
    trainer.close()
    with pytest.raises(FileNotFoundError):
        shared_memory.SharedMemory(name=name)
    np.testing.assert_array_equal(labels.ink, np.asarray(segment.ink_labels))
    labels.update(np.full((4, 4), 255, np.uint8), np.ones((4, 4), bool), (0, 0, 4, 4))
    assert labels.ink[:4, :4].min() == 255
    labels.share(multiprocessing.get_context("spawn"))  # the next stream shares them anew
    assert labels.ink[:4, :4].min() == 255
    assert labels.version == 1
    labels.unshare()


def test_an_unshared_store_writes_into_the_arrays_it_was_given_again():
    ink, supervised = np.zeros((64, 96), np.uint8), np.ones((64, 96), bool)
    store = LabelStore(ink, supervised)
    store.share(multiprocessing.get_context("spawn"))
    store.unshare()
    assert store.ink is ink
    assert store.supervised is supervised
    store.update(np.full((4, 4), 255, np.uint8), np.zeros((4, 4), bool), (0, 0, 4, 4))
    assert ink[:4, :4].min() == 255
    assert not supervised[:4, :4].any()
    assert store.summary()["ink_pixels"] == 0  # not trainable: unlabelled


@pytest.mark.parametrize("as_path", [str, Path])
def test_label_functions_take_the_segments_path(segment_folder, as_path):
    given = as_path(segment_folder)
    ink, supervised = np.zeros((64, 96), np.uint8), np.zeros((64, 96), bool)
    _stroke(ink, supervised, (10, 10, 30, 60), value=255)
    written = save_labels(given, ink, supervised)
    assert written == label_paths(given) == label_paths(open_segment(segment_folder))
    np.testing.assert_array_equal(load_labels(given)[0], ink)
    np.testing.assert_array_equal(initial_labels(given)[1], supervised)
    save_validation_region(given, (8, 8, 40, 40))
    assert read_validation_region(given) == (8, 8, 40, 40)


def test_no_labels_tells_python_its_keyword_and_the_command_its_option(segment_folder):
    (segment_folder / f"{segment_folder.name}_inklabels.png").unlink()
    segment = open_segment(segment_folder)
    with pytest.raises(ValueError, match=r"no ink labels; pass labels='INK\.png'$"):
        load_labels(segment)
    with pytest.raises(ValueError, match=r"no ink labels; pass --labels INK\.png$"), as_command():
        load_labels(segment)
    ink, supervised = np.zeros((64, 96), np.uint8), np.ones((64, 96), bool)
    autosaved = save_labels(segment, ink, supervised, autosave=True)
    with pytest.raises(ValueError, match="click Save labels") as error:
        load_labels(segment)
    said = f"pass labels={str(autosaved[0])!r}, supervision={str(autosaved[1])!r}"
    assert str(error.value).endswith(said)


def test_the_package_says_it_is_typed():
    assert resources.files("inkloop").joinpath("py.typed").is_file()
