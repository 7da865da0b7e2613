"""How an engine server and a dock prove to each other that they know the token, which never
crosses the wire, before either says anything else.

The server speaks first, before it reads a byte: a Refused that only a dock from before this
handshake reads (such a dock sends its Hello and reads one answer, so its user is told to
upgrade), then a `Challenge` with a fresh random nonce. The dock answers (`Answer`) with a
fresh nonce of its own and HMAC-SHA256(token, server nonce ‖ dock nonce ‖ "client"). The
server checks it in constant time and proves itself (`Proof`) with the same HMAC ending in
"server", which the dock checks before it sends its labels, a path or a session id. Both
nonces are new on every connection, so an exchange recorded once proves nothing on the next
one, either way. What follows is not encrypted: across a network, use an SSH tunnel.

Only the messages and their checks live here, and what a token file must be (`check_token`);
the sockets are `_server`'s and `_sockets`'s.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

HANDSHAKE = 2  # this handshake's version; 1 was a Hello carrying the bare token
NONCE_BYTES = 32
# A token file's token must have MIN_TOKEN characters or more and no whitespace: 22 random
# characters of the server's alphabet (token_urlsafe) are 132 bits. An impostor on the port
# records one Answer and can test guesses offline, so a passphrase is refused; the server
# makes tokens of 43 characters (32 random bytes).
MIN_TOKEN = 22
FOR_OLDER_DOCKS = (
    f"this engine server speaks handshake {HANDSHAKE}, which this inkloop is too old for: "
    "install the same inkloop version here and on the server"
)


class HandshakeError(ValueError):
    """An answer or proof that does not hold (a wrong token, an impostor, another version)."""


class TokenFileError(ValueError):
    """A token file others may read or change, or a token that could be guessed."""


@dataclass(frozen=True)
class Challenge:
    """The server's first word: its handshake version and a fresh nonce (hex)."""

    version: int
    nonce: str


@dataclass(frozen=True)
class Answer:
    """The dock's proof that it knows the token, with its own fresh nonce (hex)."""

    version: int
    nonce: str
    proof: str


@dataclass(frozen=True)
class Proof:
    """The server's proof that it knows the token too (hex)."""

    proof: str


def new_challenge() -> tuple[Challenge, bytes]:
    """A Challenge to send, and its nonce (kept to check the answer)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return Challenge(HANDSHAKE, nonce.hex()), nonce


def answer(challenge, token: str) -> tuple[Answer, bytes]:
    """The dock's Answer to ``challenge``, and the dock's nonce (kept to check the Proof).
    HandshakeError if ``challenge`` is not a Challenge of this version."""
    if not isinstance(challenge, Challenge):
        raise HandshakeError(f"sent a {type(challenge).__name__} where a Challenge was due")
    if challenge.version != HANDSHAKE:
        raise HandshakeError(
            f"speaks handshake {challenge.version} and this inkloop {HANDSHAKE}: "
            "install the same inkloop version on both"
        )
    theirs, ours = _nonce(challenge.nonce), secrets.token_bytes(NONCE_BYTES)
    key = token.encode()
    return Answer(HANDSHAKE, ours.hex(), _mac(key, theirs, ours, b"client").hex()), ours


def check_answer(received, server_nonce: bytes, token: bytes) -> Proof:
    """The server's Proof for the dock's ``received`` Answer; HandshakeError if that does not
    prove the dock knows ``token``."""
    if not isinstance(received, Answer):
        raise HandshakeError(f"expected an Answer, got a {type(received).__name__}")
    if received.version != HANDSHAKE:
        raise HandshakeError(f"a dock of handshake {received.version}, not {HANDSHAKE}")
    dock_nonce = _nonce(received.nonce)
    expected = _mac(token, server_nonce, dock_nonce, b"client")
    if not hmac.compare_digest(_hex(received.proof, len(expected)), expected):
        raise HandshakeError("no valid token")
    return Proof(_mac(token, server_nonce, dock_nonce, b"server").hex())


def check_proof(received, challenge: Challenge, dock_nonce: bytes, token: str) -> None:
    """HandshakeError unless ``received`` proves the server knows ``token``."""
    expected = _mac(token.encode(), _nonce(challenge.nonce), dock_nonce, b"server")
    proof = received.proof if isinstance(received, Proof) else ""
    if not hmac.compare_digest(_hex(proof, len(expected)), expected):
        raise HandshakeError("its proof is wrong")


def check_token(path: Path, token: str) -> None:
    """TokenFileError, saying how to mend it, if the file ``path`` holding ``token`` is open to
    group or others or owned by another user (as ssh refuses such keys), or ``token`` looks
    hand-made: shorter than `MIN_TOKEN`, or holding whitespace (a passphrase)."""
    if os.name == "posix":  # no such modes on Windows
        status = path.stat()
        if status.st_uid != os.getuid():
            raise TokenFileError(
                f"{path}: the token file belongs to another user (uid {status.st_uid}): "
                "use one of your own (the server makes one where there is none)"
            )
        if status.st_mode & 0o077:
            raise TokenFileError(
                f"{path}: group or others have access to the token file "
                f"(mode {status.st_mode & 0o777:o}): run chmod 600 {path}"
            )
    if len(token) < MIN_TOKEN or any(c.isspace() for c in token):
        what = "holds spaces" if len(token) >= MIN_TOKEN else f"is {len(token)} characters"
        raise TokenFileError(
            f"{path}: the token {what}: use the token the server makes (delete the file and "
            "start the server again); an impostor on the port could guess a hand-made one "
            f"offline from one exchange it records (a token needs {MIN_TOKEN} characters or "
            "more and no spaces)"
        )


def _mac(token: bytes, server_nonce: bytes, dock_nonce: bytes, side: bytes) -> bytes:
    return hmac.new(token, server_nonce + dock_nonce + side, hashlib.sha256).digest()


def _nonce(text: str) -> bytes:
    nonce = _hex(text, NONCE_BYTES)
    if len(nonce) != NONCE_BYTES:
        raise HandshakeError(f"a nonce must be {NONCE_BYTES} bytes")
    return nonce


def _hex(text: str, size: int) -> bytes:
    """``text``'s bytes ('' if it is not ``size`` bytes of hex: compared, never matching)."""
    try:
        data = bytes.fromhex(text)
    except (TypeError, ValueError):
        return b""
    return data if len(data) == size else b""
