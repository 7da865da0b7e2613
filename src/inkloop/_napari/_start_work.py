"""An engine start's work off the GUI thread (`EngineStarts`): the labels written as the
engine's files, a server's engine made or re-attached, and what a start given up leaves."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future

from inkloop.brush import decode_labels
from inkloop.engine import EngineProcess

# the real engine's files whatever stands in for the engine (tests replace EngineProcess)
_write_labels = EngineProcess.write_labels


def written_labels(codes):
    """The labels of ``codes`` decoded and written as an engine's files (on the label worker:
    1.2 GB at full size)."""
    return _write_labels(*decode_labels(codes))


def remove_files(labels: Future) -> None:
    """Remove the label files a start wrote, where no engine took them."""
    if not labels.cancelled() and labels.exception() is None:
        labels.result().remove()


def run(future: Future, make: Callable) -> None:
    """``future`` completed with what ``make()`` returns or raises (on a thread of its own)."""
    try:
        future.set_result(make())
    except BaseException as error:
        future.set_exception(error)


def reattached(engine):
    """``engine``, a server's whose link ended, re-attached to its session, or to a new one
    if that ended too (`RemoteEngineProcess.reattach`: round trips, maybe its labels sent)."""
    engine.reattach()
    return engine


def unwanted(lost, labels: Future, engine: Future) -> None:
    """A server's engine connected to for a start dropped meanwhile: closed (its session
    ended there). If it could not be made, the one being re-attached (``lost``) is closed,
    or else the label files written for it removed."""
    if engine.exception() is None:
        engine.result().close()
    elif lost is not None:
        lost.close()
    else:
        remove_files(labels)
