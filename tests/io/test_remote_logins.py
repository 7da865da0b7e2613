"""Logins and what the server answered, from a real server on 127.0.0.1: a login written
into a URL stays out of the stores zarr holds (napari prints their reprs in tracebacks),
and each message points where the problem is: the netrc entry that was refused, the host a
redirect went to, a redirect loop, a web page where the zarr was asked for."""

from __future__ import annotations

import base64
import traceback

import numpy as np
import pytest

from inkloop.io import SegmentError, open_segment
from inkloop.io._remote import open_zarr_url
from tests._http import LOGIN, NAME, MisbehavingHandler, serve, write_served_segment

pytest.importorskip("aiohttp")

SECRET = ("reader", "Pw-f6-1b7e9c")  # /secret/ asks for it: a password no other text holds
PAGE = b"<!DOCTYPE html><html><body>Log in to the hotel Wi-Fi</body></html>"


class _Handler(MisbehavingHandler):
    """`MisbehavingHandler`, plus /secret/ (401 without `SECRET`, then as served but for
    its chunks: 410 Gone), /elsewhere/ (a redirect to the same path on localhost), /loop/ (a
    redirect to itself) and /portal/ (a web page for every file, as a Wi-Fi login does)."""

    def do_GET(self):  # noqa: N802  (http.server's name)
        if self.path.startswith("/secret/"):
            self._secret()
        elif self.path.startswith("/elsewhere/"):
            port = self.server.server_port
            self._redirect(f"http://localhost:{port}{self.path.removeprefix('/elsewhere')}")
        elif self.path.startswith("/loop/"):
            self._redirect(self.path)
        elif self.path.startswith("/portal/"):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)
        else:
            super().do_GET()

    def _secret(self) -> None:
        expected = "Basic " + base64.b64encode(":".join(SECRET).encode()).decode()
        if self.headers["Authorization"] != expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="data"')
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif "/c/" in self.path:
            self.send_error(410)  # a failure of the server that is not tried again
        else:
            self.path = self.path.removeprefix("/secret")
            super().do_GET()

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def served(tmp_path_factory, synthetic):
    root = tmp_path_factory.mktemp("served")
    volume = write_served_segment(root, NAME, synthetic)
    with serve(root, _Handler) as (base, server):
        yield base, server, volume


def _with_login(url: str, login) -> str:
    return url.replace("://", "://{}:{}@".format(*login))


def _failed_read(volume) -> SegmentError:
    """The error of reading ``volume``'s first chunk, as napari's slicing reads a layer's
    array (nothing in this frame holds the URL)."""
    try:
        np.asarray(volume[0, :32, :32])
    except SegmentError as error:
        return error
    raise AssertionError("the read did not fail")


def _locals_shown(error: BaseException) -> str:
    """The locals of every frame of ``error``'s traceback and of the errors it came from, as
    napari's traceback prints them."""
    shown, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        for frame, _ in traceback.walk_tb(error.__traceback__):
            for value in frame.f_locals.values():
                try:
                    shown.append(repr(value))
                except Exception:  # some of dask's expressions fail to repr
                    continue
        error = error.__cause__ or error.__context__
    return "\n".join(shown)


def _netrc(tmp_path, monkeypatch, host: str, login) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine {host} login {login[0]} password {login[1]}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))


def test_a_login_in_the_url_is_in_no_store_and_no_traceback_of_a_failed_read(served):
    """napari prints a failed tile's traceback with every frame's locals: the stores zarr
    holds showed the URL with its password (87 lines of one traceback)."""
    base, _server, _volume = served
    url = _with_login(f"{base}/secret/{NAME}.zarr", SECRET)
    segment = open_segment(url)

    error = _failed_read(segment.levels[0])  # the array napari's layer holds

    assert "the server answered 410 Gone" in str(error)  # the login was sent
    assert SECRET[1] not in _locals_shown(error)
    array = open_zarr_url(url)["0"]
    assert SECRET[1] not in repr(array) + repr(vars(array.store)) + repr(vars(array.store._store))


def test_a_wrong_login_then_the_right_one_in_one_process(served):
    """fsspec reuses a file system opened with the same options: a wrong password must not
    stay in use once the right one is given."""
    base, _server, volume = served
    url = f"{base}/private/{NAME}.zarr"
    with pytest.raises(SegmentError, match="the login in the URL was refused"):
        open_segment(_with_login(url, (LOGIN[0], "wrong")))
    assert open_segment(_with_login(url, LOGIN)).shape == volume.shape


def test_a_wrong_password_in_netrc_is_said_to_be_refused(served, tmp_path, monkeypatch):
    base, _server, _volume = served
    _netrc(tmp_path, monkeypatch, "127.0.0.1", (LOGIN[0], "wrong"))
    with pytest.raises(SegmentError) as raised:
        open_segment(f"{base}/private/{NAME}.zarr")
    message = str(raised.value)
    assert f"the login for 127.0.0.1 in {tmp_path / 'netrc'} was refused (401" in message
    assert "put it in" not in message


def test_a_redirect_to_a_host_that_asks_for_a_login_names_that_host(served, tmp_path, monkeypatch):
    base, _server, _volume = served
    url = f"{base}/elsewhere/private/{NAME}.zarr"
    _netrc(tmp_path, monkeypatch, "127.0.0.1", LOGIN)  # fine, but not sent to localhost
    with pytest.raises(SegmentError) as raised:
        open_segment(url)
    message = str(raised.value)
    assert message.startswith(f"{url}: redirected to localhost, which asks for a login (401")
    assert "machine localhost login USER" in message
    assert "machine 127.0.0.1" not in message

    monkeypatch.setenv("NETRC", str(tmp_path / "absent"))
    with pytest.raises(SegmentError) as raised:  # a right login in the URL: not refused
        open_segment(_with_login(url, LOGIN))
    message = str(raised.value)
    assert "redirected to localhost, which asks for a login" in message
    assert "the login in the URL was refused" not in message
    assert LOGIN[1] not in message.replace(url, "")


def test_a_redirect_loop_is_said_so(served):
    base, _server, _volume = served
    with pytest.raises(SegmentError, match="its redirects go round in a loop") as raised:
        open_segment(f"{base}/loop/{NAME}.zarr")
    assert "answered 0" not in str(raised.value)


def test_a_web_page_where_the_zarr_should_be_is_said_to_be_one(served):
    """Hotel Wi-Fi answers every request with its login page until the user logs in."""
    base, _server, _volume = served
    with pytest.raises(SegmentError, match="the network answered with a web page") as raised:
        open_segment(f"{base}/portal/{NAME}.zarr")
    assert "Wi-Fi" in str(raised.value)
    assert "JSONDecodeError" not in str(raised.value)
