"""Hiding the Ink Loop dock (napari's Window menu) on a disk that refuses the strokes says
what an autosave says: they are only in this window, once; not that "the last strokes" are
lost, since painting goes on (review C2 of session 41, finding 2)."""

from __future__ import annotations

import errno

from qtpy.QtWidgets import QApplication

from tests._napari._gui import messages
from tests._napari.test_autosave_disk_full import FULL, refusing_folders, rescue_folders
from tests._napari.test_close_veto import ONLY_HERE, shown_window
from tests._napari.test_dock_hidden_turning import _dock


def _hidden_and_shown(widget) -> None:
    """The dock hidden (Window > Ink Loop), then shown again."""
    toggle = _dock(widget).toggleViewAction()
    toggle.trigger()
    QApplication.processEvents()
    toggle.trigger()
    QApplication.processEvents()


def test_a_dock_hidden_on_a_full_disk_says_its_strokes_are_only_in_this_window_once(
    painting, unlabelled_folder, tmp_path, qtbot, monkeypatch, caplog
):
    full = refusing_folders(monkeypatch, tmp_path, lambda path: OSError(errno.ENOSPC, FULL))
    viewer, widget = painting
    shown_window(viewer, widget, qtbot)
    full.update({unlabelled_folder, *rescue_folders(unlabelled_folder)})
    widget.labels.painter.stamp_along([(80, 80), (80, 160)])
    shown = len(messages(0))

    _hidden_and_shown(widget)
    said = messages(shown)
    widget.labels.painter.stamp_along([(90, 80), (90, 160)])
    _hidden_and_shown(widget)

    refused = [m for m in said if "could not be written" in m]
    assert len(refused) == 1
    assert ONLY_HERE in refused[0]
    assert not any("last strokes" in m or "lost" in m for m in messages(shown))
    assert [m for m in messages(shown) if "could not be written" in m] == refused
    assert widget.labels is not None  # painting goes on
    caplog.clear()
