"""Next (G) where (almost) every papyrus pixel is labelled: the ranking can find no box, and
pressing G again never will; the dock says so, and what to do, not "press G to sample
others"."""

from __future__ import annotations

import numpy as np

from inkloop.brush import NO_INK
from inkloop.engine import Ranked
from tests._napari._gui import messages


def test_next_with_no_unlabelled_papyrus_says_so(segment_widget, qtbot, monkeypatch):
    loop, guide = segment_widget.loop, segment_widget.guide_panel
    requests = iter(range(1, 10))
    monkeypatch.setattr(loop, "rank", lambda box, tiles, seed: next(requests))
    painter = loop.labels.painter
    papyrus = np.asarray(loop.labels.segment.mask, bool)

    for request, (left, said) in enumerate(
        [
            (0, "every papyrus pixel is labelled, so Next has nothing to suggest: Erase"),
            (4, "all but 4 papyrus pixels are labelled, so Next has nothing to suggest"),
            (None, "press G to sample others"),  # half of it open: other tiles may find it
        ],
        start=1,
    ):
        codes = np.where(papyrus, NO_INK, 0).astype(painter.canvas.codes.dtype)
        if left is None:
            codes[: codes.shape[0] // 2] = 0
        else:
            codes[tuple(np.argwhere(papyrus)[:left].T)] = 0  # erased
        painter.replace(codes)  # a prediction loaded as labels: reported as a load is
        shown = len(messages(0))

        assert guide.go_next() is None
        loop.changed.emit(Ranked(request, (), 0))  # no box in the sampled tiles

        qtbot.waitUntil(lambda shown=shown: len(messages(shown)) > 1)  # counted off the GUI
        assert said in messages(shown)[-1]
        assert ("sample others" in messages(shown)[-1]) == (left is None)
