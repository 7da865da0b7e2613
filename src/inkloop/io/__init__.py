"""Segments, layers and labels on disk (Qt-free)."""

from inkloop.io._errors import SegmentError
from inkloop.io._images import read_image
from inkloop.io._sample import sample_segment_path
from inkloop.io._segment import Segment, open_segment, read_label_image
from inkloop.io._sources import detect_format
from inkloop.io._write import write_layer, write_png

__all__ = [
    "Segment",
    "SegmentError",
    "detect_format",
    "open_segment",
    "read_image",
    "read_label_image",
    "sample_segment_path",
    "write_layer",
    "write_png",
]
