"""A segment opened from a URL with a login written into it: the message that it has no labels
to train on names the URL without the login (it ends up in SLURM and CI logs)."""

from __future__ import annotations

import pytest

from inkloop._command import as_command
from inkloop.io import load_labels, open_segment
from tests._http import LOGIN, NAME, serve, write_served_segment


def test_no_labels_at_a_url_with_a_login_is_said_without_the_login(tmp_path, synthetic):
    write_served_segment(tmp_path, NAME, synthetic)
    (tmp_path / f"{NAME}_inklabels.png").unlink()
    with serve(tmp_path) as (base, _):
        address = f"{base}/private/{NAME}.zarr"  # asks for LOGIN, as the data server does
        segment = open_segment(address.replace("://", "://{}:{}@".format(*LOGIN)))
        with pytest.raises(ValueError, match="no ink labels") as error, as_command():
            load_labels(segment)
    assert str(error.value).startswith(f"{address}: the segment has no ink labels; pass")
    assert LOGIN[1] not in str(error.value)
