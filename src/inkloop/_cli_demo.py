"""`inkloop demo`: napari with the sample segment and the Ink Loop widget, or its loop headless."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from inkloop.settings import TrainConfig


def add_demo(commands) -> None:
    """Add the `demo` sub-command to the `inkloop` parser."""
    from inkloop.demo import DEMO_SECONDS

    demo = commands.add_parser(
        "demo",
        help="open napari with the sample segment and Ink Loop (or run its loop headless)",
        description="The sample segment with a few example strokes painted, ready to finetune.",
    )
    shown = demo.add_mutually_exclusive_group()
    shown.add_argument(
        "--screenshot",
        type=Path,
        metavar="PNG",
        help="save a screenshot of the window to PNG and exit instead of staying open",
    )
    shown.add_argument(
        "--headless",
        type=Path,
        metavar="OUT_DIR",
        help="no window: train on the example strokes, write the prediction PNG and the model "
        "to OUT_DIR and print JSON with the F0.5 reached on the unlabelled papyrus",
    )
    demo.add_argument(
        "--max-seconds",
        type=float,
        default=DEMO_SECONDS,
        help=f"headless: seconds spent in training steps (default {DEMO_SECONDS:g}); start-up "
        "and the predictions and scores around training come on top",
    )
    demo.add_argument("--device", default="auto", help="headless: auto, cpu, cuda, cuda:1 or mps")
    demo.add_argument("--quiet", action="store_true", help="headless: no progress bars")
    demo.add_argument(
        "--overwrite", action="store_true", help="headless: replace the outputs in OUT_DIR"
    )
    demo.set_defaults(run=_demo)


def _demo(args) -> int:
    if args.headless is not None:
        return _demo_headless(args)
    problem = _window_problem(args)
    if problem:
        print(f"inkloop demo: error: {problem}", file=sys.stderr)
        return 1
    from inkloop._napari._demo import run_demo

    run_demo(screenshot=args.screenshot)
    return 0


def _window_problem(args) -> str | None:
    """Why the demo's window cannot open as asked, or None."""
    from inkloop.demo import DEMO_SECONDS
    from inkloop.io import check_writable

    headless_only = {"--max-seconds": args.max_seconds != DEMO_SECONDS,
                     "--device": args.device != "auto", "--quiet": args.quiet,
                     "--overwrite": args.overwrite}  # fmt: skip
    given = [option for option, set_ in headless_only.items() if set_]
    if given:
        return f"{', '.join(given)}: only with --headless OUT_DIR (the window trains on a click)"
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return (
            "no display; run the loop headless with `inkloop demo --headless OUT_DIR`, or "
            "`xvfb-run -a inkloop demo --screenshot demo.png`"
        )
    if args.screenshot is not None:
        try:
            check_writable(args.screenshot)
        except ValueError as error:
            return f"cannot save the screenshot: {error}"
    return None


def _demo_headless(args) -> int:
    from inkloop.demo import run_headless_demo

    train = TrainConfig(max_seconds=args.max_seconds, device=args.device)
    summary = run_headless_demo(
        args.headless, train=train, progress=not args.quiet, overwrite=args.overwrite
    )
    print(json.dumps(summary))
    return 130 if summary["interrupted"] else 0
