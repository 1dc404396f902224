"""What every reproduction script shares: common flags, one-line errors, exit codes."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import traceback
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from absl import app, flags

from reproductions import environment, faults
from reproductions.options import RunOptions
from reproductions.report import EXIT_INTERNAL, EXIT_USAGE
from reproductions.startup import import_tensorflow_quietly

FLAGS = flags.FLAGS

DEFAULTS = RunOptions()  # the one place the shared defaults are written

flags.DEFINE_integer(
    "seed", DEFAULTS.seed, "Seed of the first run; further runs use seed+1, seed+2, ...", lower_bound=0
)
flags.DEFINE_integer(
    "seeds",
    DEFAULTS.seeds,
    "How many seeds a multi-seed reproduction runs (seed, seed+1, ...); its figures are their mean.",
    lower_bound=1,
)
flags.DEFINE_string(
    "output_dir", "runs", "Where each reproduction writes report.json and its plots (in a subdirectory named after it)."
)
flags.DEFINE_string(
    "export_dir",
    None,
    "Where to export the trained model as a SavedModel (python -m "
    "reproductions: a folder per reproduction inside it); default saved_models/<reproduction>. "
    "Only a new or empty folder, or an earlier tf_lstm export, is accepted. 'none': no export.",
)

flags.DEFINE_bool(
    "tensorboard",
    DEFAULTS.tensorboard,
    "Write a TensorBoard log of each training reproduction into <output_dir>/<name>/tensorboard "
    "(scalars, weight and gate histograms, settings, pictures): tensorboard --logdir runs.",
)
flags.DEFINE_string(
    "tfds_data_dir", None, "TensorFlow Datasets data_dir, for reproductions reading their data through TFDS."
)
flags.DEFINE_enum(
    "strategy",
    "default",
    ["default", "mirrored", "multi_worker"],
    "tf.distribute strategy of the training reproductions: one device, MirroredStrategy (every GPU, "
    "else every logical CPU), or MultiWorkerMirroredStrategy (the cluster from TF_CONFIG).",
)
flags.DEFINE_bool(
    "deterministic",
    False,
    "Make TensorFlow's ops deterministic (tf.config.experimental."
    "enable_op_determinism): needed for bit-equal reruns on GPUs; CPU runs here already are.",
)
flags.DEFINE_bool("verbose", False, "Show TensorFlow's C++ start-up notices (CUDA probing, oneDNN, CPU features).")
flags.DEFINE_integer(
    "logical_cpus",
    0,
    "Split the CPU into this many logical devices (0: leave it whole), "
    "so that --strategy=mirrored has replicas on a machine without GPUs.",
    lower_bound=0,
)


EXIT_STATUSES_HELP = """
Exit status: 0 every judged figure passes; 1 a figure fails, one was never judged, or a training run
diverged (its loss turned NaN or Inf: "diverged at step N"); 2 bad input (a flag, a path, the data, a
checkpoint that cannot be read), a write that failed (a full disk, no permission: the path and the
reason), or a folder another run is writing to; 3 an internal error (its traceback is printed);
130 interrupted by Ctrl-C, 143 by SIGTERM ("interrupted after step N; rerun the same command to resume").
"""


class UsageError(ValueError):
    """Bad input from the user: reported in one line, exit status 2."""


@contextlib.contextmanager
def input_checks():
    """Turns what a loader raises about the user's input (a bad value, a missing file) into a UsageError.

    Wrap only the calls that read user input: elsewhere a FileNotFoundError
    is a bug, and is reported as an internal error with its traceback.
    """
    try:
        yield
    except (ValueError, TypeError, FileNotFoundError) as error:
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


def _file_in_the_way(path: Path) -> Path | None:
    """The first of `path` and its parents that exists and is not a directory, or None."""
    for candidate in (path, *path.parents):
        if candidate.exists() and not candidate.is_dir():
            return candidate
    return None


def _output_dir_is_a_folder(value: str) -> bool:
    return _file_in_the_way(Path(value).expanduser().absolute()) is None


flags.register_validator(
    "output_dir",
    _output_dir_is_a_folder,
    message="--output_dir must name a folder (or a path where one can be made), not a file",
)


def claim_run_dir(name: str) -> Path:
    """Where a reproduction writes, held for this run (a second run writing there at once is refused); the
    non-chief tasks of a cluster write to a ``<task>`` folder inside it."""
    base = Path(FLAGS.output_dir).expanduser() / name
    if not is_chief():
        from tf_lstm import distribute

        base = base / distribute.task_name(_strategy)
    blocked = _file_in_the_way(base.absolute())
    if blocked is not None:
        raise UsageError(f"--output_dir={FLAGS.output_dir}: the run folder {base} cannot be made, {blocked} is a file.")
    faults.hold(base, "--output_dir")  # a second run writing here at once is refused (exit 2)
    return base


# Set by `python -m reproductions`: one --export_dir then holds a folder per reproduction.
export_dir_holds_one_per_reproduction = False


def claim_export_dir(name: str) -> Path | None:
    """The export folder (None: no export), checked to be new or an earlier export and held for this run; only a
    chief exports.

    A reproduction run alone exports to ``--export_dir``; the runner, which
    runs several, to ``<--export_dir>/<name>``. Default: ``saved_models/<name>``.
    """
    from tf_lstm.export import check_export_path

    value = FLAGS.export_dir
    if not is_chief() or (value is not None and value.lower() == "none"):
        return None
    if value is None:
        path = Path("saved_models") / name
    else:
        path = Path(value) / name if export_dir_holds_one_per_reproduction else Path(value)
    try:
        checked = check_export_path(path)
    except ValueError as error:
        raise UsageError(f"--export_dir: {error}") from error
    faults.hold(checked, "--export_dir")
    return checked


def default_data_dir() -> Path | None:
    """$TF_LSTM_DATA_DIR: a folder laid out as ../shared/data (mnist/, imdb/)."""
    value = os.environ.get("TF_LSTM_DATA_DIR")
    return Path(value) if value else None


def reachable(url: str, timeout: float = 5.0) -> bool:
    """Whether a TCP connection to `url`'s host opens within `timeout` seconds.

    Asked before a TFDS download: offline, TFDS's own retries take minutes
    (204 s for MNIST here) before they give up.
    """
    parts = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)), timeout=timeout
        ):
            return True
    except OSError:
        return False


def tfds_missing(dataset: str, url: str, fix: str, data_dir: str | None = None) -> str | None:
    """None once TFDS has `dataset` prepared, downloading and preparing it first if needed; else why not.

    Args:
        dataset: the TFDS name ("mnist", "imdb_reviews").
        url: where TFDS downloads it from; its host is probed first.
        fix: what the user can pass instead (a local-path flag), for the reason.
        data_dir: TFDS's data_dir (None: its default).
    """
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(dataset, data_dir=data_dir)
        if builder.is_prepared():
            return None
        if not reachable(url):
            return f"{dataset} is not prepared in TensorFlow Datasets and {url} cannot be reached (offline?); {fix}"
        print(f"downloading and preparing {dataset} through TensorFlow Datasets into {builder.data_dir} (once)")
        builder.download_and_prepare()
    except Exception as error:  # whatever stops the download, the fix is the same
        reason = " ".join(str(error).split())[:300]
        return (
            f"{dataset} could not be downloaded through TensorFlow Datasets ({type(error).__name__}: {reason}); {fix}"
        )
    return None


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


def run(main: Callable[[list[str]], int], argv: list[str] | None = None) -> None:
    """`app.run(main)` with exit statuses that tell outcomes apart (the return of `main`, 2, 3, 130, 143).

    Bad input (a UsageError), a write that fails (a full disk, no
    permission: `faults.WriteError`) and a folder another run is writing to
    (`faults.InUse`) are one line on stderr and exit 2;
    Ctrl-C and SIGTERM one line and exit 130 / 143; any other exception is a
    bug: its traceback, then exit 3.
    """

    def guarded(argv):
        from absl import logging

        logging.set_verbosity(logging.WARNING)  # TensorFlow's export chatter
        import_tensorflow_quietly(FLAGS.verbose)
        warning = environment.lock_warning(environment.environment())
        if warning:
            print(warning)
        if len(argv) > 1:
            print(f"error: unexpected arguments {argv[1:]} (flags are --name=value)", file=sys.stderr)
            return EXIT_USAGE
        try:
            return main(argv)
        except (UsageError, faults.WriteError, faults.InUse) as error:
            print_usage_error(error)
            return EXIT_USAGE
        except Exception as error:  # a bug, not bad input: show where it happened
            reason = faults.write_failure_reason(error)
            if reason is not None:  # a write no `faults.writing` named: the OS's error names the file
                print_usage_error(faults.WriteError(getattr(error, "filename", None) or "a file", reason))
                return EXIT_USAGE
            traceback.print_exc()
            print(f"internal error ({type(error).__name__}); exit status {EXIT_INTERNAL}", file=sys.stderr)
            return EXIT_INTERNAL

    _list_every_flag_in_help()
    main_module = sys.modules["__main__"]
    if EXIT_STATUSES_HELP not in (main_module.__doc__ or ""):  # absl's --help shows the command's docstring
        main_module.__doc__ = (main_module.__doc__ or "") + EXIT_STATUSES_HELP
    faults.handle_signals()
    try:
        app.run(guarded, argv=argv, flags_parser=_parse_flags)
    except faults.Interrupted as interrupted:
        print(interrupted.line(), file=sys.stderr)
        sys.exit(interrupted.exit_status)


def _list_every_flag_in_help() -> None:
    """Makes every flag the command takes show in its ``--help``, not only under ``--helpfull``.

    absl's ``--help`` lists the flags defined by the main module; the
    reproductions' own flags are made in `reproductions.config` and the shared
    ones here, so each is declared a key flag of the command being run.
    """
    main = sys.argv[0]
    for module, module_flags in FLAGS.flags_by_module_dict().items():
        if module.startswith("reproductions") or module == main:
            for flag in module_flags:
                FLAGS.register_key_flag_for_module(main, flag)


def print_usage_error(error: Exception) -> None:
    """Bad input, as one line on stderr."""
    print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
