"""Which inkloop each end of an engine server's link runs, and what is said when they differ.

The server's first frame is a Refused that every dock of handshake 2 reads and throws away
(one from before shows it: `_handshake.FOR_OLDER_DOCKS`); it ends with a mark naming the
server's inkloop and `WIRE`, a fingerprint of the messages it reads: their types, fields, the
fields' defaults and enum values (a changed default yields another mark). A dock compares
that mark with its own as it connects and says once when they differ, as the server says
what it cannot read of a dock's message, and a dock what it skips of the server's, rather
than either dropping the link without a word.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

from inkloop import __version__
from inkloop.engine import _events
from inkloop.engine._handshake import FOR_OLDER_DOCKS
from inkloop.engine._wire import ALLOWED, ENUMS, _fields
from inkloop.engine._wire_messages import Refused

# each side's mark is what `inkloop --version` prints there: the version alone may not differ
SAME = "install the same inkloop on both (`inkloop --version` prints the mark to compare)"


def _fingerprint() -> str:
    types = [(name, sorted(map(_field_mark, _fields(kind)))) for name, kind in ALLOWED.items()]
    enums = [(name, sorted(member.value for member in kind)) for name, kind in ENUMS.items()]
    return hashlib.sha256(json.dumps([sorted(types), sorted(enums)]).encode()).hexdigest()[:8]


def _field_mark(field: dataclasses.Field) -> str:
    """A field's name and default (a factory's value), as the fingerprint holds it."""
    if field.default is not dataclasses.MISSING:
        return f"{field.name}={field.default!r}"
    if field.default_factory is not dataclasses.MISSING:
        return f"{field.name}={field.default_factory()!r}"
    return field.name


WIRE = _fingerprint()
OURS = f"inkloop {__version__}, wire {WIRE}"
_MARK = re.compile(r" \[(inkloop \S+, wire [0-9a-f]{8})\]$")


def greeting() -> Refused:
    """The server's first frame: `FOR_OLDER_DOCKS`, marked with this side's versions."""
    return Refused(f"{FOR_OLDER_DOCKS} [{OURS}]")


def skew(first_frame) -> str | None:
    """What a dock says of the server whose first frame was ``first_frame``; None when both
    read the same messages."""
    mark = _MARK.search(first_frame.message) if isinstance(first_frame, Refused) else None
    if mark is None:
        return (
            "the engine server runs an older inkloop than this dock (one from before servers "
            f"named their version; this dock: {OURS}): a field it lacks, sent with other than its "
            "default (a new setting changed, say), drops the link each time it is sent: " + SAME
        )
    if mark.group(1) == OURS:
        return None
    return (
        f"the engine server runs {mark.group(1)} and this dock {OURS}: they read different "
        "messages, so what only one side knows is refused or skipped, and said so: " + SAME
    )


def unreadable_command(what: str) -> str:
    """What a server says of a dock's message naming ``what`` (a type or 'Type.field'),
    which it lacks."""
    return (
        f"this engine server ({OURS}) cannot read {what!r}, which the dock sent: the dock "
        f"runs a newer inkloop than the server; {SAME}"
    )


def unreadable_event(what: str) -> str:
    """What a dock says of the server's message naming ``what``, which it lacks."""
    said = (
        f"the engine server runs a newer inkloop than this dock ({OURS}): it sent {what!r}, "
        f"which this dock cannot read and skips (what it says is not shown here); {SAME}"
    )
    if what.startswith(f"{_events.State.__name__}."):  # that StateChanged is skipped whole
        said += (
            "; the engine's state shown here may be wrong until it next changes: Stop, then "
            "Finetune & preview, sets it anew"
        )
    return said
