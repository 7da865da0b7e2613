"""An engine start writes its label files (1.2 GB at full size) on the label worker, not on the
GUI thread, and a start given up removes the files it wrote."""

from __future__ import annotations

import threading

import numpy as np

from inkloop.brush import decode_labels
from inkloop.engine._labelfiles import LabelFiles
from tests._napari._fakes import FakeEngine, fake_engines, ink_stroke, patch_in_dock


def _label_files_made(monkeypatch) -> list[tuple[threading.Thread, LabelFiles]]:
    """The thread that writes each engine's label files from now on, and the files."""
    made = []
    write = LabelFiles.__init__

    def spy(self, ink, supervised) -> None:
        write(self, ink, supervised)
        made.append((threading.current_thread(), self))

    monkeypatch.setattr(LabelFiles, "__init__", spy)
    return made


def test_an_engine_s_label_files_are_written_off_the_gui_thread(segment_widget, qtbot, monkeypatch):
    loop, painter = segment_widget.loop, segment_widget.labels.painter
    engines, written = fake_engines(monkeypatch), _label_files_made(monkeypatch)
    ink_stroke(painter, 20, 20)
    at_start = decode_labels(painter.canvas.codes)

    loop.warm_up()

    qtbot.waitUntil(lambda: loop.engine is not None)
    assert [thread for thread, _ in written] != []
    assert threading.main_thread() not in [thread for thread, _ in written]
    np.testing.assert_array_equal(engines[0].ink, at_start[0])
    np.testing.assert_array_equal(engines[0].supervised, at_start[1])


def test_a_start_given_up_removes_the_label_files_it_wrote(segment_widget, monkeypatch):
    loop = segment_widget.loop
    engines, written = fake_engines(monkeypatch), _label_files_made(monkeypatch)

    loop.warm_up()
    loop.starts.pending.labels.result(timeout=10)  # written; the GUI not told yet
    assert loop.starts.drop()

    assert engines == []
    assert written != []
    assert all(not files.folder.exists() for _, files in written)


def test_an_engine_that_cannot_start_leaves_no_label_files(segment_widget, monkeypatch, qtbot):
    loop, written = segment_widget.loop, _label_files_made(monkeypatch)

    def no_room(*args, **kwargs):
        raise OSError(28, "No space left on device")

    patch_in_dock(monkeypatch, "EngineProcess", no_room)
    loop.warm_up()
    qtbot.waitUntil(lambda: loop.starts.pending is None)

    assert loop.engine is None
    assert written != []
    assert all(not files.folder.exists() for _, files in written)


def test_an_engine_on_a_server_gets_the_files_written_off_the_gui_thread(
    segment_widget, qtbot, monkeypatch
):
    loop, painter = segment_widget.loop, segment_widget.labels.painter
    engines, written = fake_engines(monkeypatch), _label_files_made(monkeypatch)

    class Server:  # a RemoteTarget's engine, with no server
        address = "127.0.0.1:1"

        def engine(self, *args, **options):
            return FakeEngine(*args, **options)

    monkeypatch.setattr(loop, "remote", Server())
    ink_stroke(painter, 20, 20)
    at_start = decode_labels(painter.canvas.codes)

    loop.warm_up()

    qtbot.waitUntil(lambda: loop.engine is not None)
    assert written != []
    assert threading.main_thread() not in [thread for thread, _ in written]
    np.testing.assert_array_equal(engines[0].ink, at_start[0])
    np.testing.assert_array_equal(engines[0].supervised, at_start[1])
