"""Command-line entry point: ``optipfair-desktop [--demo] [MODEL]`` opens the GUI, subcommands script the engine."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys

from optipfair_desktop import __version__

logger = logging.getLogger(__name__)

# Each module has register(subparsers); a missing optional module only hides its command.
COMMAND_MODULES = ("inspect", "prune", "analyze", "bias", "bench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optipfair-desktop",
        description="Prune small causal language models in depth and width, inspect bias, benchmark. "
        "Without a command, opens the GUI.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--demo", action="store_true", help="open the GUI on the demo model (SmolLM2-135M-Instruct)")
    parser.add_argument("--open", metavar="MODEL", help="open the GUI on MODEL (folder, .gguf file, cached repo id)")
    parser.add_argument("--screenshot", metavar="PNG", help="with the GUI: save a screenshot once the model is open, then quit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log engine steps to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"optipfair_desktop.cli.{name}_command")
        except ModuleNotFoundError as error:
            if error.name != f"optipfair_desktop.cli.{name}_command":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    # transformers and huggingface_hub draw tqdm bars on stderr; the app reports its own progress.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        from optipfair_desktop.gui.app import run_gui

        return run_gui(model="demo" if args.demo else args.open, screenshot=args.screenshot)
    _raise_on_termination_signals()
    try:
        return int(args.run(args) or 0)
    except (ValueError, OSError) as error:
        # One line for the user; OSError covers unreadable files and invalid output paths.
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def _raise_on_termination_signals() -> None:
    """Turn SIGTERM and SIGHUP into KeyboardInterrupt so that a save in progress cleans up."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), interrupt)


if __name__ == "__main__":
    sys.exit(main())
