"""TFLite export of builtin ops only: float, dynamic-range, float16 or int8, whole-sequence or streaming.

How the LSTM reaches TFLite. Keras 3's `keras.layers.LSTM` converts to a
while loop whose TensorList ops need Flex (SELECT_TF_OPS) unless the batch
size is fixed. TFLite's fused ``UNIDIRECTIONAL_SEQUENCE_LSTM`` comes only
from a function marked ``api_implements="lstm_…"`` with Keras 2's
``standard_lstm`` arguments (`prepare_composite_functions_tf.cc`,
``CheckFusableKerasLstm`` and ``ConvertKerasLSTMLayer`` in `lstm_utils.cc`):
it needs a fixed batch size and no mask, reads the gates in ``ifco`` order,
clips the cell state to ±10, and replaces the final-state outputs with zeros,
so it can neither stream nor reproduce every cell of this package.

This module takes the other road: every `tf_lstm.Recurrent` layer is traced
with ``method="unroll"``, one graph node per step, which converts to plain
builtin ops (``FULLY_CONNECTED``, ``LOGISTIC``, ``TANH``, ``MUL``, ``ADD``…)
for any batch size, any gate order and activation, masks included, and keeps
the state as ordinary tensors, so a streaming step model converts as well.
The cost is a file that grows with the number of steps (ops, not weights), and
a sequence length fixed at export.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tf_lstm import checks
from tf_lstm.export import input_signature_of
from tf_lstm.layers import Recurrent
from tf_lstm.streaming import stream_function, sublayers

QUANTIZATIONS = (None, "dynamic", "float16", "int8")
METADATA = "tf_lstm_export"  # the name of the metadata entry that marks a file as ours
REPRESENTATIVE_EXAMPLES = 200  # int8 calibration: enough for stable activation ranges, quick to run


def tflite_ops(model: bytes | str | os.PathLike) -> list[str]:
    """The names of the operators a ``.tflite`` flatbuffer (bytes or path) uses, sorted.

    Builtin operators by their TFLite name (``FULLY_CONNECTED``…); custom
    ones (Flex included) as ``CUSTOM:<code>``.
    """
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    content = model if isinstance(model, bytes) else Path(model).read_bytes()
    names = {code: name for name, code in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
    parsed = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    ops = set()
    for code in parsed.operatorCodes:
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        if builtin == schema.BuiltinOperator.CUSTOM:
            custom = code.customCode.decode() if isinstance(code.customCode, bytes) else code.customCode
            ops.add(f"CUSTOM:{custom}")
        else:
            ops.add(names[builtin])
    return sorted(ops)


def metadata_of(path: str | os.PathLike) -> dict | None:
    """What `export_tflite` recorded in the file (quantization, signature…), or None if it is not ours."""
    from tensorflow.lite.tools import flatbuffer_utils

    try:
        parsed = flatbuffer_utils.read_model(str(path))
    except Exception:  # not a flatbuffer at all
        return None
    for entry in parsed.metadata or []:
        name = entry.name.decode() if isinstance(entry.name, bytes) else entry.name
        if name == METADATA:
            return json.loads(bytes(parsed.buffers[entry.buffer].data).decode())
    return None


def check_tflite_path(path: str | os.PathLike) -> Path:
    """`path` as an absolute Path if a ``.tflite`` file may be written there; else a ValueError naming it.

    Allowed: a new ``.tflite`` path (its parent a directory or creatable), or
    an earlier `export_tflite` file (it carries our metadata entry).
    """
    given = path
    path = Path(path).expanduser().absolute()
    if path.suffix != ".tflite":
        raise ValueError(f"path {str(given)!r} must end in .tflite.")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise ValueError(f"path {str(given)!r} lies inside {str(parent)!r}, which is a file.")
    if path.is_symlink() or path.is_dir():
        raise ValueError(f"path {str(given)!r} is a directory or a link; refusing to replace it.")
    if path.exists() and metadata_of(path) is None:
        raise ValueError(
            f"path {str(given)!r} exists and is not a tf_lstm TFLite export (it has no {METADATA!r} metadata); "
            "refusing to replace it."
        )
    return path


@contextlib.contextmanager
def unrolled(model: keras.layers.Layer) -> Iterator[None]:
    """Every `Recurrent` layer of `model` traced with ``method="unroll"`` (builtin ops only) meanwhile."""
    layers = [layer for layer in sublayers(model) if isinstance(layer, Recurrent)]
    methods = [layer.method for layer in layers]
    for layer in layers:
        layer.method = "unroll"
    try:
        yield
    finally:
        for layer, method in zip(layers, methods):
            layer.method = method


def _check_known_shapes(signature: Sequence[tf.TensorSpec], what: str) -> None:
    for spec in signature:
        if any(dim is None for dim in spec.shape.as_list()[1:]):
            raise ValueError(
                f"TFLite export needs every axis but the batch known, for the unrolled steps: {what} "
                f"{spec.name or 'input'!r} has shape {tuple(spec.shape.as_list())}; pass input_signature="
                f"[tf.TensorSpec([None, steps, features], ...)]."
            )


def _representative(data, signature: Sequence[tf.TensorSpec]) -> np.ndarray:
    if len(signature) != 1:
        raise ValueError(f"representative_data serves models of one input; this one has {len(signature)}.")
    array = np.asarray(data)
    expected = tuple(signature[0].shape.as_list()[1:])
    if array.ndim != len(expected) + 1 or array.shape[1:] != expected:
        raise ValueError(
            f"representative_data must have shape [examples, {', '.join(map(str, expected))}] like the model's "
            f"input, got representative_data with shape {array.shape}."
        )
    if len(array) == 0:
        raise ValueError("representative_data is empty: int8 calibration needs examples of the inputs.")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError("representative_data holds NaN or infinite values.")
    return array.astype(signature[0].dtype.as_numpy_dtype)


def _convert(model: keras.Model, name: str, fn, fn_signature, quantize: str | None, calibration) -> bytes:
    """The TFLite flatbuffer of `fn` (builtin ops only) under `name`, quantized as asked; `calibration`: int8's."""
    with tempfile.TemporaryDirectory(prefix="tf_lstm_tflite.") as staging, unrolled(model):
        # A SavedModel of the one function and the weights only: Keras' export would also trace the model's
        # own default signature, of unknown length when the model's inputs are, which cannot unroll.
        weights = tf.Module()
        weights.variables_ = [getattr(variable, "value", variable) for variable in model.variables]
        function = tf.function(fn, input_signature=fn_signature)
        tf.saved_model.save(weights, staging, signatures={name: function.get_concrete_function()})
        converter = tf.lite.TFLiteConverter.from_saved_model(staging, signature_keys=[name])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if calibration is not None:  # quantize == "int8"
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            names = [spec.name for spec in fn_signature]
            converter.representative_dataset = lambda: (dict(zip(names, values)) for values in calibration)
        try:
            content = converter.convert()
        except Exception as error:  # the converter's errors carry MLIR dumps: keep the line that says why
            reason = next((line for line in str(error).splitlines() if "error:" in line), str(error)[:500])
            message = f"model {model.name!r} does not convert to TFLite builtin ops: {reason.strip()}"
            raise ValueError(message) from error
    return content


def export_tflite(
    model: keras.Model,
    path: str | os.PathLike,
    *,
    quantize: str | None = None,
    representative_data=None,
    input_signature: Sequence[tf.TensorSpec] | None = None,
    streaming: bool = False,
) -> Path:
    """Writes `model` as a ``.tflite`` file of TFLite builtin operators only.

    Every recurrent layer is unrolled (see the module's docstring), so the
    sequence length must be known; the batch size may vary
    (`Interpreter.resize_tensor_input`). The file carries a metadata entry
    (`metadata_of`) and is written whole or not at all.

    Args:
        model: a Keras model whose recurrent layers are `tf_lstm` layers.
        path: the ``.tflite`` file to create, or an earlier one of this
            function's to replace; anything else raises ValueError first.
        quantize: None (float32), ``"dynamic"`` (int8 weights, float
            activations), ``"float16"`` (float16 weights), or ``"int8"``
            (int8 weights and activations, calibrated on
            `representative_data`; float inputs and outputs).
        representative_data: for ``"int8"`` only: inputs like the model's,
            ``[examples, ...]``; the first 200 calibrate.
        input_signature: one `tf.TensorSpec` per input; `model.inputs` if
            omitted.
        streaming: write the streaming step instead of the whole sequence
            (`tf_lstm.streaming`): inputs one step, ``[batch, 1, ...]``, and
            the state tensors (named as in `tf_lstm.streaming.state_specs`),
            zeros at the start; outputs ``outputs`` and the new state. Run
            it through the interpreter's ``get_signature_runner("stream")``.

    Returns:
        The path written.
    """
    path = check_tflite_path(path)
    checks.one_of("quantize", quantize, QUANTIZATIONS)
    if not isinstance(streaming, bool):
        raise TypeError(f"streaming must be a bool, got streaming={streaming!r}.")
    signature = list(input_signature) if input_signature is not None else input_signature_of(model)
    _check_known_shapes(signature, "input")
    if (representative_data is None) != (quantize != "int8"):
        raise ValueError(
            "representative_data is needed by quantize='int8' and used by nothing else, got "
            f"quantize={quantize!r} with representative_data {'given' if representative_data is not None else 'None'}."
        )
    examples = None if representative_data is None else _representative(representative_data, signature)
    calibration = None if examples is None else [[example[None]] for example in examples[:REPRESENTATIVE_EXAMPLES]]
    if streaming:
        one_step = [
            tf.TensorSpec([None, 1, *spec.shape[2:]], spec.dtype, name=spec.name or f"input_{k}")
            for k, spec in enumerate(signature)
        ]
        (stream, stream_signature), (zero_state, _), _ = stream_function(model, one_step)
        name, fn, fn_signature = "stream", stream, [*one_step, *stream_signature[len(one_step) :]]
        if examples is not None:
            calibration = _stream_calibration(stream, zero_state, examples[:REPRESENTATIVE_EXAMPLES])
    else:
        name, fn, fn_signature = "serving_default", (lambda *args: model(*args, training=False)), signature

    content = _convert(model, name, fn, fn_signature, quantize, calibration)
    foreign = [op for op in tflite_ops(content) if op.startswith("CUSTOM:")]
    if foreign:
        raise ValueError(f"model {model.name!r} converted with non-builtin ops {foreign}; nothing written.")
    record = dict(
        written_by="tf_lstm.export_tflite",
        quantize=quantize,
        streaming=streaming,
        inputs=[[spec.name, spec.shape.as_list()] for spec in signature],
    )
    _write_atomically(path, _with_metadata(content, record))
    return path


def _stream_calibration(stream, zero_state, examples: np.ndarray, samples: int = REPRESENTATIVE_EXAMPLES) -> list:
    """Inputs of the one-step model as a stream meets them: each step of `examples`, with the state it finds.

    int8 calibrates the range of every tensor on these, the state inputs
    included, so they must be the states the sequences reach, not zeros.
    """
    state = zero_state(len(examples))
    values = []
    for t in range(examples.shape[1]):
        step = examples[:, t : t + 1]
        values += [[step[k : k + 1], *(np.asarray(s)[k : k + 1] for s in state.values())] for k in range(len(step))]
        result = stream(tf.constant(step), *state.values())
        state = {key: result[key] for key in state}
    every = max(1, len(values) // samples)
    return values[::every][:samples]


def _with_metadata(content: bytes, record: dict) -> bytes:
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    parsed = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(json.dumps(record).encode(), np.uint8)
    parsed.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = METADATA
    entry.buffer = len(parsed.buffers) - 1
    parsed.metadata = [*(parsed.metadata or []), entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(parsed))


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=f".{path.name}.new.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.chmod(staging, 0o644)  # mkstemp makes it private; a model file is not
        if path.exists() and metadata_of(path) is None:  # still ours after the conversion's seconds
            raise ValueError(f"path {str(path)!r} was replaced meanwhile by a file that is not ours; not written.")
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


def interpreter(path: str | os.PathLike, num_threads: int | None = None, delegate: bool = True):
    """TFLite's interpreter (`ai-edge-litert`; ``tf.lite.Interpreter`` is deprecated) for the file at `path`.

    ``delegate=False`` runs TFLite's builtin kernels without the default
    XNNPACK delegate.
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.AUTO if delegate else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    return Interpreter(model_path=str(path), num_threads=num_threads, experimental_op_resolver_type=resolver)


class TFLiteModel:
    """A ``.tflite`` file in TFLite's interpreter, called like a model: ``TFLiteModel(path)(x)``.

    Whole-sequence files take a batch of any size (the input is resized to
    it); `predict` runs an array in batches.
    """

    def __init__(self, path: str | os.PathLike, num_threads: int | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise ValueError(f"TFLite file {str(path)!r} does not exist.")
        self.num_threads = num_threads
        self.interpreter = interpreter(self.path, num_threads)
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self._batch: int | None = None

    def __call__(self, x) -> np.ndarray:
        x = np.asarray(x, self.input["dtype"])
        try:
            return self._run(x)
        except RuntimeError as error:
            if "XNNPACK" not in str(error):
                raise
            # XNNPACK, the default CPU delegate, cannot prepare every int8 graph (a masked one, say);
            # TFLite's own builtin kernels run them all.
            self.interpreter, self._batch = interpreter(self.path, self.num_threads, delegate=False), None
            return self._run(x)

    def _run(self, x: np.ndarray) -> np.ndarray:
        if self._batch != len(x):
            self.interpreter.resize_tensor_input(self.input["index"], [len(x), *x.shape[1:]])
            self.interpreter.allocate_tensors()
            self._batch = len(x)
        self.interpreter.set_tensor(self.input["index"], x)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output["index"]).copy()

    def predict(self, x, batch_size: int = 1024) -> np.ndarray:
        batch_size = checks.positive_int("batch_size", batch_size)
        x = np.asarray(x)
        return np.concatenate([self(x[start : start + batch_size]) for start in range(0, len(x), batch_size)])
