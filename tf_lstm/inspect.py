r"""Look inside any trained LSTM model: what ``tf-lstm inspect`` runs.

    tf-lstm inspect MODEL --inputs=FILE [--labels=FILE] [--vocabulary=FILE] [--input_kind=KIND]
                    [--output_dir=DIR] [--saved_model] [--tflite] [--onnx] [--unsafe] [--verbose]

or, from Python, ``inspect(Inspection(model=..., inputs=...))``. The command
(`reproductions.tf_lstm_command`) maps its flags one to one onto the fields of
`Inspection`.

MODEL is a ``.keras`` file (with ``keras.layers.LSTM`` or tf_lstm layers) or a
SavedModel folder written by `tf_lstm.export_saved_model` (its ``model.keras``
is read). Keras LSTMs are converted with `tf_lstm.from_keras` (same weights,
the same outputs). FILE is a ``.npy`` array, a ``.npz`` (its ``x`` or first
array; ``y``, if there, serves as labels), or a text file with one input a
line for a model that starts with ``TextVectorization``. The folder
(``--output_dir``, default ``inspect/<model name>``) receives:

- ``gates.png``: the input, forget and output gates and the cell state of the
  first few inputs, step by step (and the gradient reaching each step, with
  labels);
- ``saturation.png``: per gate and unit, the share of steps below 0.1 and
  above 0.9 over all the inputs;
- ``gradients.png`` and ``gradients.json`` with labels: how far back the
  loss's gradient reaches (``‖∂L/∂h_t‖`` and the input saliency per step);
- ``tensorboard/``: histograms of the gates and the weights
  (``tensorboard --logdir DIR``);
- ``inside.html``: the interactive page of `tf_lstm.inside_page` (every
  layer's states and gates at every step, select and match, reading,
  saturation), one self-contained file;
- ``index.html``: one static page of all of it;
- with ``--saved_model``: ``saved_model/``, a streaming SavedModel; with
  ``--tflite``: ``model.tflite``, builtin ops only, for the inputs' length.

A model file may come from anyone, so it is loaded in Keras' safe mode, where
no code from the file runs; a file that needs more (a ``Lambda`` layer) is
refused by name unless ``--unsafe`` is given. Bad input is one line on stderr
and exit status 2, before anything is written; the output folder must be new,
empty or an earlier inspection's.
"""

from __future__ import annotations

import dataclasses
import html
import json
from pathlib import Path
from typing import Any

import numpy as np

INPUT_KINDS = ("auto", "tokens", "image", "count", "values")  # tf_lstm.inside.INPUT_KINDS, without importing TF
MARKER = "tf_lstm_inspect.json"
SHOWN = 3  # inputs drawn in gates.png
NOT_PER_STEP = ("loss", "saliency_at")  # what gradients_through_time returns beside the per-step norms


class InspectError(ValueError):
    """Bad input: one line, exit status 2."""


@dataclasses.dataclass(frozen=True)
class Inspection:
    """What to inspect and what to write; each field is the ``tf-lstm inspect`` flag of the same name.

    Attributes:
        model: a .keras file, or a SavedModel folder written by `tf_lstm.export_saved_model`.
        inputs: a .npy or .npz array of inputs, or a text file (one input a line).
        labels: a .npy array of targets, for the gradients through time (an .npz's ``y`` otherwise).
        loss: a Keras loss for the gradients (default: from the model's output).
        vocabulary: a text file, one word a line: the words of token-id inputs.
        input_kind: how inside.html draws the input under the steps, one of `INPUT_KINDS`.
        output_dir: the output folder (default: ``inspect/<model name>``).
        saved_model, tflite, onnx: also export a streaming SavedModel, a builtin-only TFLite file, an ONNX file.
        unsafe: load a model file that runs code (a Lambda); trust it first.
    """

    model: str | Path
    inputs: str | Path
    labels: str | Path | None = None
    loss: str | None = None
    vocabulary: str | Path | None = None
    input_kind: str = "auto"
    output_dir: str | Path | None = None
    saved_model: bool = False
    tflite: bool = False
    onnx: bool = False
    unsafe: bool = False

    def __post_init__(self):
        if self.input_kind not in INPUT_KINDS:
            raise InspectError(f"--input_kind={self.input_kind}: not one of {', '.join(INPUT_KINDS)}")


def _keras_file(model_path: Path) -> Path:
    if model_path.is_dir():
        marker = model_path / "tf_lstm_export.json"
        copy = model_path / "model.keras"
        if not marker.is_file():
            raise InspectError(f"model {model_path}: a folder that is not a tf_lstm export (no {marker.name})")
        if not copy.is_file():
            raise InspectError(f"model {model_path}: this export holds no model.keras (Keras could not save the model)")
        return copy
    if model_path.suffix != ".keras" or not model_path.is_file():
        raise InspectError(f"model {model_path}: not a .keras file or a SavedModel folder written by tf_lstm")
    return model_path


def load_model(model_path: Path, unsafe: bool):
    """The Keras model in `model_path`, loaded in safe mode unless `unsafe`, its Keras LSTMs converted."""
    from keras.src.saving.serialization_lib import SafeModeScope  # Keras 3 names no public scope for it

    path = _keras_file(model_path)
    # Unsafe only within this load and conversion (from_keras clones the layers), never for the whole process.
    with SafeModeScope(safe_mode=not unsafe):
        return _load_and_convert(model_path, path, unsafe)


def _load_and_convert(model_path: Path, path: Path, unsafe: bool):
    import keras

    import tf_lstm

    try:
        model = keras.saving.load_model(path, safe_mode=not unsafe)
    except ValueError as error:
        text = " ".join(str(error).split())
        if "safe_mode" in text or "unsafe" in text:
            raise InspectError(
                f"model {model_path} needs unsafe loading, which runs code from the file "
                f"({text[:160]}); pass --unsafe if you trust where it came from"
            ) from error
        raise InspectError(f"model {model_path} cannot be loaded: {text[:300]}") from error
    except Exception as error:  # a damaged or foreign file: say so, in one line
        raise InspectError(f"model {model_path} cannot be loaded: {type(error).__name__}: {error}") from error
    if any(isinstance(layer, keras.layers.LSTM) for layer in model._flatten_layers()):
        model = tf_lstm.from_keras(model)
    return model


def load_array(path: Path, what: str, key: str) -> np.ndarray:
    """The array in a .npy/.npz file (an .npz's `key` or first array) or the lines of a text file."""
    if not path.is_file():
        raise InspectError(f"--{what}={path}: no such file")
    try:
        if path.suffix == ".npy":
            array = np.load(path, allow_pickle=False)
        elif path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as arrays:
                if not arrays.files:
                    raise InspectError(f"--{what}={path}: the .npz holds no array")
                array = arrays[key] if key in arrays.files else arrays[arrays.files[0]]
        else:
            array = np.asarray([line for line in path.read_text().splitlines() if line.strip()])
    except (OSError, ValueError) as error:
        raise InspectError(f"--{what}={path}: cannot be read ({error})") from error
    if len(array) == 0:
        raise InspectError(f"--{what}={path}: empty")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise InspectError(f"--{what}={path}: holds NaN or infinite values")
    return array


def _check_out(out: Path) -> Path:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).is_file())):
        raise InspectError(
            f"--output_dir={out}: exists and is not an empty folder or an earlier inspection's; pass another"
        )
    return out


def inspect(request: Inspection) -> Path:
    """Runs the inspection `request` asks for; returns the output folder. Bad input raises `InspectError` (one
    line naming the flag and the value) before anything is written."""
    model_path = Path(request.model)
    if not model_path.exists():
        raise InspectError(f"model {model_path}: no such file or folder")
    x = load_array(Path(request.inputs), "inputs", "x")
    y = load_array(Path(request.labels), "labels", "y") if request.labels else None
    if y is None and Path(request.inputs).suffix == ".npz":
        with np.load(request.inputs) as arrays:
            y = arrays["y"] if "y" in arrays.files else None
    if y is not None and len(y) != len(x):
        raise InspectError(f"--labels: {len(y)} labels for {len(x)} inputs")
    vocabulary = None
    if request.vocabulary:
        vocabulary = [str(word) for word in load_array(Path(request.vocabulary), "vocabulary", "vocabulary")]
    out = _check_out(Path(request.output_dir) if request.output_dir else Path("inspect") / model_path.stem)
    model = load_model(model_path, request.unsafe)
    if x.dtype.kind == "f":
        x = x.astype(model.compute_dtype)
    return write_inspection(model, x, y, out, request, vocabulary=vocabulary)


def write_inspection(
    model, x: np.ndarray, y: np.ndarray | None, out: Path, request: Inspection, *, vocabulary=None
) -> Path:
    """The pictures, gradients, TensorBoard histograms, page and exports of `model` on `x` (and `y`), in `out`."""
    import tf_lstm
    from tf_lstm.inside import default_loss
    from tf_lstm.pictures import gates_figure, saturation_figure

    try:
        traced = tf_lstm.trace(model, x)
    except (TypeError, ValueError) as error:
        raise InspectError(f"model {model.name!r}: {error}") from error
    one = _one_direction(traced)
    loss = request.loss or default_loss(model, x)
    gradients = None if y is None else _gradients(model, x, y, loss)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(json.dumps({"written_by": "tf-lstm inspect", "model": str(request.model)}) + "\n")
    shown = list(range(min(SHOWN, len(x))))
    pictures = {
        "gates.png": gates_figure(
            one,
            shown,
            gradients=None if gradients is None else gradients["h"],
            title=f"{model.name}: gates and cell state at every step",
        ),
        "saturation.png": saturation_figure(tf_lstm.saturation(one), title=f"{model.name}: gate saturation"),
    }
    if gradients is not None:
        pictures["gradients.png"] = _gradients_figure(gradients, model.name)
        summary = {
            key: np.asarray(gradients[key]).mean(axis=0).tolist() for key in gradients if key not in NOT_PER_STEP
        }
        summary.update(loss=gradients["loss"], saliency_at=gradients["saliency_at"])
        (out / "gradients.json").write_text(json.dumps(summary, indent=2) + "\n")
    for name, figure in pictures.items():
        figure.savefig(out / name, dpi=100)
    _histograms(out / "tensorboard", model, one)
    _inside_page(model, x, y, out, loss=loss, vocabulary=vocabulary, input_kind=request.input_kind)
    exports = _exports(model, x, out, request)
    (out / "index.html").write_text(_page(model, x, list(pictures), gradients, exports))
    return out


def _gradients(model, x: np.ndarray, y: np.ndarray, loss) -> dict[str, Any]:
    """`tf_lstm.gradients_through_time` of `loss`; a loss that does not fit the labels as one line."""
    import tf_lstm

    try:
        return tf_lstm.gradients_through_time(model, x, y, loss)
    except (TypeError, ValueError) as error:
        raise InspectError(f"--labels with loss {loss!r}: {' '.join(str(error).split())[:300]}") from error


def _exports(model, x: np.ndarray, out: Path, request: Inspection) -> list[str]:
    """The exports `request` asks for, written into `out`; their names."""
    import tensorflow as tf

    import tf_lstm

    exports = []
    if request.saved_model:
        tf_lstm.export_saved_model(model, out / "saved_model", streaming=True)
        exports.append("saved_model/")
    if request.tflite:
        spec = tf.TensorSpec([None, *x.shape[1:]], tf.as_dtype(x.dtype), name="inputs")
        tf_lstm.export_tflite(model, out / "model.tflite", input_signature=[spec])
        exports.append("model.tflite")
    if request.onnx:
        try:
            tf_lstm.export_onnx(model, out / "model.onnx")
        except (ImportError, ValueError) as error:
            raise InspectError(f"--onnx: {error}") from error
        exports.append("model.onnx")
    return exports


def _inside_page(model, x, y, out: Path, **options) -> None:
    """``inside.html``, the interactive page (`tf_lstm.inside_page`); its refusals as one line."""
    from tf_lstm.inside import InsidePageError, inside_page

    try:
        inside_page(model, x, out / "inside.html", labels=y, title=f"Inside {model.name}", **options)
    except InsidePageError as error:
        raise InspectError(str(error)) from error


def _one_direction(traced: dict[str, Any]) -> dict[str, Any]:
    """The trace of the first direction of the first layer (Bidirectional and MultiLayerLSTM nest theirs)."""
    while "h" not in traced:
        traced = traced.get("forward") or traced[sorted(traced)[0]]
    return traced


def _gradients_figure(gradients: dict[str, Any], name: str):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 3.6), layout="constrained")
    ax = figure.subplots()
    steps = np.arange(1, np.asarray(gradients["h"]).shape[1] + 1)
    for key, label in (("h", "‖∂L/∂h_t‖"), ("c", "‖∂L/∂c_t‖"), ("x", "saliency ‖∂L/∂x_t‖")):
        if key in gradients:
            ax.semilogy(steps, np.maximum(np.asarray(gradients[key]).mean(axis=0), 1e-30), marker=".", label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("mean over the inputs (log)")
    ax.set_title(f"{name}: how far back the gradient reaches ({gradients['saliency_at']})", fontsize=9)
    ax.legend()
    return figure


def _histograms(directory: Path, model, traced: dict[str, Any]) -> None:
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(directory))
    with writer.as_default():
        for gate in ("i", "f", "g", "o", "c", "h"):
            if gate in traced:
                tf.summary.histogram(f"gates/{gate}", np.asarray(traced[gate]), step=0)
        for weight in model.weights:
            tf.summary.histogram(f"weights/{weight.path}", np.asarray(weight), step=0)
    writer.flush()
    writer.close()


def _page(model, x: np.ndarray, pictures: list[str], gradients, exports: list[str]) -> str:
    rows = [
        ("model", model.name),
        ("inputs", f"{len(x)} of shape {tuple(x.shape[1:])} ({x.dtype})"),
        ("gradients", "none (no labels)" if gradients is None else f"loss {gradients['loss']:.6g}"),
        ("exports", ", ".join(exports) or "none"),
    ]
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    images = "".join(
        f'<figure><img src="{html.escape(p)}" alt="{html.escape(p)}"><figcaption>{html.escape(p)}</figcaption></figure>'
        for p in pictures
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>tf-lstm inspect: {html.escape(model.name)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px}img{max-width:100%}"
        "th{text-align:left;padding-right:1em}</style></head><body>"
        f"<h1>Inside {html.escape(model.name)}</h1><table>{table}</table>"
        '<p><a href="inside.html">inside.html</a>: every state and gate at every step, to question '
        f"(select units, find where they are on, read the input coloured by a unit).</p>{images}"
        "<p>TensorBoard: <code>tensorboard --logdir tensorboard</code> in this folder.</p></body></html>\n"
    )
