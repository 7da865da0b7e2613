"""How the engine's child process starts: forked from a server process that has imported torch
and segmentation-models-pytorch already (Linux), or spawned afresh (elsewhere).

A spawned child imports torch, timm and smp before it can build a model: ~4.5 s of CPU on a
2-core VM, paid again at every new engine (another segment, Clear, new settings, a respawn
after a crash) and by every session of an engine server. A forkserver pays it once: a fresh
interpreter (napari's process still never imports torch, docs/architecture §3) that imports
`PRELOAD` and forks each child from there. Its imports never initialise CUDA (a test checks),
so each child may use the GPU, as torch allows for forkserver children. Linux only: on macOS,
forking a process that loaded Apple's frameworks is unsafe; Windows cannot fork.

The server is inkloop's own (`_fork_server`), not multiprocessing's one per process. It
ignores SIGINT, and so its children are born ignoring it (`ignore_ctrl_c` then has nothing to
drop); it stops `IDLE_S` after its last child ended (~400 MB held while
it waits with no child; ~120 MB of its own beside one). If it is killed while a child runs,
that child can no longer be signalled through multiprocessing: `end_child` signals its pid.

A forked child gets the server's environment: `spawn_child` passes this process's and
`child_main` takes it first. What a library read at its import in the server (tempfile's
TMPDIR, OpenMP's and MKL's variables) stays the server's; torch's thread count is set per
child, and CUDA reads its variables in the child.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from multiprocessing.process import BaseProcess

from inkloop._spawn import start_spawned
from inkloop.engine._child import ChildHandle, Spec, child_main

IDLE_THREAD = "fork-server-idle"  # the timer that stops the fork server once no child runs


def spawn_child(spec: Spec, settings) -> ChildHandle:
    """Start a child process running `child_main`; it imports inkloop and nothing of the user's."""
    commands_read, commands_write = multiprocessing.Pipe(duplex=False)
    events_read, events_write = multiprocessing.Pipe(duplex=False)
    args = (spec, settings, time.time(), dict(os.environ), commands_read, events_write)
    process = _process_class()(target=child_main, args=args, name="inkloop-engine", daemon=True)
    try:
        start_spawned(process)
    except (EOFError, ConnectionError) as error:  # the server died as it forked
        raise RuntimeError(f"the engine's fork server ended ({error!r}): try again") from error
    finally:
        commands_read.close()  # the child holds these ends now: EOF on events means it ended
        events_write.close()
    return ChildHandle(process, commands_write, events_read)


def _process_class() -> type[BaseProcess]:
    if not sys.platform.startswith("linux"):
        return multiprocessing.get_context("spawn").Process
    from inkloop.engine._fork_server import ForkedProcess  # POSIX-only imports

    return ForkedProcess
