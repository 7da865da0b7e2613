"""Tiled, blended, cancellable inference: viewport first, whole segments via dask."""

from inkloop.predict._graph import inference_graph, refresh_inference_graph
from inkloop.predict._predictor import Predictor, RegionUpdate
from inkloop.predict._segment import predict_into, predict_segment
from inkloop.predict._tiles import Blend, blend_window, check_region, tile_corners, tile_starts
from inkloop.predict._window import model_window, placed, trained_start
from inkloop.predict._write import write_prediction

__all__ = [
    "Blend",
    "Predictor",
    "RegionUpdate",
    "blend_window",
    "check_region",
    "inference_graph",
    "model_window",
    "placed",
    "predict_into",
    "predict_segment",
    "refresh_inference_graph",
    "tile_corners",
    "tile_starts",
    "trained_start",
    "write_prediction",
]
