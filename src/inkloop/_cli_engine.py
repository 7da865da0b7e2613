"""`inkloop engine serve`: run training engines here for docks on other machines."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import tempfile
import threading
from pathlib import Path

from inkloop._overwrite import make_out_folder
from inkloop.engine._server import IDLE_TIMEOUT, MAX_SESSIONS
from inkloop.io._homes import cache_home

DEFAULT_PORT = 8790
DEFAULT_TOKEN = Path("~/.config/inkloop/engine-token")
DEFAULT_FOLDER = cache_home() / "engine-sessions"


def add_engine(commands) -> None:
    """Add the `engine` sub-command (`engine serve`) to the `inkloop` parser."""
    engine = commands.add_parser("engine", help="run the training engine as a server")
    actions = engine.add_subparsers(dest="action", required=True)
    serve = actions.add_parser(
        "serve",
        help="serve engines to Ink Loop docks on other machines (the GPU box side)",
        description="Each dock that connects gets its own engine process here, reading "
        "segments from the --root folders. Binds 127.0.0.1: reach it through an SSH tunnel "
        "(ssh -N -L 8790:127.0.0.1:8790 gpu-box).",
    )
    serve.add_argument(
        "--root",
        type=Path,
        action="append",
        required=True,
        metavar="DIR",
        help="a folder whose segments may be opened (repeat for more)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=DEFAULT_PORT, help="0-65535 (0: any free)")
    serve.add_argument(
        "--token-file",
        type=Path,
        default=DEFAULT_TOKEN,
        help="the shared secret, made (random) if missing: use that one, for a hand-made "
        f"token is refused (default {DEFAULT_TOKEN})",
    )
    serve.add_argument(
        "--folder",
        type=Path,
        default=DEFAULT_FOLDER,
        help="where sessions write checkpoints and predictions",
    )
    serve.add_argument(
        "--idle-hours",
        type=float,
        default=IDLE_TIMEOUT / 3600,
        metavar="H",
        help="end a session's engine after H hours with no dock attached, training or not (as "
        "closing the dock would: it autosaves); its files stay (default %(default)g)",
    )
    serve.add_argument(
        "--max-sessions",
        type=_at_least_one,
        default=MAX_SESSIONS,
        metavar="N",
        help="run at most N engines at once, one a dock, each a process of about a GB sharing "
        "the GPU and the cores; a dock holds one from its first stroke (default %(default)d)",
    )
    serve.set_defaults(run=_serve)


def _serve(args) -> int:
    import logging

    from inkloop.engine._handshake import TokenFileError
    from inkloop.engine._server import EngineServer, read_token

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for root in args.root:
        if not root.expanduser().is_dir():
            raise ValueError(f"{root}: not a folder")
    folder = _writable_folder(args.folder.expanduser())
    token_file = args.token_file.expanduser()
    try:
        token = read_token(token_file)
    except TokenFileError as error:  # as ssh refuses an open key: the user must mend it
        print(f"inkloop engine: error: {error}", file=sys.stderr)
        return 2
    if args.idle_hours <= 0:
        raise ValueError("--idle-hours must be more than 0")
    server = EngineServer(
        args.root,
        token,
        folder,
        host=args.host,
        port=args.port,
        idle_timeout=args.idle_hours * 3600,
        max_sessions=args.max_sessions,
    )
    host, port = server.address
    if host not in ("127.0.0.1", "::1", "localhost"):
        print(
            f"inkloop engine: listening on {host}: the link is unencrypted (labels, CT tiles "
            "and models cross the network in clear) and anyone who reaches this port may try "
            "tokens; prefer 127.0.0.1 and an SSH tunnel",
            file=sys.stderr,
        )
    roots = ", ".join(str(r) for r in server.roots)
    print(
        f"inkloop engine: serving {roots} on {host}:{port}; token in {token_file}",
        file=sys.stderr,
        flush=True,
    )
    return _serve_until_stopped(server)


class _Terminated(SystemExit):
    """SIGTERM arrived while the server served: not an Exception, which a connection's
    handler might catch and log as that connection's error."""


def _serve_until_stopped(server) -> int:
    """Serve until Ctrl+C (exit status 130) or SIGTERM (systemctl stop, kill, a batch job's
    end). Either closes the server: its sessions' engines end and the refused connections it
    counted are logged. SIGTERM then ends the process, as it ends any program."""
    terminated = False
    try:
        with _sigterm_raised():
            server.serve_forever()
    except KeyboardInterrupt:
        return 130
    except _Terminated:
        terminated = True
    finally:
        server.close()
    if terminated:
        signal.raise_signal(signal.SIGTERM)  # by its default action again
    return 0


@contextlib.contextmanager
def _sigterm_raised():
    """Inside, a SIGTERM that would end the process (its default action, on the main thread)
    raises `_Terminated` here instead, once: a second one ends the process at once."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def raised(_signal, _frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise _Terminated(128 + signal.SIGTERM)  # the shell's status for it, if it escaped

    signal.signal(signal.SIGTERM, raised)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _port(text: str) -> int:
    """A TCP port: 0 (any free one) to 65535."""
    if not (text.isdigit() and int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0-65535)")
    return int(text)


def _at_least_one(text: str) -> int:
    if not (text.isdigit() and int(text) >= 1):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def _writable_folder(folder: Path) -> Path:
    """``folder``, made if missing; ValueError if sessions could not write there."""
    make_out_folder(folder, "--folder")
    try:
        tempfile.TemporaryDirectory(dir=folder).cleanup()  # as a session makes its own
    except OSError as error:
        raise ValueError(
            f"--folder {folder}: sessions cannot write there: {error.strerror}"
        ) from None
    return folder
