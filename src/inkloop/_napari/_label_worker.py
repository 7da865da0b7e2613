"""Work on a segment's whole labels off the GUI thread: decoding a full-size canvas takes about
a second. The codes are copied on the GUI thread (a memcpy), so strokes painted after cannot
change what is worked on; one worker thread decodes and works on them, job after job."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from qtpy.QtCore import QObject, Qt, Signal

from inkloop.brush import decode_labels


def _decoded(ink: np.ndarray, supervised: np.ndarray):
    return ink, supervised


class LabelWorker(QObject):
    """Runs jobs on the labels of codes as they were when the job was submitted, in order, and
    hands each job's Future, done, to ``done`` on the GUI thread.

    Not napari's ``create_worker``: the jobs must run one at a time in order (rounds append to
    one file), the GUI thread must be able to wait for one (an engine needed at once), and
    `close` must see them finished (a round recorded as the viewer closes is not lost).
    """

    _finished = Signal(object)  # a job's Future: emitted on the worker, handled on the GUI

    def __init__(self, name: str, done: Callable[[Future], None]) -> None:
        super().__init__()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"inkloop-{name}")
        # queued even from the GUI thread (a job done before submit returns): the caller
        # has kept its Future by the time ``done`` hears of it
        self._finished.connect(done, Qt.ConnectionType.QueuedConnection)

    def submit(self, codes: np.ndarray, job: Callable = _decoded) -> Future:
        """Copy ``codes`` now; the Future of ``job(ink, supervised)`` on their decoded labels
        (by default the two arrays)."""
        future = self._executor.submit(_decode_then, np.array(codes), job)
        future.add_done_callback(self._finished.emit)
        return future

    def close(self) -> None:
        """Wait for the jobs submitted (a second or so each); no thread stays behind."""
        self._executor.shutdown(wait=True)


def _decode_then(codes: np.ndarray, job: Callable):
    return job(*decode_labels(codes))
