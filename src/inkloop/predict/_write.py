"""A dask array computed into a prediction file: staged beside it, blocks on a pool of this
process's threads, and on an error or Ctrl-C, what was staged removed once no block still
writes there."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from inkloop._command import in_command, terminate_as_ctrl_c
from inkloop._cpus import usable_cpus
from inkloop.io import prediction_kind, prediction_output
from inkloop.predict._outputs import PredictionFile

STOPPING = "stopping: finishing the blocks in progress (Ctrl-C again to quit now)"
STOPPING_IN_PYTHON = "stopping: finishing the blocks in progress (interrupt again not to wait)"


def write_prediction(
    probability,
    out: Path,
    *,
    progress=True,
    tiff_float=False,
    workers: int | None = None,
    origin=(0, 0),
    overwrite: bool = True,
    record: dict | None = None,
) -> Path:
    """Compute the dask array ``probability`` into ``out``, whose ending picks the format:
    ``.ome.zarr`` (uint8 OME-Zarr pyramid), ``.png`` (uint8), ``.tif`` (tiled, compressed
    uint8 BigTIFF; float32 with ``tiff_float``) or ``.zarr`` (float32).

    ``progress``: True for a bar on stderr, False for none, or a dask Callback to run instead
    (on this compute only, never registered for the process).
    The result goes to a hidden file beside ``out`` first and replaces ``out`` only once
    complete, so an error or interruption leaves no partial file (and any old one intact).
    Ctrl+C waits for the blocks in progress, removes what was staged and raises
    KeyboardInterrupt; a second Ctrl+C raises it at once (`_stopping`). In the `inkloop`
    command a SIGTERM does the same (`terminate_as_ctrl_c`).
    ``workers``: threads computing blocks (default: one per core). ``origin``: where the
    array's first pixel lies in the segment, recorded by an OME-Zarr (a region's prediction).
    ``overwrite`` False: an ``out`` that exists once this run holds it is refused (another
    run wrote it meanwhile), not replaced. ``record``: how it was made, which the file
    records (`PredictionFile`).
    """
    from inkloop._progress import PacedProgressBar

    kind = prediction_kind(prediction_output(out))
    if progress is True:
        progress = PacedProgressBar()
    with terminate_as_ctrl_c():
        options = {"tiff_float": tiff_float, "origin": origin, "overwrite": overwrite}
        output = PredictionFile(out, kind, probability.shape, record=record, **options)
        _store(output, probability, progress, workers)
        return output.finish()


def _store(output: PredictionFile, probability, progress, workers: int | None) -> None:
    """Compute ``probability`` into ``output``'s staged array; on an error or an interrupt,
    wait for the blocks in progress and remove what was staged."""
    from dask.callbacks import normalize_callback

    # our own pool, so that after an interruption no block is still being written when the
    # staged file is removed (a late writer would recreate it)
    pool = _BlockPool(workers or usable_cpus())
    # given to this compute, not registered (`with progress`): dask's registry is one for the
    # process, and a compute another thread starts meanwhile would take it from this one
    callbacks = [normalize_callback(progress)] if progress else []  # (None: the registry's)
    try:
        output.store(probability).compute(scheduler="threads", pool=pool, callbacks=callbacks)
    except BaseException as error:
        pool.shutdown(wait=False, cancel_futures=True)
        abandoned = _abandon_when_done(pool, output)
        # in Python another Ctrl-C cuts this wait short (KeyboardInterrupt), and the removal
        # goes on without it
        pressed = isinstance(error, KeyboardInterrupt)
        try:
            with _stopping(output) if pressed else contextlib.nullcontext():
                abandoned.result()
        except KeyboardInterrupt:  # the removal, when it ends, says if it failed
            abandoned.add_done_callback(_say_if_not_removed)
            raise
        raise
    finally:
        pool.shutdown(wait=False)


@contextlib.contextmanager
def _stopping(output: PredictionFile):
    """After a Ctrl-C (or, in the command, a SIGTERM): says so. Inside, in Python, another
    Ctrl-C raises KeyboardInterrupt as ever (`_abandon_when_done`). In the `inkloop` command
    (`as_command`; on the main thread) another Ctrl-C or SIGTERM removes what ``output``
    staged and ends the process at once, exit status 130: nothing can stop the blocks'
    threads, which an interpreter's exit waits for."""
    if not in_command():
        print(STOPPING_IN_PYTHON, file=sys.stderr, flush=True)
        yield
        return

    def quit_now(*_) -> None:
        try:
            output.abandon()
        finally:  # even if this press cut short an abandon under way
            print(f"interrupted: {output.out} was not written", file=sys.stderr, flush=True)
            os._exit(130)

    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, quit_now) if on_main else None
    print(STOPPING, file=sys.stderr, flush=True)  # once a second press would quit
    try:
        yield
    finally:
        if previous is not None:  # None: a handler set outside Python, which cannot be put back
            signal.signal(signal.SIGINT, previous)


class _BlockPool(ThreadPoolExecutor):
    """The threads computing blocks, each recorded by itself as it starts (``started``), before
    it takes a block: a Ctrl-C may land in the pool's submit as it starts a thread, after the
    thread took a block and before the pool holds it, and that block must be waited for too."""

    def __init__(self, workers: int) -> None:
        self.started: set[threading.Thread] = set()
        super().__init__(workers, initializer=lambda: self.started.add(threading.current_thread()))

    def join(self) -> None:
        """Until every thread it started has ended; after a `shutdown`."""
        self.shutdown(wait=True)
        for thread in list(self.started):
            thread.join()


def _abandon_when_done(pool: _BlockPool, output: PredictionFile) -> Future:
    """Remove what ``output`` staged once ``pool``'s threads have ended, on a thread of its
    own: until then a block may still store there, and the claim it holds keeps another run
    from writing the same output. The Future says when, and raises what the removal raised.
    The threads are joined there, never on the main thread: a join that a Ctrl-C cuts short
    marks the thread ended while it still runs (Python 3.11), and later joins return at
    once. Nor are the tasks waited for by their futures: a Ctrl-C may land in the pool's
    submit after a block started and before dask holds its future."""
    done = Future()

    def abandon() -> None:
        try:
            pool.join()
            output.abandon()
        except BaseException as error:
            done.set_exception(error)
        else:
            done.set_result(None)

    threading.Thread(target=abandon, name="inkloop-abandon").start()
    return done


def _say_if_not_removed(abandoned: Future) -> None:
    if (error := abandoned.exception()) is not None:
        print(f"inkloop: what was staged was not removed: {error}", file=sys.stderr, flush=True)
