"""`painted`, the one check of inkloop's mark on a label file: True, False, or None where
the header cannot be read (closing review D8 of session 42, finding 4)."""

from __future__ import annotations

import numpy as np

from inkloop.io._label_images import PAINTED, painted
from inkloop.io._write import encode_png


def test_painted_tells_inkloops_another_tools_none_and_a_damaged_one(tmp_path):
    ink = np.zeros((8, 8), np.uint8)
    encode_png(tmp_path / "ours.png", ink, PAINTED)
    encode_png(tmp_path / "theirs.png", ink, None)
    (tmp_path / "damaged.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    assert painted(tmp_path / "ours.png") is True
    assert painted(tmp_path / "theirs.png") is False
    assert painted(tmp_path / "missing.png") is False
    assert painted(tmp_path / "damaged.png") is None
