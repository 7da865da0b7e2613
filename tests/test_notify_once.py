"""`notify_once`: the one home of "tell the user once per key" (a URL, a folder, an array)."""

from __future__ import annotations

import warnings

from inkloop._notify import InkloopWarning, notify_once


def test_each_key_is_said_once_per_set_and_points_at_its_caller():
    told, other = set(), set()
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")  # what notify_once leaves out is its own doing
        for _ in range(2):
            notify_once(told, "https://a/seg.zarr", "a: missing")
            notify_once(told, ("missing", "0"), "b: missing")
            notify_once(other, "https://a/seg.zarr", "a: in another set")
    assert [str(w.message) for w in said] == ["a: missing", "b: missing", "a: in another set"]
    assert {w.category for w in said} == {InkloopWarning}
    assert {w.filename for w in said} == {__file__}  # the line that asked, not _notify.py's
    assert told == {"https://a/seg.zarr", ("missing", "0")}
