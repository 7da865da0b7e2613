"""What io/_remote.py and io/_remote_store.py both use, kept apart so that neither imports
the other for it."""

from __future__ import annotations

import contextvars
from urllib.parse import urlsplit

#: the `guarded` call a read serves: zarr's tasks inherit the context of the thread asking
READER = contextvars.ContextVar("inkloop_remote_reader", default=None)


def without_login(url: str) -> str:
    """``url`` without a login written into it (https://USER:PASSWORD@host/…): what messages
    and folder names show."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()
