"""The HTTP session of remote segments: timeouts, answers bounded in bytes
(`inkloop.io._remote_bounds`) and logins (~/.netrc's, and one written in the URL, sent apart
from it; neither over plain http where https was asked for), and what a refused login means."""

from __future__ import annotations

import base64
import hashlib
import os
from urllib.parse import unquote, urlsplit

from inkloop.io._remote_common import without_login

#: a request may take this many read timeouts in all (5 min at the default 30 s): time for a
#: large chunk or side file on a slow line, not for a server that trickles on for ever
WHOLE_ANSWER_TIMEOUTS = 10
_SALT = os.urandom(16)  # a login's repr shows a digest of it, meaningless outside this process


def session_options(seconds: float, url: str) -> dict:
    """aiohttp's session settings: ``seconds`` of silence at most (connecting, or between two
    bytes), and `WHOLE_ANSWER_TIMEOUTS` times that for a request in all, so that a server
    that trickles (a byte every few seconds) ends in a timeout too; bodies read up to their
    bound (`BoundedAnswer`); ``trust_env`` for the login in ~/.netrc (or the file $NETRC
    names) and the proxies of the environment, which curl and wget read too; the login
    written in ``url`` sent by a `UrlLogin`, the stores given the URL without it; for an
    https ``url``, no login sent over plain http (`NoLoginOverHttp`)."""
    import aiohttp

    from inkloop.io._remote_bounds import BoundedAnswer

    total = WHOLE_ANSWER_TIMEOUTS * seconds
    timeout = aiohttp.ClientTimeout(total=total, sock_connect=seconds, sock_read=seconds)
    options = {"timeout": timeout, "trust_env": True, "response_class": BoundedAnswer}
    parts = urlsplit(url)
    middlewares = (UrlLogin(url),) if parts.username is not None else ()
    if parts.scheme.lower() == "https":
        middlewares += (NoLoginOverHttp(),)
    if middlewares:
        options["middlewares"] = middlewares
    return options


class UrlLogin:
    """An aiohttp middleware that sends the login written in a URL to that URL's origin, as
    aiohttp sends a URL's own: in place of ~/.netrc's, and not to another host a redirect
    leads to. The stores zarr holds then name the URL without it (napari prints their reprs
    in tracebacks). Its own repr, which fsspec's reuse of file systems compares, shows a
    digest of the login, never the password."""

    def __init__(self, url: str) -> None:
        import yarl

        parts = urlsplit(url)
        self.origin = yarl.URL(without_login(url)).origin()
        self.user, password = unquote(parts.username), unquote(parts.password or "")
        login = f"{self.user}:{password}".encode("latin1")  # as aiohttp encodes a URL's
        self.header = "Basic " + base64.b64encode(login).decode("ascii")

    async def __call__(self, request, handler):
        if request.url.origin() == self.origin:
            request.headers["Authorization"] = self.header
        return await handler(request)

    def __repr__(self) -> str:
        digest = hashlib.blake2b(self.header.encode(), key=_SALT, digest_size=6).hexdigest()
        return f"UrlLogin({self.user!r} at {self.origin}, digest {digest})"


class NoLoginOverHttp:
    """An aiohttp middleware, for a URL asked for over https, that sends no login (~/.netrc's,
    which aiohttp matches by host alone, or the URL's) with a request over plain http, as a
    redirect from https may lead to: anyone on the way could read it there."""

    async def __call__(self, request, handler):
        if request.url.scheme == "http":
            request.headers.popall("Authorization", None)
        return await handler(request)

    def __repr__(self) -> str:  # fsspec's reuse of file systems compares it
        return "NoLoginOverHttp()"


def refused_login(error, url: str) -> str:
    """Why a 401 or 403 (aiohttp's ``error``) came for ``url``: the login sent that was
    refused, or where to put one for the host that asked (a redirect's, which a login in the
    URL is not sent to), or that none goes over plain http after https."""
    answer = f"{error.status} {error.message}"
    info, host = error.request_info, urlsplit(url).hostname
    asked = info.real_url.host if info is not None else host
    sent = info.headers.get("Authorization") if info is not None else None
    if not sent and info is not None and _downgraded(url, info.real_url):
        return (
            f"redirected from https to plain http ({asked}:{info.real_url.port}), which asks "
            f"for a login ({answer}): none is sent over plain http, where others on the way "
            "could read it; open the segment from a URL the server keeps on https"
        )
    netrc, netrc_login = _netrc_login(asked)
    public = ", or the file is not public" if error.status == 403 else ""
    if sent and sent == netrc_login:
        return f"the login for {asked} in {netrc} was refused ({answer}): check it there{public}"
    if sent:
        return f"the login in the URL was refused ({answer})"
    who = "the server" if asked == host else f"redirected to {asked}, which"
    if error.status == 403:
        return f"{who} refused it ({answer}): check the login for {asked} in {netrc}{public}"
    return (
        f"{who} asks for a login ({answer}): put it in ~/.netrc (or the file $NETRC names) as "
        f"'machine {asked} login USER password PASSWORD'"
    )


def _downgraded(url: str, asked) -> bool:
    """Whether ``asked`` (a yarl URL a request went to) is plain http where ``url`` is https."""
    return urlsplit(url).scheme.lower() == "https" and asked.scheme == "http"


def _netrc_login(host: str | None) -> tuple[str, str | None]:
    """The netrc file aiohttp reads, as shown, and the Authorization its entry for ``host``
    sends (None: no entry)."""
    from aiohttp.helpers import basicauth_from_netrc, netrc_from_env

    shown = os.environ.get("NETRC") or "~/.netrc"
    try:
        return shown, basicauth_from_netrc(netrc_from_env(), host).encode()
    except LookupError:  # no file, or no entry for the host
        return shown, None
