"""The `inkloop` command: segment info, synthetic segments and the napari demo."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Run the `inkloop` command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (OSError, ValueError) as error:  # bad input (SegmentError is a ValueError)
        print(f"inkloop {args.command}: error: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inkloop", description="Human-in-the-loop ink detection for scroll segments."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    info = commands.add_parser("info", help="print a segment's shape, dtype and files as JSON")
    info.add_argument("segment", type=Path, help="layer folder, multi-page TIFF or zarr")
    info.set_defaults(run=_info)

    synth = commands.add_parser("synth", help="write a synthetic segment with known ink")
    synth.add_argument("out_dir", type=Path, help="segment folder to create")
    synth.add_argument("--height", type=int, default=1024)
    synth.add_argument("--width", type=int, default=1024)
    synth.add_argument("--layers", type=int, default=65)
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--name", help="segment id used in file names (default: folder name)")
    synth.add_argument("--reverse", action="store_true", help="store the layers back to front")
    synth.add_argument("--dtype", choices=["uint16", "uint8"], default="uint16")
    synth.add_argument(
        "--compression",
        choices=["none", "zlib", "zstd", "lzw"],
        default="none",
        help="TIFF compression of the layers (real segments are mostly uncompressed)",
    )
    synth.set_defaults(run=_synth)

    demo = commands.add_parser("demo", help="open napari with the sample segment and Ink Loop")
    demo.add_argument(
        "--screenshot",
        type=Path,
        metavar="PNG",
        help="save a screenshot of the window to PNG and exit instead of staying open",
    )
    demo.set_defaults(run=_demo)
    return parser


def _info(args) -> int:
    from inkloop.io import open_segment

    segment = open_segment(args.segment)
    report = {
        "name": segment.name,
        "path": str(segment.path),
        "format": segment.format,
        "shape": list(segment.shape),
        "dtype": str(segment.dtype),
        "layer_range": [segment.layer_numbers[0], segment.layer_numbers[-1]],
        "levels": [list(level.shape) for level in segment.levels],
        "has_mask": segment.mask is not None,
        "has_ink_labels": segment.ink_labels is not None,
        "has_supervision": segment.supervision is not None,
        "files": {key: str(path) for key, path in segment.files.items()},
    }
    print(json.dumps(report))
    return 0


def _synth(args) -> int:
    from inkloop.synthetic import write_segment

    out = write_segment(
        args.out_dir,
        args.height,
        args.width,
        args.layers,
        args.seed,
        name=args.name,
        reverse=args.reverse,
        dtype=args.dtype,
        compression=None if args.compression == "none" else args.compression,
    )
    print(out)
    return 0


def _demo(args) -> int:
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        print(
            "inkloop demo: error: no display; on a headless machine run "
            "`xvfb-run -a inkloop demo --screenshot demo.png`",
            file=sys.stderr,
        )
        return 1
    from inkloop._napari._demo import run_demo

    run_demo(screenshot=args.screenshot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
