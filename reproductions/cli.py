"""What every reproduction script shares: common flags, one-line errors, exit codes."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Callable

from absl import app, flags

from reproductions.report import EXIT_USAGE

FLAGS = flags.FLAGS

flags.DEFINE_integer("seed", 0, "Seed of the first run; further runs use seed+1, seed+2, ...", lower_bound=0)
flags.DEFINE_string("output_dir", "runs", "Where each reproduction writes report.json and its plots "
                    "(in a subdirectory named after it).")
flags.DEFINE_string("export_dir", None, "Where to export the trained model as a SavedModel; "
                    "default saved_models/<reproduction>. Pass 'none' to skip the export.")

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class UsageError(ValueError):
    """Bad input from the user: reported in one line, exit status 2."""


@contextlib.contextmanager
def input_checks():
    """Turns the loaders' ValueError/TypeError about bad input into a UsageError."""
    try:
        yield
    except (ValueError, TypeError) as error:
        raise UsageError(str(error)) from error


def run_dir(name: str) -> Path:
    return Path(FLAGS.output_dir) / name


def export_dir(name: str) -> Path | None:
    value = FLAGS.export_dir
    if value is None:
        return PROJECT_ROOT / "saved_models" / name
    return None if value.lower() == "none" else Path(value)


def default_data_dir() -> Path | None:
    """$TF_LSTM_DATA_DIR: a folder laid out as ../shared/data (mnist/, imdb/)."""
    value = os.environ.get("TF_LSTM_DATA_DIR")
    return Path(value) if value else None


def _parse_flags(argv):
    try:
        return FLAGS(argv)
    except flags.Error as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def run(main: Callable[[list[str]], int]) -> None:
    """`app.run(main)` with bad input turned into one line on stderr and exit 2."""

    def guarded(argv):
        from absl import logging

        logging.set_verbosity(logging.WARNING)  # TensorFlow's export chatter
        if len(argv) > 1:
            print(f"error: unexpected arguments {argv[1:]} (flags are --name=value)", file=sys.stderr)
            return EXIT_USAGE
        try:
            return main(argv)
        except (UsageError, FileNotFoundError) as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_USAGE

    app.run(guarded, flags_parser=_parse_flags)
