"""The `inkloop` command: synth here; train in `_cli_train`, predict and evaluate in
`_cli_predict`, info and check in `_cli_inspect`, demo in `_cli_demo`."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from pathlib import Path

from inkloop._cli_demo import add_demo
from inkloop._cli_engine import add_engine
from inkloop._cli_inspect import add_inspect
from inkloop._cli_predict import add_predict
from inkloop._cli_train import add_train, more_segments_error
from inkloop._command import as_command, terminate_as_ctrl_c
from inkloop._errors import users_error
from inkloop._notify import said_as
from inkloop.engine._versions import OURS
from inkloop.synthetic import INK_CONTRAST


def main(argv: list[str] | None = None) -> int:
    """Run the `inkloop` command line; returns the exit status."""
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        _refuse_extra(parser, args, extra)
    try:  # Ctrl+C as a command takes it, and SIGTERM as a Ctrl+C from the start (imports,
        # loading): the runs inside enter `terminate_as_ctrl_c` again, which is harmless
        with said_as(args.command), as_command(), _sigterm_as_ctrl_c(args):
            status = args.run(args)
        sys.stdout.flush()  # a reader that left shows here, not as a traceback at exit
        return status
    except BrokenPipeError:  # the reader left early (`| head`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # as Python's docs do
        return 1
    except KeyboardInterrupt:  # before training began (a run in progress saves and returns)
        print(f"inkloop {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if users_error(error, command=True):  # bad input, a failed run: one line
            print(f"inkloop {args.command}: error: {error}", file=sys.stderr)
        else:  # a bug: its traceback, for the report
            traceback.print_exc()
            said = f"inkloop {args.command}: a bug in inkloop: please report it, traceback and all"
            print(said, file=sys.stderr)
        return 1


def _refuse_extra(parser, args, extra: list[str]) -> None:
    """Exit with argparse's error for the arguments ``extra`` no option took; segments after
    the first of `inkloop train` are told how several are used (`more_segments_error`)."""
    if args.command == "train" and not any(word.startswith("-") for word in extra):
        parser.exit(2, f"inkloop train: error: {more_segments_error(args.segment, extra)}\n")
    parser.error(f"unrecognized arguments: {' '.join(extra)}")


def _sigterm_as_ctrl_c(args):
    """`terminate_as_ctrl_c` for the command ``args`` runs, but for napari's window (`demo`
    without --headless) and the engine server: those end on SIGTERM as any program does (the
    server once it has closed, `_cli_engine`)."""
    if args.command == "engine" or (args.command == "demo" and args.headless is None):
        return contextlib.nullcontext()
    return terminate_as_ctrl_c()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inkloop", description="Human-in-the-loop ink detection for scroll segments."
    )
    parser.add_argument("--version", action="version", version=OURS)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_inspect(commands)

    synth = commands.add_parser("synth", help="write a synthetic segment with known ink")
    synth.add_argument("out_dir", type=Path, help="segment folder to create")
    synth.add_argument("--height", type=int, default=1024, help="pixels (default %(default)s)")
    synth.add_argument("--width", type=int, default=1024, help="pixels (default %(default)s)")
    synth.add_argument("--layers", type=int, default=65, help="(default %(default)s)")
    synth.add_argument("--seed", type=int, default=0, help="(default %(default)s)")
    synth.add_argument(
        "--name", help="segment id used in file names: the folder's name (another is refused)"
    )
    synth.add_argument("--reverse", action="store_true", help="store the layers back to front")
    synth.add_argument("--dtype", choices=["uint16", "uint8"], default="uint16")
    synth.add_argument(
        "--compression",
        choices=["none", "zlib", "zstd", "lzw"],
        default="none",
        help="TIFF compression of the layers (real segments are mostly uncompressed)",
    )
    synth.add_argument(
        "--ink-contrast",
        type=float,
        default=INK_CONTRAST,
        help=f"ink density over papyrus (default {INK_CONTRAST}: faint, as in real scans)",
    )
    synth.add_argument(
        "--demo-strokes",
        action="store_true",
        help="save the true ink as <id>_truth.png and the demo's example strokes as the labels "
        "(how the bundled sample is made)",
    )
    synth.set_defaults(run=_synth)

    add_train(commands)
    add_predict(commands)

    add_demo(commands)
    add_engine(commands)
    return parser


def _synth(args) -> int:
    from inkloop._overwrite import make_out_folder
    from inkloop.io import check_writable
    from inkloop.synthetic import check_new_folder, write_segment

    check_new_folder(args.out_dir, args.name)  # before the folder is made: nothing to take back
    make_out_folder(args.out_dir)  # where it cannot be made, one line naming it
    check_writable(args.out_dir / "layers")  # made, or there already but read-only
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
        ink_contrast=args.ink_contrast,
        truth_as_labels=not args.demo_strokes,
    )
    if args.demo_strokes:
        from inkloop.demo import write_demo_labels

        write_demo_labels(out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
