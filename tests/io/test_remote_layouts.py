"""Segments on a data server as researchers paste their URLs, from a real server on
127.0.0.1: a pyramid level's URL opens its segment, a flat mask is fetched where there is no
other, and the download command for a folder of layers works as written."""

from __future__ import annotations

import html
import io
import os
import re
import shlex
import shutil
import subprocess

import numpy as np
import pytest
import zarr

from inkloop.io import SegmentError, open_segment
from inkloop.io._remote import local_folder
from tests._http import MisbehavingHandler, serve, write_served_segment

pytest.importorskip("aiohttp")

NAME = "20230827161847"
PATHS = "full-scrolls/Scroll1/PHercParis4.volpkg/paths"  # where the server keeps segments


class ListsParent(MisbehavingHandler):
    """Folder listings that link "../" first, as nginx's and Apache's do."""

    def list_directory(self, path):
        entries = [("../", "../")] + [
            (name + "/" * os.path.isdir(os.path.join(path, name)), name)
            for name in sorted(os.listdir(path))
        ]
        links = "".join(
            f'<a href="{html.escape(href)}">{html.escape(n)}</a>\n' for href, n in entries
        )
        body = f"<html><body><pre>{links}</pre></body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


@pytest.fixture(scope="module")
def served(tmp_path_factory, synthetic):
    """Under /zarr/: a segment's OME-Zarr with its mask and labels, and a group of two
    segment arrays; under /flat/: one whose only mask is <id>_flat_mask.png; under `PATHS`:
    two segments as folders of TIFF layers."""
    root = tmp_path_factory.mktemp("served")
    volume = write_served_segment(root / "zarr", NAME, synthetic)
    group = zarr.open_group(root / "zarr" / "segments.zarr", mode="w")
    for name in ("20230702185753", "20230929220926"):
        group.create_array(name, data=volume[:2])
    shutil.copytree(root / "zarr", root / "flat")
    (root / "flat" / f"{NAME}_mask.png").rename(root / "flat" / f"{NAME}_flat_mask.png")
    for name in (NAME, "20231012184420"):
        shutil.copytree(root / "zarr" / "layers", root / PATHS / name / "layers")
        shutil.copy(root / "zarr" / f"{NAME}_mask.png", root / PATHS / name / f"{name}_mask.png")
    with serve(root, ListsParent) as (base, _server):
        yield base, volume


@pytest.mark.parametrize("level", ["0", "0/"])
def test_a_level_url_opens_its_segment_with_its_side_files(served, level):
    """The villa docs read a segment as zarr.open(url)["0"]: researchers paste .../<id>.zarr/0/."""
    base, volume = served
    store = f"{base}/zarr/{NAME}.zarr"

    segment = open_segment(f"{store}/{level}")

    assert segment.name == NAME
    assert segment.shape == volume.shape
    assert set(segment.files) == {"mask", "ink_labels"}
    assert segment.sidecar_folder == local_folder(store)  # its labels are the store's


def test_segment_arrays_of_one_group_keep_their_own_names(served):
    base, _volume = served
    segment = open_segment(f"{base}/zarr/segments.zarr/20230702185753")
    assert segment.name == "20230702185753"
    assert segment.sidecar_folder == local_folder(f"{base}/zarr/segments.zarr/20230702185753")


def test_a_flat_mask_is_fetched_where_the_server_has_no_other(served):
    base, _volume = served
    segment = open_segment(f"{base}/flat/{NAME}.zarr")
    assert segment.files["mask"].name == f"{NAME}_flat_mask.png"
    assert np.asarray(segment.mask).any()


@pytest.mark.skipif(shutil.which("wget") is None, reason="needs GNU wget")
@pytest.mark.parametrize("pasted", [f"{NAME}/", f"{NAME}/layers/", f"{NAME}/layers/00.tif"])
def test_the_download_command_for_a_folder_of_layers_fetches_that_segment_alone(
    served, tmp_path, pasted
):
    base, volume = served
    with pytest.raises(SegmentError, match="opens with no download") as raised:
        open_segment(f"{base}/{PATHS}/{pasted}")
    command = re.search(r"wget .*", str(raised.value)).group()
    assert command.endswith(f'--cut-dirs=4 -R "index.html*" {base}/{PATHS}/{NAME}/')

    subprocess.run(shlex.split(command), cwd=tmp_path, check=True, timeout=60)

    assert [p.name for p in tmp_path.iterdir()] == [NAME]  # not the other segment
    segment = open_segment(tmp_path / NAME)
    assert (segment.shape, set(segment.files)) == (volume.shape, {"mask"})
