"""File locks the system lets go of when their process ends, however it ends (POSIX flock).

Windows has no flock: there nothing is claimed or held by another process, `locked` blocks
run unlocked, as before locks were taken, and `orphaned` asks whether the process whose id
the file holds still runs."""

from __future__ import annotations

import contextlib
import errno
import os
import shlex
import sys
from pathlib import Path

from inkloop._notify import notify

try:
    import fcntl
except ImportError:  # Windows: nothing is claimed, nothing is found orphaned
    fcntl = None

LOCKS = fcntl is not None


def try_lock(file) -> bool:
    """Lock the open ``file`` for this process, until it is closed or the process ends;
    False if another process holds it (OSError where the file system takes no locks)."""
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def orphaned(path: Path) -> bool:
    """Whether the lock file ``path`` is there and no process holds it: its owner ended
    without removing what the lock guards (killed, crashed). Without flock (Windows): whether
    the process whose id it holds has ended."""
    if not LOCKS:
        pid = holder(path)
        return pid is not None and not _runs(pid)
    try:
        file = open(path, "r+")  # noqa: SIM115 (closed below, releasing the lock)
    except OSError:  # not there (yet), or another user's
        return False
    with file:
        try:
            return try_lock(file)
        except OSError:  # a file system that takes no locks (some NFS mounts): who can say
            return False


@contextlib.contextmanager
def locked(path: Path):
    """Hold the lock file ``path`` (created if missing, and left there: removing it would let
    two processes lock two files of one name) for the block, waiting while another process
    holds it. Where files take no locks (Windows, some NFS mounts) the block runs unlocked."""
    with _open_lock(path) as file:
        if LOCKS:
            try:
                fcntl.flock(file, fcntl.LOCK_EX)
            except OSError as error:
                _say_unlocked(path, file, error)
        yield


def claim(path: Path):
    """Lock the file ``path`` (created if missing) for this process, without waiting, and
    write this process's id in it: the open file, whose closing lets go, or None if another
    process holds it (`holder` names it). Where files take no locks (Windows, some NFS
    mounts) the file is returned unlocked: nothing can be known of other processes there."""
    file = _open_lock(path)
    try:
        if LOCKS and not try_lock(file):
            file.close()
            return None
    except OSError as error:  # a file system that takes no locks, or not through this file
        _say_unlocked(path, file, error)
        return file
    if file.writable():  # another user's lock file is only read: no process id then
        file.truncate(0)
        file.write(f"{os.getpid()}\n")
        file.flush()
    return file


def _open_lock(path: Path):
    """The lock file ``path`` open, created if missing: for writing where this user may, else
    for reading, all that flock needs on a local disk (another user's lock file made before
    lock files were shared, or on a file system without modes). OSError where neither can
    be had."""
    try:
        file = open(path, "a+")  # noqa: SIM115 (the caller closes it)
    except PermissionError:
        return open(path)
    _share(file)
    return file


def _share(file) -> None:
    """Let every user write this user's lock file ``file``: it holds only a process id, and on
    NFS a process locks only a file it opened for writing, so another user of a shared folder
    could not lock it (umask leaves it 0644)."""
    if not LOCKS:  # Windows: no modes, no flock
        return
    stat = os.fstat(file.fileno())
    if stat.st_uid == os.geteuid() and stat.st_mode & 0o666 != 0o666:
        # a file system without modes (FAT) refuses: another user there is told (_say_unlocked)
        with contextlib.suppress(OSError):
            os.fchmod(file.fileno(), 0o666)


def _say_unlocked(path: Path, file, error: OSError) -> None:
    """Say that the lock file ``path`` (open as ``file``) could not be locked (``error``) and
    that the work goes on without it."""
    if file.writable() or error.errno != errno.EBADF:
        notify(f"{path} cannot be locked ({error}): going on unlocked")
        return
    owner = _owner(file)
    notify(
        f"{path} belongs to {owner} and is read-only to you, and this file system (NFS) locks "
        "only files open for writing: it cannot keep another process from writing what it "
        f"guards at the same time. Going on without the lock; {owner} (or an administrator) "
        f"can fix it: chmod a+w {shlex.quote(str(path))}"
    )


def _owner(file) -> str:
    """The name of the user who owns the open ``file`` (their number if it has none)."""
    uid = os.fstat(file.fileno()).st_uid
    try:
        import pwd  # POSIX, as flock

        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a user of another machine of the share
        return f"user {uid}"


def _runs(pid: int) -> bool:
    """Whether the process ``pid`` runs; True where that cannot be known: a live process is
    never taken for ended (an ended one is for live while another process has its id)."""
    if sys.platform == "win32":  # where os.kill(pid, 0) would end the process
        return _runs_on_windows(pid)
    try:
        with contextlib.suppress(PermissionError):  # another user's process: it runs
            os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _runs_on_windows(pid: int) -> bool:
    """`_runs` on Windows: OpenProcess fails with ERROR_INVALID_PARAMETER for no such process;
    an open process runs while its exit code is STILL_ACTIVE."""
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    kernel32.GetExitCodeProcess.argtypes = (wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD))
    kernel32.CloseHandle.argtypes = (wintypes.HANDLE,)
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:  # else access denied, say: it runs
        return ctypes.get_last_error() != 87  # ERROR_INVALID_PARAMETER
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def holder(path: Path) -> int | None:
    """The process id written in the lock file ``path`` by `claim`, if it can be read."""
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):  # gone, or its holder has not written it yet
        return None
