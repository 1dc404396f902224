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
flags.DEFINE_integer("seeds", 3, "How many seeds a multi-seed reproduction runs (seed, seed+1, ...); "
                     "its figures are their mean.", lower_bound=1)
flags.DEFINE_string("output_dir", "runs", "Where each reproduction writes report.json and its plots "
                    "(in a subdirectory named after it).")
flags.DEFINE_string("export_dir", None, "Where to export the trained model as a SavedModel; "
                    "default saved_models/<reproduction>. Pass 'none' to skip the export.")

flags.DEFINE_string("tfds_data_dir", None, "TensorFlow Datasets data_dir, for reproductions reading their "
                    "data through TFDS.")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker"],
                  "tf.distribute strategy of the training reproductions: one device, MirroredStrategy (every GPU, "
                  "else every logical CPU), or MultiWorkerMirroredStrategy (the cluster from TF_CONFIG).")
flags.DEFINE_bool("deterministic", False, "Make TensorFlow's ops deterministic (tf.config.experimental."
                  "enable_op_determinism): needed for bit-equal reruns on GPUs; CPU runs here already are.")
flags.DEFINE_integer("logical_cpus", 0, "Split the CPU into this many logical devices (0: leave it whole), "
                     "so that --strategy=mirrored has replicas on a machine without GPUs.", lower_bound=0)

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


_strategy = None


def strategy():
    """The strategy named by --strategy, made once, before any other TensorFlow op (as multi_worker needs)."""
    global _strategy
    if _strategy is None:
        from tf_lstm import distribute

        with input_checks():
            if FLAGS.deterministic:
                import tensorflow as tf

                tf.config.experimental.enable_op_determinism()
            if FLAGS.logical_cpus:
                distribute.split_cpu(FLAGS.logical_cpus)
            _strategy = distribute.make_strategy(FLAGS.strategy)
    return _strategy


def is_chief() -> bool:
    from tf_lstm import distribute

    return _strategy is None or distribute.is_chief(_strategy)


def run_dir(name: str) -> Path:
    """Where a reproduction writes; the non-chief tasks of a cluster write to a ``<task>`` folder inside it."""
    base = Path(FLAGS.output_dir) / name
    if is_chief():
        return base
    from tf_lstm import distribute

    return base / distribute.task_name(_strategy)


def export_dir(name: str) -> Path | None:
    """The export folder (None: no export); only the chief of a cluster exports."""
    value = FLAGS.export_dir
    if not is_chief():
        return None
    if value is None:
        return PROJECT_ROOT / "saved_models" / name
    return None if value.lower() == "none" else Path(value)


def default_data_dir() -> Path | None:
    """$TF_LSTM_DATA_DIR: a folder laid out as ../shared/data (mnist/, imdb/)."""
    value = os.environ.get("TF_LSTM_DATA_DIR")
    return Path(value) if value else None


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow with its C++ start-up lines (CUDA probing, oneDNN) kept off stderr.

    Those lines are written before TensorFlow's logging can be configured;
    stderr is restored before anything is raised, so a failed import still
    shows its traceback.
    """
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def existing_path(flag: str, kind: str = "any") -> None:
    """Registers a validator: the flag, when set, names an existing file or directory."""

    def check(value):
        if value is None:
            return True
        path = Path(value)
        return path.is_dir() if kind == "dir" else path.exists()

    what = {"dir": "an existing directory", "any": "an existing file or directory"}[kind]
    flags.register_validator(flag, check, message=f"--{flag} must name {what}")


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
        import_tensorflow_quietly()
        if len(argv) > 1:
            print(f"error: unexpected arguments {argv[1:]} (flags are --name=value)", file=sys.stderr)
            return EXIT_USAGE
        try:
            return main(argv)
        except (UsageError, FileNotFoundError) as error:
            print(f"error: {' '.join(str(error).split())}", file=sys.stderr)  # always one line
            return EXIT_USAGE

    app.run(guarded, flags_parser=_parse_flags)


def run_reproduction(reproduce_from_flags: Callable[[], "Report"]) -> None:
    """The `__main__` of a reproduction script: run it, print its report, exit with its status."""
    run(lambda argv: reproduce_from_flags().finish())
