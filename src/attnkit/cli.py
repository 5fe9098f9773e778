"""The ``attnkit`` command line: ``attnkit <verb> ...``.

Each verb is a small function that parses its arguments and calls into the library; user-facing
errors (:class:`attnkit.errors.AttnkitError`) are printed as one clear message, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from attnkit import __version__
from attnkit.errors import AttnkitError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="attnkit",
        description="Attention-based models: train, decode, evaluate and inspect attention.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_subparsers(dest="verb", metavar="VERB")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except AttnkitError as err:
        print(f"attnkit {args.verb}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"attnkit {args.verb}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
