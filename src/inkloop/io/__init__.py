"""Segments, layers and labels on disk (Qt-free)."""

from inkloop.io._autosaved import autosaved_labels
from inkloop.io._errors import SegmentError
from inkloop.io._images import read_image
from inkloop.io._label_images import (
    ink_levels,
    is_binary_mask,
    label_arrays,
    mask_values,
    read_label_image,
)
from inkloop.io._labels import (
    initial_labels,
    load_labels,
    probability_map_message,
    save_labels,
    write_label_files,
)
from inkloop.io._prediction_labels import labels_from_prediction
from inkloop.io._prediction_metadata import recorded_provenance
from inkloop.io._remote import is_url, local_folder, segment_location, shown_location
from inkloop.io._sample import (
    in_package_data,
    sample_copy,
    sample_segment_path,
    sample_truth_path,
    truth_path,
)
from inkloop.io._segment import Segment, as_segment, open_segment
from inkloop.io._sidefiles import (
    DEFAULT_PREDICTION_FORMAT,
    PREDICTION_FORMATS,
    checkpoint_path,
    is_prediction_file,
    is_prediction_pyramid,
    label_paths,
    prediction_kind,
    prediction_levels,
    prediction_origin,
    prediction_output,
    prediction_path,
    prediction_stem,
    read_prediction,
    rounds_path,
    rounds_path_for,
    stray_side_files_hint,
    supervision_path_for,
    with_prediction_format,
)
from inkloop.io._sources import detect_format
from inkloop.io._validation import (
    read_validation_region,
    save_validation_region,
    validation_path,
)
from inkloop.io._write import atomic_path, check_writable, write_layer, write_png

__all__ = [
    "DEFAULT_PREDICTION_FORMAT",
    "PREDICTION_FORMATS",
    "Segment",
    "SegmentError",
    "as_segment",
    "atomic_path",
    "autosaved_labels",
    "check_writable",
    "checkpoint_path",
    "detect_format",
    "in_package_data",
    "initial_labels",
    "ink_levels",
    "is_binary_mask",
    "is_prediction_file",
    "is_prediction_pyramid",
    "is_url",
    "label_arrays",
    "label_paths",
    "labels_from_prediction",
    "load_labels",
    "local_folder",
    "mask_values",
    "open_segment",
    "prediction_kind",
    "prediction_levels",
    "prediction_origin",
    "prediction_output",
    "prediction_path",
    "prediction_stem",
    "probability_map_message",
    "read_image",
    "read_label_image",
    "read_prediction",
    "read_validation_region",
    "recorded_provenance",
    "rounds_path",
    "rounds_path_for",
    "sample_copy",
    "sample_segment_path",
    "sample_truth_path",
    "save_labels",
    "save_validation_region",
    "segment_location",
    "shown_location",
    "stray_side_files_hint",
    "supervision_path_for",
    "truth_path",
    "validation_path",
    "with_prediction_format",
    "write_label_files",
    "write_layer",
    "write_png",
]
