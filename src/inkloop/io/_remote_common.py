"""What io/_remote.py and io/_remote_store.py both use, kept apart so that neither imports
the other for it."""

from __future__ import annotations

import asyncio
import contextvars
import json
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


def describe_failure(error: Exception, url: str) -> str:
    """What went wrong reading ``url`` (a zarr's metadata or chunk, a side file), in words for
    the user: a timeout, a 404, a truncated answer, one too large, a login refused, a web
    page for data."""
    import aiohttp

    from inkloop.io._chunk_layouts import WebPageAnswer
    from inkloop.io._remote_bounds import AnswerTooLarge
    from inkloop.io._remote_logins import refused_login

    if isinstance(error, aiohttp.ServerTimeoutError):  # silence: no byte for the read timeout
        return "the server did not answer in time"
    if isinstance(error, (TimeoutError, asyncio.TimeoutError)):  # the whole answer's deadline
        return "the server is too slow: it sends, but its answer did not arrive whole in time"
    if isinstance(error, FileNotFoundError):
        return "not found on the server (404)"
    if isinstance(error, aiohttp.ClientPayloadError):
        return f"the server sent a truncated response ({error})"
    if isinstance(error, WebPageAnswer):
        return (
            f"the network answered with a web page, not chunk {error.key}: a Wi-Fi login "
            "page, perhaps (log in in a browser, then read again)"
        )
    if isinstance(error, aiohttp.TooManyRedirects):  # its status is 0
        return f"its redirects go round in a loop (given up after {len(error.history)})"
    if isinstance(error, aiohttp.ClientResponseError) and error.status in (401, 403):
        return refused_login(error, url)
    if isinstance(error, aiohttp.ClientResponseError):
        return f"the server answered {error.status} {error.message}"
    if isinstance(error, AnswerTooLarge):
        return str(error)
    if isinstance(error, aiohttp.ClientError):
        return f"the connection failed ({error})"
    if isinstance(error, json.JSONDecodeError) and error.doc.lstrip()[:1] in ("<", b"<"):
        return (
            "the network answered with a web page, not the zarr's metadata: a Wi-Fi login "
            "page, perhaps (log in in a browser, then open it again)"
        )
    return f"could not be read ({type(error).__name__}: {error})"
