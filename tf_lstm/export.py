"""SavedModel export that never leaves a half-written directory behind, and never replaces what it did not write.

Every export carries a small marker file, ``tf_lstm_export.json``, beside its
``saved_model.pb``. An existing path is replaced only when it is such an
export (or an empty directory); anything else (a folder holding other files,
a file, the current directory, a parent of it) is refused before any work,
with an error naming the path.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import keras
import tensorflow as tf

from tf_lstm.streaming import stream_function

MARKER = "tf_lstm_export.json"


def _is_our_export(path: Path) -> bool:
    return path.is_dir() and (path / MARKER).is_file() and (path / "saved_model.pb").is_file()


def _recover_interrupted_replace(path: Path) -> None:
    """Undoes or finishes a replace that a killed process left half done.

    A replace moves the old export to ``.<name>.old.<random>/<name>``, renames
    the new one into place, then deletes the old. Killed between the first two
    steps, ``path`` is missing and the old export is restored; killed after
    the second, the old export is deleted. Only folders holding exactly one of
    our exports are touched.
    """
    for retired in sorted(path.parent.glob(f".{path.name}.old.*")):
        if not retired.is_dir() or [child.name for child in retired.iterdir()] != [path.name]:
            continue
        if not _is_our_export(retired / path.name):
            continue
        if not path.exists() and not path.is_symlink():
            (retired / path.name).rename(path)
            retired.rmdir()
        else:
            shutil.rmtree(retired)


def check_export_path(path: str | os.PathLike) -> Path:
    """`path` as an absolute Path if an export may be written there; else a ValueError naming it.

    Allowed: a path that does not exist (its parent must be a directory or
    creatable), an empty directory, or an earlier export of this package
    (it holds ``tf_lstm_export.json``). Refused: everything else, e.g. a
    folder holding other files, a file, ``.``, ``/``.
    """
    given = path
    path = Path(path).expanduser().absolute()
    if str(given).strip() in ("", ".") or path == Path(path.anchor) or path == Path.cwd() or path in Path.cwd().parents:
        raise ValueError(
            f"export path {str(given)!r} is the current directory, one of its parents or the root; "
            "pass a new folder for the SavedModel."
        )
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise ValueError(f"export path {str(given)!r} lies inside {str(parent)!r}, which is a file.")
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise ValueError(f"export path {str(given)!r} exists and is not a directory; refusing to replace it.")
    if path.is_dir() and not _is_our_export(path) and any(path.iterdir()):
        raise ValueError(
            f"export path {str(given)!r} is a folder that is not a tf_lstm export (it has no {MARKER}); "
            "refusing to replace it: pass a new or empty folder."
        )
    return path


def input_signature_of(model) -> list[tf.TensorSpec]:
    """One spec per input of `model`, any batch size: from its inputs, or the shape it was first called with.

    A Sequential or functional model knows its inputs. A subclassed model
    that has been called knows the shape of that call (`_build_shapes_dict`);
    its dtype is int32 when the model starts with an Embedding (token ids),
    else the model's compute dtype.
    """
    inputs = getattr(model, "inputs", None)
    if inputs:
        return [tf.TensorSpec([None, *tensor.shape[1:]], tensor.dtype, name=tensor.name) for tensor in inputs]
    shapes = getattr(model, "_build_shapes_dict", None) or {}
    if model.built and len(shapes) == 1:
        (shape,) = shapes.values()
        if isinstance(shape, (tuple, list)) and all(d is None or isinstance(d, int) for d in shape):
            first = next((layer for layer in model._flatten_layers(include_self=False)), None)
            dtype = tf.int32 if isinstance(first, keras.layers.Embedding) else tf.as_dtype(model.compute_dtype)
            return [tf.TensorSpec([None, *shape[1:]], dtype, name="inputs")]
    raise ValueError(
        f"model {getattr(model, 'name', model)!r} ({type(model).__name__}) has no known inputs: call it once on a "
        "batch, or pass input_signature=, e.g. [tf.TensorSpec([None, 28, 28], tf.float32)]."
    )


def write_saved_model(model, directory: Path, endpoints: dict[str, tuple]) -> None:
    """The SavedModel of `model` in `directory`, one signature per ``name: (fn, input_signature)``."""
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, (fn, signature) in endpoints.items():
        archive.add_endpoint(name=name, fn=fn, input_signature=signature)
    archive.write_out(str(directory), verbose=False)


KERAS_COPY = "model.keras"


def _keras_copy(model, directory: Path) -> str | None:
    """Saves `model` as ``model.keras`` beside the SavedModel, for `tf-lstm inspect`; None if Keras cannot."""
    if not isinstance(model, keras.Model):
        return None
    try:
        model.save(directory / KERAS_COPY)
    except Exception:  # a model Keras cannot serialize (unregistered custom code) still serves
        (directory / KERAS_COPY).unlink(missing_ok=True)
        return None
    return KERAS_COPY


def export_saved_model(
    model: keras.Model,
    path: str | os.PathLike,
    *,
    input_signature: Sequence[tf.TensorSpec] | None = None,
    streaming: bool = False,
) -> Path:
    """Writes `model` as a TensorFlow SavedModel with a ``serving_default`` signature.

    The SavedModel is written to a temporary directory beside `path` and
    renamed into place only once complete, so a failed export leaves neither
    a partial directory nor a damaged earlier export. It loads with
    ``tf.saved_model.load`` in a process that never imports `tf_lstm`.

    Args:
        model: a Keras model (or layer) whose call maps the inputs to the
            outputs to serve.
        path: the SavedModel directory to create, or an earlier export of
            this package (or an empty directory) to replace. Any other
            existing path raises ValueError before anything is written
            (see `check_export_path`).
        input_signature: one `tf.TensorSpec` per input; read from
            `model.inputs` when omitted.
        streaming: also write the two signatures of a streaming client
            (`tf_lstm.streaming`): ``stream`` (the inputs of a chunk of any
            length, named as in `input_signature`, and the state tensors →
            ``outputs`` and the new state tensors, same names) and
            ``zero_state`` (``batch_size`` → the state before the first step)::

                state = model.signatures["zero_state"](batch_size=tf.constant(1))
                for chunk in chunks:
                    result = model.signatures["stream"](x=chunk, **state)
                    state = {key: result[key] for key in state}

    The folder also holds the model as ``model.keras`` (when Keras can save
    it), which `tf-lstm inspect` reads to look inside the exported model.

    Returns:
        The path written.
    """
    path = check_export_path(path)
    signature = list(input_signature) if input_signature is not None else input_signature_of(model)
    if not isinstance(streaming, bool):
        raise TypeError(f"streaming must be a bool, got streaming={streaming!r}.")
    # Refused (no stateful layer, a backward one…) before anything is written.
    endpoints = {"serving_default": ((lambda *args: model(*args, training=False)), signature)}
    if streaming:
        stream, zero_state, _ = stream_function(model, signature)
        endpoints.update(stream=stream, zero_state=zero_state)
    path.parent.mkdir(parents=True, exist_ok=True)
    _recover_interrupted_replace(path)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.new.", dir=path.parent))
    os.chmod(staging, 0o755)  # mkdtemp makes it private; a model directory is not
    try:
        write_saved_model(model, staging, endpoints)
        record = {"written_by": "tf_lstm.export_saved_model", "keras_model": _keras_copy(model, staging)}
        (staging / MARKER).write_text(json.dumps(record) + "\n")
        if path.exists():
            check_export_path(path)  # still ours (or empty) after the minutes the export took
            retired = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            path.rename(retired / path.name)
            staging.rename(path)
            shutil.rmtree(retired)
        else:
            staging.rename(path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def export_onnx(model, path, *, streaming: bool = False):
    """Writes `model` (Sequential or functional, nested models included) as an ONNX file at `path`.

    Every `ScanLSTM` and `ScanRNN`, alone or in ``keras.layers.Bidirectional`` or
    `MultiLayerLSTM`, becomes ONNX's fused ``LSTM``/``RNN`` operator: gate blocks
    reordered to ``i, o, f, c``, the forget bias folded into the bias, peepholes,
    activations (hard sigmoid with Keras 3's slope), the coupled gate,
    right-padded masks as ``sequence_lens``, initial states. What the operator
    lacks (cell clipping, a projection, layer norm, zoneout, masks with gaps or
    left padding) runs, for that layer only, as an ONNX ``Scan`` of the layer's
    step in standard operators, equal to the layer (a mask picks between the two
    when the graph runs). ``Dense``, ``Embedding``, ``Masking``, `MaskedMean`,
    activations, ``Dropout`` (the identity in inference) and ``Concatenate``
    become standard operators. onnxruntime serves the file; the ``[onnx]`` extra
    installs ``onnx`` and ``onnxruntime``.

    Args:
        model: a built Keras model.
        path: the ``.onnx`` file to write; an existing file is replaced only if
            `export_onnx` wrote it.
        streaming: every recurrent layer's states (and `MaskedMean`'s running sum
            and count) are inputs and outputs of the graph, named ``<layer>/<state>``
            and ``<layer>/<state>_out``: feed each chunk's outputs to the next
            (zeros first), as the SavedModel's ``stream`` signature.

    Returns:
        The path written.

    Raises:
        ValueError: a layer nothing here can express (a ``Lambda``, a custom
            layer, a subclassed model), named in one line; a bad path.
        ImportError: ``onnx`` is not installed.

    >>> import keras, numpy as np, tempfile, pathlib, tf_lstm
    >>> model = keras.Sequential([keras.Input((5, 3)), tf_lstm.ScanLSTM(4), keras.layers.Dense(2)])
    >>> path = tf_lstm.export_onnx(model, pathlib.Path(tempfile.mkdtemp()) / "model.onnx")
    >>> import onnxruntime
    >>> runner = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    >>> x = np.ones((1, 5, 3), np.float32)
    >>> bool(np.allclose(runner.run(None, {runner.get_inputs()[0].name: x})[0], model(x), atol=1e-6))
    True
    """
    try:
        from tf_lstm import onnx_export
    except ImportError as error:
        raise ImportError(
            f"tf_lstm.export_onnx needs the onnx package ({error}): pip install -e '.[onnx]' -c requirements/lock.txt"
        ) from None
    return onnx_export.export_onnx(model, path, streaming=streaming)
