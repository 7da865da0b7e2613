"""A real HTTP server on 127.0.0.1 for remote-segment tests, with ways to misbehave."""

from __future__ import annotations

import base64
import http.server
import re
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import tifffile
import zarr

from inkloop.io import write_png

#: the login /private/ asks for, as the community's data server asks for one
LOGIN = ("registeredusers", "only")
LAG_S = 1.0  # how long /lagging/ holds its answers, unless the test lets them go sooner
NAME = "20240303000000"  # the served segment's name: a timestamp, as the data server's are


class MisbehavingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the folder, except under /missing/ (404), /stall/ (never answers),
    /truncate/ (chunks cut off halfway), /private/ (401 without `LOGIN`), /unlisted/ (no
    folder listings: 404) and /lagging/ (all but zarr.json answered after `LAG_S`, or once
    ``release`` is set). Byte ranges are honoured under /ranges/ alone: elsewhere the whole
    file is sent, as http.server (python -m http.server) does. Records every path asked
    for, and those refused a login."""

    def do_HEAD(self):
        if self._allowed():
            self.path = self._unlisted(self.path.removeprefix("/private"))
            super().do_HEAD()

    def do_GET(self):
        self.server.requests.append(self.path)
        if "/lagging/" in self.path and not self.path.endswith("/zarr.json"):
            self.server.release.wait(LAG_S)
        if not self._allowed():
            return
        self.path = self.path.removeprefix("/private").replace("/lagging/", "/", 1)
        if self.path.startswith("/missing/"):
            self.send_error(404)
        elif self.path.startswith("/stall/"):
            self.server.release.wait(30)  # the client gives up long before
        elif self.path.startswith("/truncate/") and "/c/" in self.path:
            self._send_half(self.path.removeprefix("/truncate"))
        elif self.path.startswith("/ranges/") and (file := self._file(self.path[len("/ranges") :])):
            self._send_range(file)
        else:
            self.path = self._unlisted(self.path.removeprefix("/truncate").removeprefix("/ranges"))
            super().do_GET()

    def _unlisted(self, path: str) -> str:
        """``path`` without /unlisted/, noting whether it was there."""
        self.listed = not path.startswith("/unlisted/")
        return path.removeprefix("/unlisted")

    def list_directory(self, path):
        if self.listed:
            return super().list_directory(path)
        self.send_error(404)
        return None

    def _allowed(self) -> bool:
        """Whether the request may go on; a 401 asking for a login is sent if not."""
        expected = "Basic " + base64.b64encode(":".join(LOGIN).encode()).decode()
        if not self.path.startswith("/private/") or self.headers["Authorization"] == expected:
            return True
        self.server.refused.append(self.path)  # before the answer: the client has it after
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="data"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def _file(self, path: str) -> Path | None:
        """The file ``path`` serves, or None where none is there."""
        file = Path(self.directory) / path.lstrip("/")
        return file if file.is_file() else None

    def _send_range(self, file: Path) -> None:
        """The part of ``file`` its Range header asks for (one range: bytes=A-B, A- or -N) as
        206 Partial Content, as data servers answer; all of it where none is asked."""
        body = file.read_bytes()
        asked = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range") or "")
        if asked is None:
            start, end = 0, len(body)
        elif not asked[1]:  # the last N bytes
            start, end = max(len(body) - int(asked[2]), 0), len(body)
        else:
            start, end = int(asked[1]), min(int(asked[2] or len(body) - 1) + 1, len(body))
        self.send_response(200 if asked is None else 206)
        if asked is not None:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(body)}")
        self.send_header("Content-Length", str(end - start))
        self.end_headers()
        self.wfile.write(body[start:end])

    def _send_half(self, path: str) -> None:
        body = (Path(self.directory) / path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass


def write_served_segment(root: Path, name: str, synthetic) -> np.ndarray:
    """``synthetic`` as ``<name>.zarr`` (OME-Zarr 0.5, 32² chunks) with its mask and labels
    beside it and its TIFF layers in ``layers/``, as a data server lays a segment out;
    returns the volume."""
    group = zarr.create_group(str(root / f"{name}.zarr"), zarr_format=3)
    volume = (synthetic.volume // 256).astype(np.uint8)
    (root / "layers").mkdir()
    for z, layer in enumerate(volume):
        tifffile.imwrite(root / "layers" / f"{z:02d}.tif", layer)
    group.create_array("0", data=volume, chunks=(1, 32, 32))
    group.attrs["ome"] = {"version": "0.5", "multiscales": [{"datasets": [{"path": "0"}]}]}
    write_png(root / f"{name}_mask.png", synthetic.mask.astype(np.uint8) * 255)
    write_png(root / f"{name}_inklabels.png", synthetic.ink.astype(np.uint8) * 255)
    return volume


class _Server(http.server.ThreadingHTTPServer):
    # socketserver's backlog of 5 drops the connections zarr opens at once beyond it, and
    # each then waits for the client's SYN retry (1 s): data servers keep far longer queues
    request_queue_size = 128


@contextmanager
def serve(root: Path, handler=MisbehavingHandler, events=()):
    """Serve ``root`` on 127.0.0.1 with ``handler`` (a `MisbehavingHandler`); yields the
    base URL and the server (``requests``, ``refused``, and a threading.Event for
    ``release`` and each name in ``events``)."""
    serves = lambda *a: handler(*a, directory=str(root))  # noqa: E731
    server = _Server(("127.0.0.1", 0), serves)
    server.requests, server.refused = [], []
    for name in ("release", *events):
        setattr(server, name, threading.Event())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
