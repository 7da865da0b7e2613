"""Without --keep-going a batch stops at the first segment that fails, in this process and
on a cluster (where a segment's layers are read as it is staged, here): nothing of the
later segments is made."""

from __future__ import annotations

import pytest

from tests.predict import test_batch_keep_going as keep_going
from tests.predict.test_batch_keep_going import _damage_a_layer, _predict

batch = keep_going.batch  # its fixture: segments a, b and c and an untrained tiny model


@pytest.mark.parametrize(
    "scheduler",
    [pytest.param((), id="in-process"), pytest.param(("--scheduler", "local:1"), id="local:1",
                                                     marks=pytest.mark.slow)],
)  # fmt: skip
def test_without_keep_going_a_failed_segment_stops_the_batch(batch, capsys, scheduler):
    _damage_a_layer(batch / "b")  # its staging reads the damaged tile, on a cluster too
    assert _predict("b", "a", "--out-dir", "out", *scheduler) == 1
    err = capsys.readouterr().err
    damaged = batch / "b" / "layers" / "02.tif"
    assert err.startswith(f"inkloop predict: error: {damaged}: cannot be decoded")
    assert err.count("\n") == 1
    assert not (batch / "out").exists() or list((batch / "out").iterdir()) == []  # nor a's
