"""The demo's example strokes and `inkloop demo --headless` (Qt-free).

The bundled sample ships a few strokes a person might paint as its labels: gradient-brush ink
along some glyphs in its top-left quarter and "no ink" on blank papyrus between their lines.
They are made from the true ink map by `example_strokes`, so files and code cannot drift apart;
the napari demo paints the same list through its own brush.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inkloop.brush import Brush
from inkloop.canvas import LabelCanvas

INK_BRUSH = Brush(radius=5.0, hardness=0.5, strength=1.0, mode="ink")
NO_INK_BRUSH = Brush(radius=8.0, hardness=0.8, mode="no_ink")
GLYPH_STROKES = 8  # ink strokes, the skeleton pieces nearest the quarter's centre
NO_INK_STROKES = 3
WAYPOINT_SPACING = 6  # pixels between the points of an ink stroke, as a hand-drawn polyline
DEMO_SECONDS = 60.0  # headless training time; README: F0.5 against time on two CPU cores


@dataclass(frozen=True)
class Stroke:
    """One press-drag-release of ``brush`` through ``points`` ((y, x) image pixels)."""

    brush: Brush
    points: tuple[tuple[int, int], ...]


def example_strokes(truth: np.ndarray, mask: np.ndarray) -> list[Stroke]:
    """The demo's strokes for a segment whose true ink (255 = ink) and papyrus mask are given.

    Deterministic: ink strokes follow the skeletons of the glyphs nearest the centre of the
    top-left quarter; no-ink strokes run along the blank papyrus between those glyphs' lines.
    """
    height, width = truth.shape
    ink_truth, mask = np.asarray(truth) >= 128, np.asarray(mask, bool)
    glyphs = ink_truth & mask
    glyphs[height // 2 :], glyphs[:, width // 2 :] = False, False
    ink = [Stroke(INK_BRUSH, path) for path in _glyph_paths(glyphs, (height // 4, width // 4))]
    points = [p for stroke in ink for p in stroke.points] or [(height // 4, width // 4)]
    near = _bounding_box(points, margin=40, shape=truth.shape)
    blank = [Stroke(NO_INK_BRUSH, path) for path in _blank_runs(ink_truth, mask, near)]
    return ink + blank


def stamp_points(points, spacing: float) -> list[tuple[float, float]]:
    """Stamp centres along the polyline ``points``, about ``spacing`` pixels apart."""
    points = np.asarray(points, np.float64)
    stamps = [tuple(points[0])]
    for start, end in itertools.pairwise(points):
        steps = max(1, int(np.ceil(np.hypot(*(end - start)) / spacing)))
        stamps += [tuple(start + (end - start) * k / steps) for k in range(1, steps + 1)]
    return stamps


def paint_strokes(canvas: LabelCanvas, strokes: list[Stroke]) -> None:
    """Paint ``strokes`` into ``canvas``, one undoable stroke each, stamps radius/4 apart."""
    for stroke in strokes:
        canvas.begin_stroke()
        for y, x in stamp_points(stroke.points, stroke.brush.radius / 4):
            canvas.stamp(y, x, stroke.brush)
        canvas.end_stroke()


def demo_labels(truth: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ink (uint8) and supervision (bool) of the example strokes painted on empty labels."""
    canvas = LabelCanvas(np.zeros(truth.shape, np.uint8), np.zeros(truth.shape, bool))
    paint_strokes(canvas, example_strokes(truth, mask))
    return canvas.ink, canvas.supervised


def sample_strokes() -> list[Stroke]:
    """The example strokes of the bundled sample (its label files are these, painted)."""
    from inkloop.io import open_segment, read_label_image, sample_segment_path, sample_truth_path

    segment = open_segment(sample_segment_path())
    truth = read_label_image(sample_truth_path(), segment.shape[1:], ink=True)
    return example_strokes(truth, np.asarray(segment.mask))


def write_demo_labels(folder: str | Path) -> tuple[Path, Path]:
    """Save the example strokes as the labels of the synthetic segment in ``folder``
    (made by `inkloop synth --demo-strokes`, whose truth is ``<id>_truth.png``)."""
    from inkloop.io import open_segment, read_label_image, save_labels, truth_path

    segment = open_segment(folder)
    truth = read_label_image(truth_path(folder, segment.name), segment.shape[1:], ink=True)
    return save_labels(segment, *demo_labels(truth, np.asarray(segment.mask)))


def run_headless_demo(
    out_dir: str | Path,
    *,
    folder=None,
    train=None,
    model=None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict:
    """`inkloop demo --headless`: train on the sample's example strokes, predict the sample.

    Writes ``<id>_model.pt`` and ``<id>_prediction.png`` to ``out_dir`` and returns a summary:
    best-threshold F0.5 on the papyrus the strokes left unlabelled (``f05``), the same for the
    untrained model (``untrained_f05``) and for calling everything ink (``chance_f05``), steps,
    training seconds, whether Ctrl+C cut training short (as the `inkloop` command: from
    Python, Ctrl+C saves the model and raises KeyboardInterrupt), file paths and the device.
    ``folder``: a segment made by `inkloop synth --demo-strokes` (default: the bundled sample).
    ``train`` (TrainConfig) and ``model`` (ModelConfig) default to `inkloop train`'s, with
    DEMO_SECONDS of training. Outputs already in ``out_dir`` are refused unless ``overwrite``;
    an unusable device is refused before ``out_dir`` is made.
    """
    from inkloop.headless import predict_to_file, train_to_file
    from inkloop.io import load_labels, open_segment, sample_segment_path, truth_path
    from inkloop.model import pick_device
    from inkloop.settings import EngineSettings, ModelConfig, TrainConfig

    train = train or TrainConfig(max_seconds=DEMO_SECONDS)
    pick_device(train.device)
    out_dir = Path(out_dir).expanduser()
    folder = Path(folder) if folder is not None else sample_segment_path()
    segment = open_segment(folder)
    checkpoint, prediction = _demo_paths(out_dir, segment, overwrite)
    ink, supervised, sources = load_labels(segment)
    settings = EngineSettings(model=model or ModelConfig(), train=train, provenance=sources)
    scorer = _Scorer(segment, truth_path(folder, segment.name), supervised)
    untrained = scorer(_untrained_prediction(segment, ink, supervised, settings))
    started = time.perf_counter()
    summary = train_to_file(
        segment, ink, supervised, settings, checkpoint, progress=progress, overwrite=overwrite
    )
    seconds = time.perf_counter() - started
    options = {"device": train.device, "progress": progress, "overwrite": overwrite}
    predicted = predict_to_file(segment.path, checkpoint, prediction, **options)
    return {
        **scorer.summary(prediction, untrained),
        "steps": summary["steps"],
        "seconds": round(seconds, 1),
        "interrupted": summary["interrupted"],
        "prediction": str(prediction),
        "model": str(checkpoint),
        "device": predicted["device"],
    }


def _demo_paths(out_dir: Path, segment, overwrite: bool) -> tuple[Path, Path]:
    """The demo's model and prediction files in ``out_dir``, made ready: ValueError if either
    is there (unless ``overwrite``) or the prediction cannot be written."""
    from inkloop._overwrite import make_out_folder
    from inkloop.io import check_writable
    from inkloop.io._sidefiles import prediction_name

    checkpoint = out_dir / f"{segment.name}_model.pt"
    prediction = out_dir / prediction_name(segment.name, "png")
    there = [path.name for path in (checkpoint, prediction) if path.exists()]
    if there and not overwrite:
        raise ValueError(f"{out_dir} already holds {' and '.join(there)}; pass --overwrite")
    make_out_folder(out_dir, "--headless")
    check_writable(prediction)
    return checkpoint, prediction


class _Scorer:
    """Best-threshold scores against the true ink on papyrus the labels leave out."""

    def __init__(self, segment, truth: Path, supervised: np.ndarray) -> None:
        from inkloop.io import read_label_image

        self.truth = read_label_image(truth, segment.shape[1:], ink=True)
        self.pixels = np.asarray(segment.mask) & ~supervised

    def __call__(self, probability: np.ndarray):
        from inkloop.metrics import best_scores

        return best_scores(probability, self.truth, self.pixels)

    def chance(self):
        """Calling every pixel ink: what a model has to beat."""
        from inkloop.metrics import chance_scores

        return chance_scores(self.truth, self.pixels)

    def summary(self, prediction: Path, untrained) -> dict:
        """The scores the demo reports: the ``prediction`` file's best-threshold F0.5 (with
        its precision, recall and threshold), the ``untrained`` model's and `chance`'s."""
        from inkloop.io import read_prediction

        scores = self(read_prediction(prediction))
        return {
            "f05": scores.f05,
            "precision": scores.precision,
            "recall": scores.recall,
            "threshold": scores.threshold,
            "untrained_f05": untrained.f05,
            "chance_f05": self.chance().f05,
        }


def _untrained_prediction(segment, ink, supervised, settings) -> np.ndarray:
    """The whole segment as a freshly initialised model of ``settings`` sees it."""
    from inkloop.engine import build_trainer
    from inkloop.predict import Predictor
    from inkloop.train import LabelStore

    mask = np.asarray(segment.mask)
    trainer = build_trainer(settings, segment, LabelStore(ink, supervised), mask)
    predictor = Predictor(trainer.inference_model, trainer.composition, trainer.normalisation)
    return predictor.predict_region(segment, (0, 0, *segment.shape[1:]), mask)


def _glyph_paths(glyphs: np.ndarray, centre: tuple[int, int]) -> list[tuple]:
    """Waypoints along the longest paths of the glyph skeleton pieces nearest ``centre``."""
    from skimage.measure import label, regionprops
    from skimage.morphology import skeletonize

    paths = []
    # each piece's pixels from regionprops: np.argwhere(pieces == index) scanned the whole
    # image once per piece, over 10 minutes for an 8192² segment's thousands of pieces
    for piece in regionprops(label(skeletonize(glyphs), connectivity=2)):
        pixels = piece.coords
        path = _longest_path(pixels)
        if len(path) >= 3 * WAYPOINT_SPACING:
            distance = np.hypot(*(pixels - centre).T).min()
            paths.append((distance, path))
    paths.sort(key=lambda item: item[0])
    return [_waypoints(path) for _, path in paths[:GLYPH_STROKES]]


def _longest_path(pixels: np.ndarray) -> np.ndarray:
    """The longest shortest path through a connected set of skeleton pixels (two sweeps)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    index = {tuple(p): i for i, p in enumerate(pixels.tolist())}
    edges = [
        (i, index[(y + dy, x + dx)], np.hypot(dy, dx))
        for i, (y, x) in enumerate(pixels.tolist())
        for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1))
        if (y + dy, x + dx) in index
    ]
    rows, cols, weights = zip(*edges, strict=True) if edges else ((), (), ())
    graph = coo_matrix((weights, (rows, cols)), shape=(len(pixels),) * 2).tocsr()
    far = int(np.argmax(dijkstra(graph, directed=False, indices=0)))
    distances, previous = dijkstra(graph, directed=False, indices=far, return_predecessors=True)
    node, order = int(np.argmax(distances)), []
    while node >= 0:
        order.append(node)
        node = int(previous[node])
    return pixels[order]


def _waypoints(path: np.ndarray) -> tuple[tuple[int, int], ...]:
    """Every WAYPOINT_SPACING-th pixel of ``path`` and its end: a polyline, not a tracing."""
    keep = [*range(0, len(path) - 1, WAYPOINT_SPACING), len(path) - 1]
    return tuple((int(y), int(x)) for y, x in path[keep])


def _blank_runs(ink: np.ndarray, mask: np.ndarray, box) -> list[tuple]:
    """Horizontal strokes through ``box`` on papyrus at least a brush width from any ink."""
    from scipy import ndimage

    radius = int(NO_INK_BRUSH.radius)
    clear = ndimage.distance_transform_edt(~ink) > 2 * radius
    clear &= ndimage.binary_erosion(mask, iterations=radius + 2)
    y0, x0, y1, x1 = box
    runs = sorted(
        ((*_longest_run(clear[y, x0:x1]), y) for y in range(y0, y1)),
        key=lambda run: (run[0] - run[1], run[2]),  # longest first, then topmost
    )
    chosen = []
    for start, stop, y in runs:
        apart = all(abs(y - other[0][0]) > 30 for other in chosen)
        if stop - start >= 8 * radius and apart and len(chosen) < NO_INK_STROKES:
            chosen.append(((y, x0 + start), (y, x0 + stop - 1)))
    return sorted(chosen)


def _longest_run(row: np.ndarray) -> tuple[int, int]:
    """(start, stop) of the longest run of True in ``row`` ((0, 0) if none)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(np.int8), [0]])))
    starts, stops = edges[::2], edges[1::2]
    if not len(starts):
        return 0, 0
    longest = int(np.argmax(stops - starts))
    return int(starts[longest]), int(stops[longest])


def _bounding_box(points, margin: int, shape) -> tuple[int, int, int, int]:
    (y0, x0), (y1, x1) = np.min(points, axis=0), np.max(points, axis=0)
    y1, x1 = min(int(y1) + margin, shape[0]), min(int(x1) + margin, shape[1])
    return max(int(y0) - margin, 0), max(int(x0) - margin, 0), y1, x1
