"""An engine server judges a segment or a model (``init``) by where its path leads, not by how
it is spelt: `<root>/..` and a link in a served folder that points out of it are refused, on
real sockets on 127.0.0.1, before an engine starts. (Paths plainly outside the served
folders: test_remote_refusals.py.)"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from inkloop.engine._wire import Refused, Spawn, encode, read_frame, socket_reader
from tests._engine import past_handshake, process_settings


@pytest.fixture
def outside(tmp_path_factory):
    """A folder beside the served one, with a model in it."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "model.pt").write_bytes(b"not for this server's clients")
    return folder


def _spellings(root, outside) -> dict[str, str]:
    """Two ways to name ``outside`` from within ``root``."""
    (root / "link").symlink_to(outside, target_is_directory=True)
    return {"dots": f"{root}/../{outside.name}", "link": f"{root}/link"}


def _answer(server, segment: str, init: str | None = None):
    """What the server answers a Spawn for ``segment`` with the model ``init``."""
    plane = np.zeros((16, 16), np.uint8)
    settings = dataclasses.replace(process_settings(), init=init)
    with past_handshake(server.address) as sock:
        sock.sendall(encode(Spawn(segment, {}, settings, plane, plane.astype(bool), 1)))
        return read_frame(socket_reader(sock))


@pytest.mark.parametrize("spelling", ["dots", "link"])
def test_a_segment_spelt_from_inside_a_served_folder_but_outside_is_refused(
    served, tmp_path, outside, spelling
):
    server, thread = served
    thread.start()
    segment = _spellings(tmp_path, outside)[spelling]
    answer = _answer(server, segment)
    assert answer == Refused(f"{segment} is not under the folders this server serves")


@pytest.mark.parametrize("spelling", ["dots", "link"])
def test_a_model_spelt_from_inside_a_served_folder_but_outside_is_refused(
    served, tmp_path, outside, spelling
):
    server, thread = served
    thread.start()
    init = _spellings(tmp_path, outside)[spelling] + "/model.pt"
    answer = _answer(server, str(tmp_path), init)
    assert answer == Refused(f"{init} is not under the folders this server serves")
