"""The one error type a user sees for bad segment input."""

from __future__ import annotations


class SegmentError(ValueError):
    """A segment, layer, mask or label file that cannot be used; the message names file and fix."""
