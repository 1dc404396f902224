"""SavedModel export that never leaves a half-written directory behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

import keras
import tensorflow as tf


def _input_signature(model) -> list[tf.TensorSpec]:
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ValueError(
            "input_signature is required for a model without known inputs "
            "(a subclassed or unbuilt Sequential model); pass e.g. "
            "[tf.TensorSpec([None, 28, 28], tf.float32)]."
        )
    return [tf.TensorSpec(tensor.shape, tensor.dtype, name=tensor.name) for tensor in inputs]


def export_saved_model(
    model: keras.Model,
    path: str | os.PathLike,
    *,
    input_signature: Sequence[tf.TensorSpec] | None = None,
) -> Path:
    """Writes `model` as a TensorFlow SavedModel with a ``serving_default`` signature.

    The SavedModel is written to a temporary directory beside `path` and
    renamed into place only once complete, so a failed export leaves neither
    a partial directory nor a damaged earlier export. It loads with
    ``tf.saved_model.load`` in a process that never imports `tf_lstm`.

    Args:
        model: a Keras model (or layer) whose call maps the inputs to the
            outputs to serve.
        path: the SavedModel directory to create or replace.
        input_signature: one `tf.TensorSpec` per input; read from
            `model.inputs` when omitted.

    Returns:
        The path written.
    """
    path = Path(path)
    signature = list(input_signature) if input_signature is not None else _input_signature(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    os.chmod(staging, 0o755)  # mkdtemp makes it private; a model directory is not
    try:
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint(
            name="serving_default",
            fn=lambda *args: model(*args, training=False),
            input_signature=signature,
        )
        archive.write_out(str(staging), verbose=False)
        if path.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            path.rename(retired / path.name)
            staging.rename(path)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staging.rename(path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path
