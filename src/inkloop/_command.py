"""Whether code runs as the `inkloop` command or from Python, which take Ctrl+C differently
(`as_command`), SIGTERM as the command takes it (`terminate_as_ctrl_c`), and how a command
line told to the user quotes a path (`shell_quoted`). A leaf: it imports nothing of inkloop,
so that every layer may ask."""

from __future__ import annotations

import contextlib
import contextvars
import os
import shlex
import signal
import subprocess
import threading

_COMMAND = contextvars.ContextVar("inkloop_command", default=False)


@contextlib.contextmanager
def as_command():
    """Ctrl+C as the `inkloop` command takes it, inside: a training run that it stopped
    returns its summary ("interrupted": True) and a prediction that it is stopping ends the
    process at once on another Ctrl+C (exit status 130). Outside, in Python (a notebook's
    interrupt), both raise KeyboardInterrupt, once the run is saved or the staged output
    removed: a loop or cell stops, and the interpreter lives on."""
    token = _COMMAND.set(True)
    try:
        yield
    finally:
        _COMMAND.reset(token)


def in_command() -> bool:
    """Whether this runs inside `as_command`."""
    return _COMMAND.get()


@contextlib.contextmanager
def terminate_as_ctrl_c():
    """Inside, in the `inkloop` command on the main thread, SIGTERM does what a Ctrl+C would
    do at that moment (SIGINT's handler then; KeyboardInterrupt where SIGINT is ignored, as
    in a command a script started with ``&``). SIGTERM is how a batch system ends a job at
    its time limit or on ``scancel``, and how a container is stopped: a run stops as at a
    first Ctrl+C (training saves its last good weights, a prediction removes what it
    staged) instead of being killed. Used as a library (a notebook, napari) the process
    keeps its own SIGTERM handling."""
    if not in_command() or threading.current_thread() is not threading.main_thread():
        yield
        return

    def as_ctrl_c(_signal, frame) -> None:
        handler = signal.getsignal(signal.SIGINT)
        if not callable(handler):  # SIG_IGN, SIG_DFL, or one set outside Python
            handler = signal.default_int_handler
        handler(signal.SIGINT, frame)

    previous = signal.signal(signal.SIGTERM, as_ctrl_c)
    try:
        yield
    finally:
        if previous is not None:  # None: a handler set outside Python, which cannot be put back
            signal.signal(signal.SIGTERM, previous)


def shell_quoted(text) -> str:
    """``text`` (a path, a URL) as the platform's shell takes it in a command the user is told
    to run: in cmd.exe's double quotes on Windows, where POSIX single quotes would be passed
    on as part of the name; else shell-quoted."""
    return subprocess.list2cmdline([str(text)]) if os.name == "nt" else shlex.quote(str(text))
