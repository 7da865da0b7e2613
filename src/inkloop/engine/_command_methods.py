"""The request methods `Engine` and `EngineProcess` share: each builds its command
(`_commands`) and hands it on, the engine in a thread or in a child process alike."""

from __future__ import annotations

from pathlib import Path

from inkloop.engine import _commands as c
from inkloop.io import prediction_output


class CommandMethods:
    """The `EngineSurface`'s requests as commands. The engine class supplies ``_submit``
    (hand a command to the engine) and ``_number`` (the next request number, which the
    events answering a request carry)."""

    def pause(self) -> None:
        self._submit(c.Pause())

    def resume(self) -> None:
        self._submit(c.Resume())

    def stop(self) -> None:
        """End the run after the step in flight; the weights stay for predict and save."""
        self._submit(c.Stop())

    def predict(self, region: tuple[int, int, int, int]) -> int:
        """Queue a prediction of ``region``; PredictionReady events with the returned request
        number follow, tile by tile."""
        request = self._number()
        self._submit(c.Predict(request, tuple(int(v) for v in region)))
        return request

    def preview(self, region: tuple[int, int, int, int] | None, every: float = 3.0) -> int:
        """Keep ``region`` predicted: now, then again once the weights changed, at most every
        ``every`` s and within the preview's share of the time while training (None: stop).

        Streams like predict, a tile batch per turn between training steps; a new preview
        replaces the one in flight (see `PreviewSchedule`).
        """
        request = self._number()
        region = None if region is None else tuple(int(v) for v in region)
        self._submit(c.Preview(request, region, float(every)))
        return request

    def predict_segment(
        self, out: str | Path, fmt: str | None = None, tta: bool = False, replace: bool = False
    ) -> int:
        """Queue predicting the whole segment into ``out`` (PNG, TIFF or zarr; ``fmt`` "png",
        "tif" or "zarr" sets its suffix); ValueError now if ``out`` cannot be written.

        SegmentProgress events follow, then SegmentPredicted (or Failed: also where ``out``
        would replace a file of the segment, its layers, mask or labels, or, unless
        ``replace``, a file inkloop did not write, such as another tool's prediction; one
        inkloop wrote is replaced). It uses the weights of its start and runs while training
        does not: asked for during training, it starts once training is paused or stopped,
        and it waits again while training is resumed. Commands are applied between its
        blocks; `cancel` ends it with a Notice.
        """
        out = prediction_output(out, fmt)
        request = self._number()
        self._submit(c.PredictSegment(request, out, bool(tta), bool(replace)))
        return request

    def cancel(self, request: int) -> None:
        """End the whole-segment prediction ``request`` (running or queued): a Notice follows."""
        self._submit(c.Cancel(int(request)))

    def compose(self, region: tuple[int, int, int, int]) -> int:
        """Queue reading the model's input over ``region`` (at most `MAX_COMPOSE` per side); a
        Composed event with the returned request number follows."""
        request = self._number()
        self._submit(c.Compose(request, tuple(int(v) for v in region)))
        return request

    def rank(self, box: int = 256, tiles: int = 24, seed: int = 0) -> int:
        """Queue ranking ``box``² boxes of ``tiles`` random papyrus tiles by how unsure the
        model is over their unlabelled pixels ("label here next"); one tile per turn between
        training steps, then a Ranked event with the returned request number."""
        request = self._number()
        self._submit(c.Rank(request, int(box), int(tiles), int(seed)))
        return request

    def check_order(self, tiles: int = 6) -> int:
        """Queue reading ``tiles`` random papyrus tiles forward and reversed with the model
        (`inkloop.check`); an OrderChecked event with the returned request number follows."""
        request = self._number()
        self._submit(c.CheckOrder(request, int(tiles)))
        return request

    def save(self, path: str | Path) -> None:
        """Queue writing a checkpoint of the current weights: it returns at once, and the file
        is written once the commands sent before are handled (`wait` returns after it, `close`
        and Python's exit wait for it). CheckpointSaved follows (Failed where ``path`` would
        replace a file of the segment, or cannot be written)."""
        self._submit(c.Save(Path(path)))
