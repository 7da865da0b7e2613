"""A test server whose side files (and metadata keys it lacks) misbehave as real servers do,
and the folders it serves: the test server of `tests._http` with more ways to fail."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import zarr

from inkloop.io import write_png
from tests._http import NAME, MisbehavingHandler, write_served_segment

PAGE = b"<!DOCTYPE html><html><body>Sorry, no such page</body></html>"


class SideFileFaults(MisbehavingHandler):
    """Under /s3/ a file the folder lacks (or a folder) is answered 403, as S3 and CloudFront
    answer without list rights; under /html/ with a web page; under /nolength/ a PNG is sent
    half, with no Content-Length, and the connection closed; under /flaky/ each PNG's first
    request is answered 500; under /supfails/ a supervision mask, and under /versionfails/ a
    versioned label file, always 500. Other modes (/unlisted/) may follow the prefix."""

    MODES = ("s3", "html", "nolength", "flaky", "supfails", "versionfails")

    def do_GET(self):  # noqa: N802  (http.server's name)
        mode, _, rest = self.path[1:].partition("/")
        if mode not in self.MODES:
            return super().do_GET()
        file = Path(self.directory) / rest.split("?")[0].removeprefix("unlisted/")
        name = file.name
        failed = self.server.__dict__.setdefault("failed", set())
        if mode == "s3" and not file.is_file():
            return self._answer(403, b"<Error><Code>AccessDenied</Code></Error>", "text/xml")
        if mode == "html" and not file.exists():
            return self._answer(200, PAGE, "text/html")
        if (mode == "supfails" and "_supervision_mask" in name) or (
            mode == "versionfails" and "_inklabels_v" in name
        ):
            return self._answer(500, b"", "text/plain")
        if mode == "flaky" and name.endswith(".png") and self.path not in failed:
            failed.add(self.path)
            return self._answer(500, b"", "text/plain")
        if mode == "nolength" and name.endswith(".png") and file.is_file():
            return self._send_cut(file)
        self.path = f"/{rest}"
        return super().do_GET()

    def _answer(self, status: int, body: bytes, kind: str) -> None:
        self.server.requests.append(self.path)
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_cut(self, file: Path) -> None:
        self.server.requests.append(self.path)
        body = file.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.close_connection = True


def box(y0: int, y1: int, shape: tuple[int, int]) -> np.ndarray:
    """A uint8 image of ``shape`` with 255 in rows y0:y1, columns 10:60."""
    image = np.zeros(shape, np.uint8)
    image[y0:y1, 10:60] = 255
    return image


def write_served_folders(root: Path, synthetic) -> dict[str, np.ndarray]:
    """Folders of one segment, as a data server lays them out: plain/ (mask and unversioned
    labels); versions/ (those, and a v2 pair whose ink is `box` (10, 20) and supervision
    `box` (5, 30)); v2only/ (the v2 pair alone); badmask/ (a 10 x 10 mask); v2group/ (a v2
    OME-Zarr group, as dl.ash2txt.org serves them). Returns the v2 pair's arrays."""
    write_served_segment(root / "plain", NAME, synthetic)
    shutil.copytree(root / "plain", root / "versions")
    shape = synthetic.mask.shape
    pair = {"ink": box(10, 20, shape), "supervision": box(5, 30, shape)}
    for key, stem in (("ink", "inklabels_v2"), ("supervision", "supervision_mask_v2")):
        write_png(root / "versions" / f"{NAME}_{stem}.png", pair[key], durable=False)
    shutil.copytree(root / "versions", root / "v2only")
    (root / "v2only" / f"{NAME}_inklabels.png").unlink()
    shutil.copytree(root / "plain", root / "badmask")
    small = np.full((10, 10), 255, np.uint8)
    write_png(root / "badmask" / f"{NAME}_mask.png", small, durable=False)
    (root / "v2group").mkdir()
    shutil.copy(root / "plain" / f"{NAME}_mask.png", root / "v2group")
    group = zarr.open_group(root / "v2group" / f"{NAME}.zarr", mode="w", zarr_format=2)
    group.create_array("0", data=(synthetic.volume // 256).astype(np.uint8), chunks=(1, 32, 32))
    group.attrs["multiscales"] = [{"version": "0.4", "datasets": [{"path": "0"}]}]
    return pair
