"""napari hands the mouse and the keys to the selected layer alone, so the brush rests while
another layer than "ink labels" is selected (to set its contrast or colormap). The dock says
so, and its Paint and brush modes select "ink labels" again; the dock never undoes the
user's own choice of layer."""

from __future__ import annotations

from qtpy.QtWidgets import QLabel

SELECT_TO_PAINT = 'Select "{name}" to paint (its keys too)'
SELECT_TIP = (
    'The brush and its keys act while "{name}" is the selected layer: Paint and the brush '
    "modes select it again"
)


class SelectToPaint:
    """``note``, a line for the dock, shows while a layer other than the one painted is
    napari's selected layer; a click on ``brush_panel``'s Paint or on a brush mode selects
    the painted layer again."""

    def __init__(self, viewer, brush_panel) -> None:
        self.viewer, self.labels = viewer, None
        self.note = QLabel()
        self.note.setObjectName("select_to_paint")
        self.note.setWordWrap(True)
        self.note.hide()
        self._active = viewer.layers.selection.events.active
        self._active.connect(self._show)
        brush_panel.paint.clicked.connect(self._paint_clicked)
        brush_panel.modes.buttonClicked.connect(lambda _radio: self._select())

    def follow(self, labels) -> None:
        """Follow the selection for ``labels`` (a LabelSession; None: nothing is painted)."""
        self.labels = labels
        self._show()

    def close(self) -> None:
        """Stop following the viewer (idempotent)."""
        self._active.disconnect(self._show)
        self.follow(None)

    @property
    def _elsewhere(self) -> bool:
        """Whether labels are painted and another layer (or none) is selected. napari hands
        a plugin proxies of its layers: compared with ==, not `is`."""
        active = self.viewer.layers.selection.active
        return self.labels is not None and (active is None or active != self.labels.layer)

    def _show(self, event=None) -> None:
        elsewhere = self._elsewhere
        if elsewhere:
            name = self.labels.layer.name
            self.note.setText(SELECT_TO_PAINT.format(name=name))
            self.note.setToolTip(SELECT_TIP.format(name=name))
        self.note.setVisible(elsewhere)

    def _select(self) -> None:
        if self._elsewhere:
            self.viewer.layers.selection.active = self.labels.layer

    def _paint_clicked(self, checked: bool) -> None:
        """A click on Paint while the brush rests means "paint": the labels selected, and
        painting on, also where the click just turned it off."""
        if self._elsewhere:
            self._select()
            if not checked:
                self.labels.painter.painting = True
