"""Whether code runs as the `inkloop` command or from Python, which take Ctrl+C differently
(`as_command`), and how a command line told to the user quotes a path (`shell_quoted`). A
leaf: it imports nothing of inkloop, so that every layer may ask."""

from __future__ import annotations

import contextlib
import contextvars
import os
import shlex
import subprocess

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


def shell_quoted(text) -> str:
    """``text`` (a path, a URL) as the platform's shell takes it in a command the user is told
    to run: in cmd.exe's double quotes on Windows, where POSIX single quotes would be passed
    on as part of the name; else shell-quoted."""
    return subprocess.list2cmdline([str(text)]) if os.name == "nt" else shlex.quote(str(text))
