"""The validation region as the dock follows it: the newest rectangle on the shapes layer it
follows ("validation region", whatever the user renames it to), kept beside the labels and
said in the status. While a run starts, goes on or is paused it cannot change: the running
engine holds out the region it was made with (its LabelStore takes it only when made), so an
edit is put back as the run holds it."""

from __future__ import annotations

from functools import partial

from qtpy.QtCore import QTimer

from inkloop._napari._rectangle import box_corners, drawn_box, same_place
from inkloop._napari._say import say_warning
from inkloop.io import read_validation_region, save_validation_region

VALIDATION_LAYER = "validation region"
# what the validation region's shapes layer says when a change is done (not under way)
REGION_DONE = ("added", "changed", "removed")
# the region layer's tags (`_tag`): whose region it is, (segment path, name), and that the dock
# follows it now, over the labels layer with this unique_id: found by these, not by its name,
# which the user may change
REGION_OWNER = "inkloop_segment"
REGION_FOLLOWED = "inkloop_region_followed"
REGION_TIP = "Draw a rectangle: its labels are kept out of training and scored live (F0.5)"
# the run's engine was made before the region: it goes on training on the labels there
STOP_FIRST_TIP = "Stop the run first: the running model trains on these labels"
PUT_BACK = f"Validation region put back. {STOP_FIRST_TIP}."


def run_holds_region(loop) -> bool:
    """A run is starting, going on or paused: its engine holds out the region it began with."""
    return loop.state.running or loop.starting


class ValidationRegion:
    """Follows the region layer of a `LoopSession`'s segment; ``show_status`` says it."""

    def __init__(self, show_status) -> None:
        self.loop = None
        self.layer = None  # the "validation region" layer followed
        self.note = ""  # the status's word on the region, while idle
        self.run_note = ""  # PUT_BACK once an edit was put back, until the run ends
        self._show_status = show_status

    def set_loop(self, loop) -> None:
        if self.loop is not None:
            self._let_go_of_layer()
        self.loop, self.note, self.run_note = loop, "", ""

    def run_changed(self) -> None:
        """A run began or ended: once it has ended, the region can change again."""
        if self.loop is None or not run_holds_region(self.loop):
            self.run_note = ""

    def restore(self) -> None:
        """Follow the segment's validation region (its labels stay out of training) and say so:
        the layer a closed dock left for it (saved: it wins over the file), else the one kept
        beside the labels, drawn. Another segment's layer is retired first."""
        segment, viewer = self.loop.labels.segment, self.loop.viewer
        if _own_region_layer(viewer, segment) is not None:
            self.take_layer()
            self._keep(self._drawn())
            return
        try:
            box = read_validation_region(segment)
        except (OSError, ValueError) as error:
            say_warning(f"the validation region was not restored: {error}")
            return
        if box is None:
            return
        self.take_layer([box])
        viewer.layers.selection.active = self.loop.labels.layer  # the brush paints on
        self._show(box, restored=True)

    def mark(self) -> None:
        """Draw a new region: the layer's rectangle tool, the layer active."""
        layer = self.take_layer()
        self.loop.viewer.layers.selection.active = layer
        layer.mode = "add_rectangle"

    def take_layer(self, boxes=None):
        """The region's layer (given rectangles around ``boxes`` of label pixels, if any),
        laid over the labels, tagged as this segment's and followed: the one followed already,
        else the segment's own (`_own_region_layer`: a closed dock let go of it, this one takes
        it over), else a new "validation region"."""
        viewer, segment = self.loop.viewer, self.loop.labels.segment
        layer = self.layer if self.layer is not None else _own_region_layer(viewer, segment)
        if layer is None:
            layer = viewer.add_shapes(
                name=VALIDATION_LAYER, edge_color="cyan", face_color="transparent", edge_width=4
            )
        self._let_go_of_layer()  # connected once however often it is taken
        self.loop.overlay.keep_over(layer)
        _tag(layer, REGION_OWNER, (str(segment.path), segment.name))
        if boxes:  # before it is followed: a region restored, not changed
            layer.add_rectangles(self._rectangles(boxes, layer))
        _tag(layer, REGION_FOLLOWED, self.loop.labels.layer.unique_id)
        layer.events.data.connect(self._changed)
        viewer.layers.events.removed.connect(self._layer_removed)
        self.layer = layer
        return layer

    def _let_go_of_layer(self) -> None:
        if self.layer is not None:
            self.layer.events.data.disconnect(self._changed)
            self.layer.metadata.pop(REGION_FOLLOWED, None)
            self.loop.viewer.layers.events.removed.disconnect(self._layer_removed)
        self.layer = None

    def _changed(self, event) -> None:
        """A rectangle drawn, moved or deleted. The newest is the region: older ones go, the
        brush paints again, and the region is kept beside the labels at once (not with the
        next autosave: a run may hold its labels out before that, and a reopened segment
        must go on holding them out). While a run holds the region, it is put back."""
        if self.loop is None or event.action not in REGION_DONE:
            return
        if run_holds_region(self.loop):  # after this event: napari may still be drawing
            QTimer.singleShot(0, partial(self._put_back, self.loop))
            return
        layer = self.layer
        if event.action == "added":
            self.loop.viewer.layers.selection.active = self.loop.labels.layer
            if len(layer.data) > 1:  # its own "changed" event keeps the newest
                layer.data = (layer.data[-1:], layer.shape_type[-1:])
                return
        self._keep(self._drawn())

    def _put_back(self, loop) -> None:
        """The layer shows the region the running engine holds out again, and the status
        says why. A run that ended meanwhile lets the edit stand."""
        if loop is not self.loop or self.layer is None:
            return
        if not run_holds_region(loop):
            self._keep(self._drawn())
            return
        held = loop.settings.validation  # what the running engine was made with
        rectangles = self._rectangles([held] if held is not None else [], self.layer)
        if len(self.layer.data) != len(rectangles) or self._drawn() != held:
            with self.layer.events.data.blocker(self._changed):  # not an edit of the user's
                self.layer.data = (rectangles, ["rectangle"] * len(rectangles))
        self.run_note = PUT_BACK
        self._show_status()

    def _layer_removed(self, event) -> None:
        """The region's layer deleted: so is the region, once the next turn of the event loop
        shows the labels stayed (closing the viewer removes every layer, the region's first).
        The loop may be gone: the dock lets go of it when the labels' layer goes, earlier in
        this same event."""
        loop = self.loop  # `in`, not `is`: napari hands plugins proxies
        if loop is not None and self.layer not in loop.viewer.layers:
            self._let_go_of_layer()
            QTimer.singleShot(0, partial(self._forget_removed, loop))

    def _forget_removed(self, loop) -> None:
        """The region goes with its layer; while a run holds it, the layer comes back."""
        if loop is not self.loop or loop.labels.layer not in loop.viewer.layers:
            return
        held = loop.settings.validation
        if run_holds_region(loop) and held is not None:
            self.take_layer([held])
            loop.viewer.layers.selection.active = loop.labels.layer  # the brush paints on
            self.run_note = PUT_BACK
            self._show_status()
            return
        self._keep(self._drawn())

    def _drawn(self):
        return validation_region(self.loop.viewer, self.loop.labels.segment.shape[1:])

    def _rectangles(self, boxes, layer) -> list:
        """Rectangles on the Shapes ``layer`` around ``boxes`` of label pixels."""
        return [same_place(box_corners(box), self.loop.labels.layer, layer) for box in boxes]

    def _keep(self, box) -> None:
        """Keep ``box`` (None: no region) beside the labels and say it in the status."""
        try:
            save_validation_region(self.loop.labels.segment, box)
        except OSError as error:
            say_warning(
                f"the validation region could not be kept beside the labels "
                f"({error}): it holds until the segment is closed"
            )
        self._show(box)

    def _show(self, box, restored: bool = False) -> None:
        """Say which region holds its labels out (in the idle status)."""
        self.note = ""
        if box is not None:
            y0, x0, y1, x1 = box
            said = " restored" if restored else ""
            self.note = (
                f"Validation region{said}: rows {y0}–{y1}, columns {x0}–{x1}; its labels "
                "stay out of training."
            )
        self._show_status()


def _own_region_layer(viewer, segment):
    """``segment``'s region layer, whatever it is named now, else a "validation region" layer
    nobody owns. Another segment's under that name is retired, as a switch does, and is
    nobody's region any more: that segment's is read from its file when it opens again."""
    path = str(segment.path)
    owned = [lay for lay in viewer.layers if _tagged(lay, REGION_OWNER, (None,))[0] == path]
    if owned:
        return owned[-1]
    if VALIDATION_LAYER not in viewer.layers:
        return None
    layer = viewer.layers[VALIDATION_LAYER]
    owner = _tagged(layer, REGION_OWNER)
    if owner is None:
        return layer
    layer.name, layer.visible = f"{owner[1]} {VALIDATION_LAYER}", False
    del layer.metadata[REGION_OWNER]
    return None


def _tag(layer, key: str, value) -> None:
    layer.metadata[key] = (layer.unique_id, value)


def _tagged(layer, key: str, untagged=None):
    """The value ``layer`` was tagged with under ``key`` (`_tag`), else ``untagged``: a copy
    made by napari's Duplicate Layer carries its original's metadata, tags too, not its id."""
    layer_id, value = layer.metadata.get(key, (None, None))
    return value if layer_id == layer.unique_id else untagged


def validation_region(viewer, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The label pixels (y0, x0, y1, x1) under the newest rectangle on the region layer the
    dock follows, whatever its name (`drawn_box`); None if it follows none, or it is empty."""
    layer = next((lay for lay in viewer.layers if _tagged(lay, REGION_FOLLOWED)), None)
    if layer is None or not len(layer.data):
        return None
    labels_id = _tagged(layer, REGION_FOLLOWED)
    labels = next((lay for lay in viewer.layers if lay.unique_id == labels_id), None)
    if labels is None:  # deleted: no pixels of theirs to hold out (the dock lets go of both)
        return None
    return drawn_box(same_place(layer.data[-1], layer, labels), shape)
