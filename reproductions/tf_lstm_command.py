r"""The ``tf-lstm`` command: ``tf-lstm inspect MODEL --inputs=FILE [flags]``.

absl flags with the reproductions' names and style (``--output_dir``,
``--verbose``), mapped one to one onto `tf_lstm.inspect.Inspection`; the
library does the work. The command starts quietly: TensorFlow's C++ start-up
notices stay off stderr unless ``--verbose``. Exit status 0 done, 2 bad input
(one line on stderr, before anything is written).

The flags live in a `FlagValues` of their own, so that this command and the
reproductions (which define ``--output_dir`` too) can share one process.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from absl import flags

from reproductions.report import EXIT_USAGE
from reproductions.startup import import_tensorflow_quietly

INPUT_KINDS = ("auto", "tokens", "image", "count", "values")  # tf_lstm.inspect.INPUT_KINDS, checked by a test
USAGE = "tf-lstm inspect MODEL --inputs=FILE [--labels=FILE] [--output_dir=DIR] [...] (tf-lstm inspect --help)"

FLAGS = flags.FlagValues()
flags.DEFINE_string(
    "inputs", None, "A .npy or .npz array of inputs, or a text file (one input a line).", flag_values=FLAGS
)
flags.DEFINE_string("labels", None, "A .npy array of targets, for the gradients through time.", flag_values=FLAGS)
flags.DEFINE_string(
    "loss", None, "A Keras loss for the gradients (default: from the model's output).", flag_values=FLAGS
)
flags.DEFINE_string(
    "vocabulary", None, "A text file, one word a line: the words of token-id inputs.", flag_values=FLAGS
)
flags.DEFINE_enum(
    "input_kind",
    "auto",
    list(INPUT_KINDS),
    "How inside.html draws the input under the steps (auto: tokens for ids and text, else values or rows).",
    flag_values=FLAGS,
)
flags.DEFINE_string("output_dir", None, "The output folder (default: inspect/<model name>).", flag_values=FLAGS)
flags.DEFINE_bool("saved_model", False, "Also export a streaming SavedModel.", flag_values=FLAGS)
flags.DEFINE_bool("tflite", False, "Also export a builtin-only TFLite file.", flag_values=FLAGS)
flags.DEFINE_bool("onnx", False, "Also export an ONNX file with fused LSTM nodes ([onnx] extra).", flag_values=FLAGS)
flags.DEFINE_bool(
    "unsafe", False, "Load a model file that runs code (a Lambda layer); trust it first.", flag_values=FLAGS
)
flags.DEFINE_bool("verbose", False, "Show TensorFlow's C++ start-up notices.", flag_values=FLAGS)


def _parse(argv: list[str]) -> str:
    """The MODEL of ``inspect MODEL [flags]``; flags land in `FLAGS`. A mistake raises `flags.Error`, one line."""
    FLAGS.unparse_flags()
    positional = FLAGS(["tf-lstm", *argv], known_only=False)[1:]
    if len(positional) != 1:
        raise flags.Error(f"expected one MODEL, got {len(positional)}: {' '.join(positional) or 'none'}")
    if FLAGS.inputs is None:
        raise flags.Error("--inputs: required (a .npy, .npz or text file)")
    return positional[0]


def inspect_command(argv: list[str]) -> int:
    """``tf-lstm inspect ...`` with `argv` the words after ``inspect``."""
    if {"--help", "-h", "--helpfull"} & set(argv):
        print(f"usage: {USAGE}\n\n{FLAGS.module_help(sys.modules[__name__])}")
        return 0
    try:
        model = _parse(argv)
    except flags.Error as error:
        print(f"error: {error} (tf-lstm inspect --help)", file=sys.stderr)
        return EXIT_USAGE
    import_tensorflow_quietly(FLAGS.verbose)
    from tf_lstm.inspect import InspectError, Inspection, inspect

    chosen: dict[str, Any] = {field.name: FLAGS[field.name].value for field in dataclasses.fields(Inspection)[1:]}
    try:
        out = inspect(Inspection(model=model, **chosen))
    except InspectError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"inspection written to {out}; open {out / 'index.html'}")
    return 0


def command(argv: list[str] | None = None) -> int:
    """The ``tf-lstm`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] != "inspect":
        print(f"error: usage: {USAGE}", file=sys.stderr)
        return EXIT_USAGE
    return inspect_command(argv[1:])


if __name__ == "__main__":
    sys.exit(command())
