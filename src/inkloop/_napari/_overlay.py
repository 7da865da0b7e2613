"""The prediction overlay of one segment: the "ink prediction" and "uncertainty" layers, the
threshold view, and what an accept brush takes from them."""

from __future__ import annotations

import numpy as np

from inkloop._napari._controls import single_shot
from inkloop._napari._labels import PREDICTION_COLORMAP, SOFT_FROM, full_value
from inkloop._napari._private import show_image_box, window_alive
from inkloop._napari._reader import PREDICTION_OF_KEY
from inkloop.boxes import union_box
from inkloop.brush import PredictionLabels
from inkloop.uncertainty import uncertainty

PREDICTION_LAYER = "ink prediction"
UNCERTAINTY_LAYER = "uncertainty"
KNOWN_CELL = 16  # pixels per side of the cells that record where a prediction arrived
KNOWN_KEY = "inkloop_known_cells"  # prediction layer metadata: those cells, kept with its data
NOTHING_TO_ACCEPT = "no prediction to accept yet: click Finetune & preview first"
HIDDEN_TO_ACCEPT = (  # the toast's one line begins with what happened
    f'prediction hidden, not accepted: show the "{PREDICTION_LAYER}" layer (its eye in the '
    "layer list, an opacity above 0) to accept what it shows"
)


class PredictionOverlay:
    """Shows streamed probabilities (uint8 0..255) in ``viewer`` over ``shape`` = (H, W),
    below the layer of ``labels`` (a LabelSession); redraws changed boxes at most every 100 ms.
    The layers the dock adds for the segment lie over the labels' pixels (`keep_over`), as the
    labels' scale and translate change too.

    ``accepted`` is what an accept brush writes: the prediction as label codes (soft, or
    thresholded while the threshold slider is on), and nothing where no prediction arrived;
    `accepted_shown` gives it while the user sees it.
    """

    def __init__(self, viewer, labels, parent) -> None:
        self.viewer, self.labels, self.shape = viewer, labels, labels.segment.shape[1:]
        self.threshold = 0.0  # 0: the soft view
        self.known = np.zeros([-(-side // KNOWN_CELL) for side in self.shape], bool)
        self.accepted: PredictionLabels | None = None  # once there is a prediction layer
        self._unshown: tuple[int, int, int, int] | None = None  # box not redrawn yet
        self._followers: list = []  # (layer, its full value): whole-segment predictions
        self._kept_over: list = []  # (layer, its origin in label pixels): `keep_over`
        self._redraw = single_shot(parent, 100, self._redraw_boxes)
        self._thumbnails = single_shot(parent, 1000, self._refresh_thumbnails)
        viewer.layers.events.removed.connect(self._on_removed)
        viewer.layers.events.inserted.connect(self._on_inserted)
        labels.layer.events.scale.connect(self._follow_labels)
        labels.layer.events.translate.connect(self._follow_labels)
        for layer in list(viewer.layers):  # opened before the dock opened the segment
            self._follow_if_opened_prediction(layer)

    def layer(self):
        """The "ink prediction" layer, added (empty) if the viewer has none of this shape."""
        if not self._has(PREDICTION_LAYER):
            self.known = np.zeros_like(self.known)  # a new layer predicts nothing yet
            limits = self._limits()
            self._add(PREDICTION_LAYER, colormap=PREDICTION_COLORMAP, contrast_limits=limits)
            self.uncertainty_layer()  # made together: a tile never adds a layer
        layer = self.viewer.layers[PREDICTION_LAYER]
        if self.accepted is None or self.accepted.prediction is not layer.data:
            # one this segment's earlier loop left (a switch back to it) keeps what it knew
            self.known = layer.metadata.setdefault(KNOWN_KEY, self.known)
            self.accepted = PredictionLabels(layer.data, self.known, KNOWN_CELL)
            self.keep_over(layer)  # the labels may have moved since
            self.keep_over(self.uncertainty_layer())
            self.set_threshold(self.threshold)
        return layer

    def accepted_shown(self) -> PredictionLabels:
        """What an accept brush writes, read from the prediction the user sees; ValueError, in
        the user's words, while none is shown (none yet, or its layer hidden or transparent)."""
        if self.accepted is None and self._has_own(PREDICTION_LAYER):
            self.layer()  # left by this segment's earlier loop: shown, so accepted
        data = None if self.accepted is None else self.accepted.prediction
        layer = next((lay for lay in self.viewer.layers if lay.data is data), None)
        if layer is None:
            raise ValueError(NOTHING_TO_ACCEPT)
        if not layer.visible or layer.opacity == 0:
            raise ValueError(HIDDEN_TO_ACCEPT)
        return self.accepted

    def uncertainty_layer(self):
        """The "uncertainty" layer (hidden until the user shows it), added if missing."""
        if not self._has(UNCERTAINTY_LAYER):
            layer = self._add(UNCERTAINTY_LAYER, colormap="viridis", contrast_limits=(0, 255))
            layer.visible = False
        return self.viewer.layers[UNCERTAINTY_LAYER]

    def show(self, region: tuple[int, int, int, int], probability: np.ndarray) -> None:
        """Put ``probability`` (float 0..1) over ``region`` = (y0, x0, y1, x1)."""
        y0, x0, y1, x1 = region
        self.layer().data[y0:y1, x0:x1] = np.rint(probability * 255).astype(np.uint8)
        self.uncertainty_layer().data[y0:y1, x0:x1] = uncertainty(probability)
        self.known[_whole_cells(region, self.shape)] = True
        self._unshown = union_box([box for box in (self._unshown, region) if box])
        if not self._redraw.isActive():  # tiles arriving together are drawn together
            self._redraw.start()

    def set_threshold(self, threshold: float) -> None:
        """0: the soft view (p from 0.5 up); above: ink at ``threshold``, for the eye and
        for the accept brush alike."""
        self.threshold = threshold
        if self.accepted is not None:
            # what the view shows is what is accepted: in the soft view from its first visible
            # level (the lowest limit draws black), "no ink" below
            soft_from = SOFT_FROM + 1 / 255
            self.accepted.threshold, self.accepted.soft = threshold or soft_from, threshold == 0
        if PREDICTION_LAYER in self.viewer.layers:
            self.viewer.layers[PREDICTION_LAYER].contrast_limits = self._limits()
        self._followers = [
            (lay, full) for lay, full in self._followers if lay in self.viewer.layers
        ]
        for layer, full in self._followers:
            layer.contrast_limits = self._limits(full)

    def follow_threshold(self, layer) -> None:
        """Let the threshold drive ``layer`` too: a whole-segment prediction (0..255 or 0..1,
        p = 1 at its type's top: not its contrast limits, which a threshold or the user may
        have moved), which would otherwise add its haze below p = 0.5, or its soft map over a
        thresholded view."""
        self._followers.append((layer, full_value(layer.dtype)))
        self.set_threshold(self.threshold)

    def keep_over(self, layer, origin=(0.0, 0.0)) -> None:
        """Lay the 2-D ``layer``, whose pixel (0, 0) is label pixel ``origin``, over the
        labels' pixels (`lay_over`), and keep it there while their scale or translate change."""
        kept = [(lay, at) for lay, at in self._kept_over if lay != layer]  # proxies: not `is`
        self._kept_over = [*kept, (layer, origin)]
        self._follow_labels()

    def stop(self) -> None:
        self._redraw.stop()
        self._thumbnails.stop()
        self.viewer.layers.events.removed.disconnect(self._on_removed)
        self.viewer.layers.events.inserted.disconnect(self._on_inserted)
        self.labels.layer.events.scale.disconnect(self._follow_labels)
        self.labels.layer.events.translate.disconnect(self._follow_labels)

    def _follow_labels(self, event=None) -> None:
        """Lay the layers kept over the labels where the labels are now (deleted ones go)."""
        self._kept_over = [(lay, at) for lay, at in self._kept_over if lay in self.viewer.layers]
        for layer, origin in self._kept_over:
            lay_over(layer, self.labels.layer, origin)

    def _on_removed(self, event) -> None:
        """A layer deleted: not followed or kept over any more (its data, which may hold a
        file open, goes with it); the prediction layer: nothing is left to accept."""
        layers = self.viewer.layers
        self._followers = [(lay, full) for lay, full in self._followers if lay in layers]
        self._kept_over = [(lay, at) for lay, at in self._kept_over if lay in layers]
        if self.accepted is not None and self.accepted.prediction is event.value.data:
            self.accepted, self.known[:] = None, False

    def _on_inserted(self, event) -> None:
        self._follow_if_opened_prediction(event.value)

    def _follow_if_opened_prediction(self, layer) -> None:
        """Let the threshold drive a prediction file of this segment that the reader opened
        (a drop, File > Open), as it drives the dock's own."""
        if layer.metadata.get(PREDICTION_OF_KEY) == self.labels.segment.name:
            self.follow_threshold(layer)

    def _limits(self, full: float = 255) -> tuple[float, float]:
        """Contrast limits for a map whose p = 1 reads ``full``."""
        if self.threshold == 0:
            return SOFT_FROM * full, full
        level, half_step = self.threshold * full, 0.5 * full / 255
        return level - half_step, level + half_step

    def _has_own(self, name: str) -> bool:
        """Whether the viewer has layer ``name`` of this segment's shape (nothing renamed)."""
        return name in self.viewer.layers and self.viewer.layers[name].data.shape == self.shape

    def _has(self, name: str) -> bool:
        """Whether the viewer has layer ``name`` of this segment's shape; one of another
        shape (another segment's, left by an earlier dock) is renamed and hidden, not lost."""
        if self._has_own(name):
            return True
        if name in self.viewer.layers:
            layer = self.viewer.layers[name]
            layer.name, layer.visible = f"{name} {layer.data.shape[0]}x{layer.data.shape[1]}", False
        return False

    def _add(self, name: str, **style):
        layers, active = self.viewer.layers, self.viewer.layers.selection.active
        layer = self.viewer.add_image(
            np.zeros(self.shape, np.uint8),
            name=name,
            blending="additive",
            opacity=0.8,
            **placement(self.labels.layer),
            **style,
        )
        self.keep_over(layer)
        self._put_under_labels(layer)
        layers.selection.active = active  # the brush keeps painting
        return layer

    def _put_under_labels(self, layer) -> None:
        """Move ``layer`` just under the labels painted: over their volume, the labels on top."""
        layers = self.viewer.layers
        layers.move(layers.index(layer), layers.index(self.labels.layer))

    def _redraw_boxes(self) -> None:
        """Upload what changed since the last redraw: a tile's cost, not the overlay's."""
        box, self._unshown = self._unshown, None
        if box is None or not window_alive(self.viewer):
            return
        for name in (PREDICTION_LAYER, UNCERTAINTY_LAYER):
            # a hidden layer is redrawn whole by napari when it is shown again
            if name in self.viewer.layers and self.viewer.layers[name].visible:
                show_image_box(self.viewer, self.viewer.layers[name], box)
        if not self._thumbnails.isActive():  # once a second at most, as tiles stream in
            self._thumbnails.start()

    def _refresh_thumbnails(self) -> None:
        if window_alive(self.viewer):
            for name in (PREDICTION_LAYER, UNCERTAINTY_LAYER):
                if name in self.viewer.layers:
                    refresh_thumbnail(self.viewer.layers[name])


def refresh_thumbnail(layer) -> None:
    """Remake ``layer``'s thumbnail in napari's layer list from its view as sliced: a
    partial redraw uploads the texture of a box, and only a refresh makes the thumbnail.
    Cheap (milliseconds for a 12000 x 16000 layer), so once a stroke or a second of tiles."""
    layer.refresh(data_displayed=False, highlight=False, extent=False)


def placement(labels_layer, origin=(0.0, 0.0)) -> dict:
    """The scale and translate that lay a 2-D layer whose pixel (0, 0) is label pixel
    ``origin`` over the pixels of ``labels_layer`` (given a physical scale, moved)."""
    scale = np.asarray(labels_layer.scale[-2:], float)
    translate = np.asarray(labels_layer.translate[-2:], float) + scale * np.asarray(origin, float)
    return {"scale": tuple(scale), "translate": tuple(translate)}


def lay_over(layer, labels_layer, origin=(0.0, 0.0)) -> None:
    """Give ``layer`` the `placement` over ``labels_layer`` in its last two axes (each change
    redraws the layer: one already there is left as it is)."""
    for name, value in placement(labels_layer, origin).items():
        now = getattr(layer, name)
        if not np.array_equal(now[-2:], value):
            setattr(layer, name, (*now[:-2], *value))


def _whole_cells(region, shape) -> tuple[slice, slice]:
    """The KNOWN_CELL cells ``region`` covers whole (a stamp never accepts an unpredicted
    pixel); a cell cut short by the image's edge counts as whole."""
    cell, (y0, x0, y1, x1) = KNOWN_CELL, region
    rows_end = -(-y1 // cell) if y1 == shape[0] else y1 // cell
    cols_end = -(-x1 // cell) if x1 == shape[1] else x1 // cell
    return slice(-(-y0 // cell), rows_end), slice(-(-x0 // cell), cols_end)
