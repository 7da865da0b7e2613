"""Reader contribution: a segment folder, multi-page TIFF or (OME-)zarr as napari layers, and
a prediction file (OME-Zarr pyramid, float zarr, tiled TIFF) as one image."""

from __future__ import annotations

import dataclasses
import weakref
from pathlib import Path

import numpy as np

from inkloop._napari._label_claims import STAMP_KEY, flush_labels_of, label_files_now
from inkloop._napari._labels import (
    LOAD_PREDICTION_ACTION,
    PREDICTION_COLORMAP,
    SOFT_FROM,
    empty_labels_layer_data,
    full_value,
    is_ink_labels,
    labels_layer_data,
)
from inkloop._napari._pyramid import display_levels, strided_levels
from inkloop._napari._reader_folders import is_segment_layers, refuse_images
from inkloop._napari._say import say_info, say_warning
from inkloop._napari._side_images import decoded_side_images, left_out_message, opening_labels
from inkloop.io import (
    Segment,
    detect_format,
    is_prediction_file,
    is_url,
    label_paths,
    open_segment,
    prediction_levels,
    prediction_origin,
    prediction_stem,
    probability_map_message,
    recorded_provenance,
    segment_location,
    stray_side_files_hint,
)

SEGMENT_PATH_KEY = "inkloop_segment_path"
# a prediction layer's metadata: the name of the segment its file records it predicts
PREDICTION_OF_KEY = "inkloop_prediction_of"
_CONTRAST_WINDOW = 1024
#: the decoded papyrus masks that segments' mask layers show, as they hold them (uint8 views
#: of the masks), by segment path: gone with the layer
_SHOWN_MASKS: weakref.WeakValueDictionary[str, np.ndarray] = weakref.WeakValueDictionary()


def get_reader(path: str | list[str]):
    """Return a reader for segments and predictions this plugin can open, else None (napari
    tries others). Decided from names and headers only: nothing is claimed that opening
    would refuse, and a URL is not fetched here (`read_segment` fetches it once). A folder of
    images that holds no segment's files (`is_segment_layers`) gets a reader that says why
    not: napari asks for a reader only once Ink Loop is picked for it."""
    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    if is_url(path):
        return read_segment
    if is_prediction_file(path):
        return read_prediction
    fmt = detect_format(path)
    if fmt == "folder" and not is_segment_layers(Path(path)):  # any folder of images
        return refuse_images
    return read_segment if fmt else None


def add_layers(viewer, layer_data: list[tuple]) -> list:
    """Add napari LayerDataTuples (a reader's) to ``viewer``, in order; the layers. Each is
    added hidden and shown once all are in: napari draws a layer added shown at the stack's
    first layer before it moves the slider to the middle one, and over a slow network that
    read (on napari's GUI thread) was most of what an open still froze it for."""
    from napari.layers import Layer

    layers = []
    for data, kwargs, kind in layer_data:
        hidden = Layer.create(data, {**kwargs, "visible": False}, kind)
        layers.append((viewer.add_layer(hidden), kwargs.get("visible", True)))
    for layer, visible in layers:
        layer.visible = visible
    return [layer for layer, _ in layers]


def bring_to_top(viewer, path) -> bool:
    """Move the layers this reader made of segment ``path`` (every copy, in their order) to
    the top of ``viewer``, its newest "ink labels" selected; False, moving nothing, if it
    has no "ink labels" there. Nothing is read: the labels are those painted."""
    layers, path = viewer.layers, str(path)
    ours = [i for i, layer in enumerate(layers) if layer.metadata.get(SEGMENT_PATH_KEY) == path]
    labels = [layers[i] for i in ours if is_ink_labels(layers[i])]
    if not labels:
        return False
    layers.move_multiple(ours, len(layers))
    layers.selection.active = labels[-1]  # the brush paints, as on a first open
    return True


def read_prediction(path: str | list[str]) -> list[tuple]:
    """A prediction (`inkloop predict`'s OME-Zarr pyramid, float zarr or TIFF) as one image
    layer, a pyramid as a multiscale one, named without its format's ending."""
    if isinstance(path, list):
        path = path[0]
    kwargs = prediction_layer_kwargs(Path(path), prediction_stem(path))
    segment = (recorded_provenance(path) or {}).get("segment")
    if isinstance(segment, dict) and segment.get("name"):  # the dock of it thresholds it
        kwargs["metadata"] = {PREDICTION_OF_KEY: segment["name"]}
    return [(kwargs.pop("data"), kwargs, "image")]


def prediction_layer_kwargs(path: Path, name: str) -> dict:
    """`add_image` arguments showing a prediction file as the live overlay starts: its
    colormap, additive, the soft view (p from 0.5 up, so no haze below; p = 1 reads 1.0 in a
    float map, else its integer type's top); a pyramid as a multiscale layer, and a large
    single image as one too (`strided_levels`). Lazy: a file of a few hundred bytes may
    declare gigapixels, and napari then reads only the tiles on screen."""
    levels = prediction_levels(path)
    if len(levels) == 1:
        levels = strided_levels(levels[0])
    top = full_value(levels[0].dtype)
    limits = (SOFT_FROM * top, top)
    data = levels if len(levels) > 1 else levels[0]
    return {
        "data": data,
        "name": name,
        "multiscale": len(levels) > 1,
        "colormap": PREDICTION_COLORMAP,
        "blending": "additive",
        "contrast_limits": limits,
        "translate": prediction_origin(path),  # a region's prediction lies over the region
    }


def read_segment(path: str | list[str]) -> list[tuple]:
    """Layer data for a segment: the volume, its papyrus mask and its soft ink labels."""
    if isinstance(path, list):
        path = path[0]
    segment = open_segment(path)
    if flush_labels_of(segment):  # opened again while painting: from the last stroke on
        segment = open_segment(path)  # with the files that wrote
    return segment_layer_data(segment)


def segment_layer_data(segment: Segment) -> list[tuple]:
    """napari LayerDataTuples for an opened segment: its volume, papyrus mask and soft labels
    (autosaved ones if newer than the saved ones, else its label files, else empty)."""
    _, layers, notes = segment_layers(segment)
    for show, message in notes:
        show(message)
    return layers


def segment_layers(segment: Segment) -> tuple[Segment, list[tuple], list[tuple]]:
    """``segment`` with the mask its layer shows (decoded: Check stack and Next then decode
    its file no more; None where it was left out), `segment_layer_data`'s layers, and the
    notifications about its labels as (show, message), unshown: a worker thread reads them,
    and the GUI thread shows them."""
    # stamped before they are read: a window painting them that writes them meanwhile makes
    # the stamps differ, and the dock then never writes these older labels over its strokes
    files_read = label_files_now(segment)
    sides = decoded_side_images(segment)
    # only the mask: the layer holds it anyway, where decoded labels would be held twice
    shown = dataclasses.replace(segment, mask=sides.segment.mask)
    segment = sides.segment
    levels = display_levels(segment)
    multiscale = len(levels) > 1
    mask = segment.mask
    volume_kwargs = {
        "name": segment.name,
        "contrast_limits": sample_contrast_limits(segment, mask),
        "multiscale": multiscale,
        "axis_labels": ("layer", "y", "x"),  # napari >= 0.9 names the viewer's slider after it
        "metadata": {SEGMENT_PATH_KEY: str(segment.path)},
    }
    layers = [(levels if multiscale else levels[0], volume_kwargs, "image")]
    if mask is not None:
        mask_kwargs = {
            "name": f"{segment.name} mask",
            "colormap": {0: "transparent", 1: "cyan", None: "transparent"},
            "opacity": 0.25,
            "visible": False,
            "metadata": {SEGMENT_PATH_KEY: str(segment.path)},  # moved with it (`bring_to_top`)
        }
        mask_values = _as_label_values(mask)
        layers.append((mask_values, mask_kwargs, "labels"))
        if mask.dtype == np.bool_:  # its view: napari's File → Open hands the dock none
            _SHOWN_MASKS[str(segment.path)] = mask_values
    (ink, supervised, source, labels_file), unread_copy = opening_labels(sides)
    notes = _tell_about_labels(segment, ink, supervised, source, labels_file, unread_copy)
    left_out = left_out_message(sides)
    if left_out:
        notes.insert(0, (say_warning, left_out))
    metadata = {SEGMENT_PATH_KEY: str(segment.path), STAMP_KEY: files_read}
    if labels_file is None:  # no labels yet: nothing to encode
        layers.append(empty_labels_layer_data(ink.shape, source, metadata))
    else:
        layers.append(labels_layer_data(ink, supervised, source, metadata))
    return shown, layers, notes


def _as_label_values(mask: np.ndarray) -> np.ndarray:
    """A bool mask as napari's labels take it, uint8 0/1: a view, not a copy (a gigapixel
    segment's mask is one), where the mask is a numpy array."""
    mask = np.asarray(mask)
    return mask.view(np.uint8) if mask.dtype == np.bool_ else mask.astype(np.uint8)


def _tell_about_labels(
    segment: Segment, ink, supervised, source: str, labels_file, unread_copy: str | None
) -> list:
    """The notifications, as (show, message) in order, about the labels a segment opens with:
    side files named for another id, a crash's autosave restored, passed over for newer
    saved labels or not readable (``unread_copy``, `opening_labels`' warning), a probability
    map saved as labels (loaded as it is: the files are the user's, and so is the decision)."""
    notes, name = [], segment.name
    hint = stray_side_files_hint(segment)
    if hint:
        notes.append((say_warning, f"{name}: {hint}"))
    autosaved = label_paths(segment, autosave=True)[0]
    kept = _kept_elsewhere(segment, labels_file) if source.startswith("restored") else ""
    if unread_copy:
        notes.append((say_warning, unread_copy))
    elif source.startswith("restored") and any(path.is_file() for path in label_paths(segment)):
        notes.append((say_info, f"{name}: {source}, newer than the saved labels{kept}"))
    elif source.startswith("restored"):  # never saved: Save labels writes them
        said = f"{name}: restored unsaved (autosaved) labels {labels_file}{kept}"
        notes.append((say_info, said))
    elif autosaved.is_file() and labels_file:  # a Save removes it: its strokes are unsaved
        message = (
            f"{name}: opened {labels_file}, newer than the autosaved copy "
            f"{autosaved.name} beside it (strokes painted after a Save, or left by an "
            "earlier version); Load labels… takes that copy instead"
        )
        notes.append((say_warning, message))
    problem = labels_file and probability_map_message(ink, supervised, labels_file)
    if problem:
        folder = label_paths(segment)[0].parent
        message = (
            f"{problem}, which as labels teaches faint ink everywhere. To label from it "
            f"instead, move {name}_inklabels*.png out of {folder} (the map renamed, e.g. to "
            f"{name}_prediction.png), open the segment again and use {LOAD_PREDICTION_ACTION}"
        )
        notes.append((say_warning, message))
    return notes


def _kept_elsewhere(segment: Segment, labels_file: Path) -> str:
    """What a notice adds about restored autosave copies kept in a rescue folder (where the
    segment's folder refused them): that Save labels writes them beside the segment."""
    folder = label_paths(segment)[0].parent
    if labels_file.parent == folder:
        return ""
    return f" (kept there when {folder} refused them; Save labels writes them to {folder})"


def sample_contrast_limits(segment: Segment, mask: np.ndarray | None) -> tuple[float, float]:
    """0.5-99.5 percentile contrast of the papyrus in a few central windows, not the whole
    stack; NaN (a float layer's "no data") left out."""
    level = segment.levels[-1]
    depth, height, width = level.shape
    y0, x0 = max(0, (height - _CONTRAST_WINDOW) // 2), max(0, (width - _CONTRAST_WINDOW) // 2)
    window = (slice(y0, y0 + _CONTRAST_WINDOW), slice(x0, x0 + _CONTRAST_WINDOW))
    middle = depth // 2  # ink and papyrus sit in the middle layers; outer ones are mostly air
    picks = sorted({middle - depth // 8, middle, min(depth - 1, middle + depth // 8)})
    # one index, not level[z][window]: dask reads a layer chunk whole to slice it afterwards
    sample = np.stack([np.asarray(level[z, window[0], window[1]]) for z in picks])
    if mask is not None and level is segment.volume:
        papyrus = mask[window]
        if papyrus.any():  # air around the papyrus would pull the low limit down
            sample = sample[:, papyrus]
    if sample.dtype.kind == "f":
        sample = sample[np.isfinite(sample)]
    if sample.size == 0:  # nothing but NaN: any limits napari takes
        return (0.0, 1.0)
    low, high = (float(v) for v in np.percentile(sample, [0.5, 99.5]))
    return (low, high) if high > low else (low, low + 1)


def with_shown_mask(segment: Segment) -> Segment:
    """``segment`` with the decoded papyrus mask a layer of it shows, if one does (opened
    through napari's File → Open): Check stack and Next then decode its file no more."""
    shown = _SHOWN_MASKS.get(str(segment.path))
    return segment if shown is None else dataclasses.replace(segment, mask=shown.view(np.bool_))


def segment_path(layer) -> Path | str | None:
    """The segment folder/file (or URL) behind a layer this reader made, or None."""
    value = layer.metadata.get(SEGMENT_PATH_KEY)
    return segment_location(value) if value else None
