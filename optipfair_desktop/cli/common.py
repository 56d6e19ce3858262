"""Helpers shared by the subcommands: opening a model with progress on stderr."""

from __future__ import annotations

import sys

from optipfair_desktop.engine.progress import ProgressCallback


def stderr_progress(prefix: str = "") -> ProgressCallback:
    """Return a progress callback that prints each new message once on stderr."""
    last = {"message": None}

    def report(fraction: float, message: str) -> None:
        if message != last["message"]:
            last["message"] = message
            print(f"{prefix}[{fraction:4.0%}] {message}", file=sys.stderr)

    return report


def open_model_source(spec: str, quiet: bool = False):
    from optipfair_desktop.engine.sources import open_source

    return open_source(spec, progress=(lambda f, m: None) if quiet else stderr_progress())


def add_model_argument(parser) -> None:
    parser.add_argument("model", metavar="MODEL", help="model folder, .gguf file, cached repo id, or 'demo'")
