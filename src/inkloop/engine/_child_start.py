"""How the engine's child process starts: forked from a process that has imported torch and
segmentation-models-pytorch already (Linux), or spawned afresh (elsewhere).

A spawned child imports torch, timm and smp before it can build a model: ~4.5 s of CPU on a
2-core VM, paid again at every new engine (another segment, Clear, new settings, a respawn
after a crash) and by every session of an engine server. multiprocessing's forkserver pays it
once: its server is a fresh interpreter (napari's process still never imports torch,
docs/architecture §3) that imports `PRELOAD` and forks each child from there. Forking after
importing torch is safe while nothing has run: no thread pool is started and CUDA is not
initialised by the imports (tests/engine/test_child_start.py), so each child may use the GPU,
as torch's documentation allows for forkserver children. Linux only: on macOS, forking a
process that loaded Apple's frameworks is unsafe; Windows cannot fork.

A forked child gets the forkserver's environment, not this process's at the child's start:
`spawn_child` passes this process's along, and `child_main` takes it first.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from multiprocessing.context import BaseContext

from inkloop._spawn import start_spawned
from inkloop.engine._child import ChildHandle, Spec, child_main

PRELOAD = ["inkloop.engine._child_preload"]


def spawn_child(spec: Spec, settings) -> ChildHandle:
    """Start a child process running `child_main`; it imports inkloop and nothing of the user's."""
    context = child_context()
    commands_read, commands_write = context.Pipe(duplex=False)
    events_read, events_write = context.Pipe(duplex=False)
    args = (spec, settings, time.time(), dict(os.environ), commands_read, events_write)
    process = context.Process(target=child_main, args=args, name="inkloop-engine", daemon=True)
    start_spawned(process)
    commands_read.close()  # the child holds these ends now: EOF on events means it ended
    events_write.close()
    return ChildHandle(process, commands_write, events_read)


def child_context() -> BaseContext:
    """The multiprocessing context engine children start in (see the module's docstring)."""
    if not sys.platform.startswith("linux"):
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)  # before its server starts; the same list after
    return context
