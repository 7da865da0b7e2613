"""Soft-label painting speed on an 8192 x 8192 canvas; prints one JSON object.

    xvfb-run -a -s "-screen 0 1920x1080x24" python benchmarks/bench_brush.py [--size 8192 ...]

Core: `LabelCanvas.stamp` alone, per stamp, along a 200-stamp stroke spaced just under a
quarter radius apart (one stamp per mouse event) as a mouse drag paints it (median and p95),
the stroke's undo and the undo memory it keeps.
Viewer: the same stamps through `InkPainter` on a real napari "ink labels" layer, each followed
by a synchronous draw of the canvas (1400 x 900 window), so the figure includes the partial
texture upload and the draw (what a user waits for per mouse event); for contrast, a full-layer
refresh + draw, which is what a naive per-stamp `layer.refresh()` would cost.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _stdout import json_stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=8192)
    parser.add_argument("--radius", type=float, default=30)
    parser.add_argument("--stamps", type=int, default=200)
    args = parser.parse_args()
    out = json_stdout()  # napari may print notifications to stdout
    points = _stroke(args.size, args.radius, args.stamps)
    result = {"canvas": [args.size, args.size], "radius": args.radius, "stamps": args.stamps}
    result.update(_core(args.size, args.radius, points))
    result.update(_viewer(args.size, args.radius, points))
    print(json.dumps(result, indent=2), file=out, flush=True)


def _stroke(size: int, radius: float, stamps: int) -> np.ndarray:
    """A diagonal drag through the canvas centre, just under a quarter radius between stamps:
    at exactly a quarter, rounding made `InkPainter.paint_to` stamp twice on some events."""
    step = 0.99 * radius / 4 / np.sqrt(2)
    start = size / 2 - step * stamps / 2
    return np.stack([start + step * np.arange(stamps)] * 2, axis=1)


def _core(size: int, radius: float, points: np.ndarray) -> dict:
    from inkloop.brush import Brush
    from inkloop.canvas import LabelCanvas

    canvas = LabelCanvas(np.zeros((size, size), np.uint8), np.zeros((size, size), bool))
    brush = Brush(radius=radius, hardness=0.5, strength=0.8)
    times = []
    canvas.begin_stroke()
    for y, x in points:
        started = time.perf_counter()
        canvas.stamp(y, x, brush)
        times.append(time.perf_counter() - started)
    canvas.end_stroke()
    started = time.perf_counter()
    canvas.undo()
    undo_s = time.perf_counter() - started
    return {
        "core_stamp_ms": 1000 * float(np.median(times)),
        "core_stamp_p95_ms": 1000 * float(np.percentile(times, 95)),
        "core_stroke_ms": 1000 * float(np.sum(times)),
        "core_undo_ms": 1000 * undo_s,
        "undo_history_mb": canvas.history_nbytes / 2**20,
        "canvas_mb": canvas.codes.nbytes / 2**20,
    }


def _viewer(size: int, radius: float, points: np.ndarray) -> dict:
    import napari
    from qtpy.QtWidgets import QApplication

    from inkloop._napari._labels import labels_layer_data
    from inkloop._napari._painter import InkPainter

    viewer = napari.Viewer(show=True)
    viewer.window.resize(1400, 900)
    empty = np.zeros((size, size), np.uint8)
    data, kwargs, _ = labels_layer_data(empty, empty.astype(bool), "bench", {})
    layer = viewer.add_labels(data, **kwargs)
    painter = InkPainter(layer)
    painter.set_brush(radius=radius, hardness=0.5, strength=0.8)
    scene = viewer.window._qt_viewer.canvas._scene_canvas
    QApplication.processEvents()
    _draw(scene)
    times, previous = [], None
    painter.canvas.begin_stroke()
    for point in points:
        started = time.perf_counter()
        previous = painter.paint_to(point, previous)  # what one mouse-move event runs
        _draw(scene)  # the texture upload happens in the draw
        times.append(time.perf_counter() - started)
    painter.canvas.end_stroke()
    refresh = []
    for _ in range(5):
        started = time.perf_counter()
        layer.refresh()
        QApplication.processEvents()
        _draw(scene)
        refresh.append(time.perf_counter() - started)
    figures = {
        "viewer_stamp_ms": 1000 * float(np.median(times)),
        "viewer_stamp_p95_ms": 1000 * float(np.percentile(times, 95)),
        "viewer_full_refresh_ms": 1000 * float(np.median(refresh)),
        "renderer": _renderer(),
    }
    viewer.close()
    return figures


def _draw(scene) -> None:
    """Draw the canvas now and wait for the GPU (Qt's repaint() only schedules a GL widget)."""
    from vispy.gloo import gl

    scene.native.makeCurrent()
    scene.on_draw(None)
    gl.glFinish()


def _renderer() -> str:
    from vispy.gloo import gl

    return gl.glGetParameter(gl.GL_RENDERER)


if __name__ == "__main__":
    main()
