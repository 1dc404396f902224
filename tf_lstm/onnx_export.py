"""`export_onnx`: a trained Keras model with tf_lstm layers as one ONNX file, each recurrent layer ONNX's fused
``LSTM``/``RNN`` operator.

The graph is written with the ``onnx`` package from the layers' weights, walking
the model's layer graph (Sequential, functional, nested), rather than converted
from a TensorFlow graph: a converter sees the scan or while loop the layer runs
and writes an ONNX ``Loop``, which runs slower than the fused kernel where it runs
at all. Here each layer is what it is: one fused node where the operator can
express it, else a ``Scan`` of its step (`tf_lstm.onnx_recurrent`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import onnx
from onnx import TensorProto, helper

from tf_lstm.onnx_graph import OPSET, Graph, Value, activation_name

MARK = "tf_lstm_export"  # metadata on every file written here: only such a file is ever replaced


class Unsupported(ValueError):
    """A layer (or model) the exporter cannot express in ONNX; the message names it."""


def export_onnx(model: keras.Model, path: str | os.PathLike, *, streaming: bool = False) -> Path:
    """`tf_lstm.export_onnx`: `model` as an ONNX file at `path` (see there)."""
    path = _checked_path(path)
    model_proto = to_onnx(model, streaming=streaming)
    onnx.checker.check_model(model_proto, full_check=True)
    _write(model_proto, path)
    return path


def to_onnx(model: keras.Model, *, streaming: bool = False) -> onnx.ModelProto:
    """`model` as an in-memory ONNX model (what `export_onnx` writes)."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}.")
    graph = Graph()
    inputs = [_graph_input(graph, tensor) for tensor in _functional(model).inputs]
    converter = Converter(graph, streaming)
    outputs = converter.run(model, inputs)
    for k, (value, tensor) in enumerate(zip(outputs, keras.tree.flatten(_functional(model).outputs))):
        graph.output(value.name, getattr(tensor, "name", None) or f"output_{k}", rank=value.rank)
    for name, (source, rank) in converter.state_outputs.items():
        graph.output(source, name, rank=rank)
    proto = helper.make_model(graph.graph(model.name), opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="tf_lstm")  # fmt: skip
    proto.ir_version = 8  # what onnxruntime 1.x reads for opset 17
    helper.set_model_props(proto, {MARK: "1", "streaming": str(streaming).lower()})
    return proto


def _functional(model: keras.Model):
    """The layer graph of a Sequential or functional model (refused otherwise, with the reason)."""
    functional = getattr(model, "_functional", None) if isinstance(model, keras.Sequential) else model
    if functional is None or not hasattr(functional, "_nodes_by_depth"):
        kind = (
            "an unbuilt Sequential"
            if isinstance(model, keras.Sequential)
            else f"subclassed model {type(model).__name__}"
        )
        raise Unsupported(
            f"model '{model.name}' is {kind}: its call is Python the exporter cannot read. Export a Sequential "
            "built on keras.Input, or a functional model, holding the same layers."
        )
    return functional


def _graph_input(graph: Graph, tensor) -> Value:
    dtypes = {"float32": TensorProto.FLOAT, "int32": TensorProto.INT32, "int64": TensorProto.INT64}
    dtype = {**dtypes, "bool": TensorProto.BOOL}.get(str(tensor.dtype))
    if dtype is None:
        raise Unsupported(
            f"input '{tensor.name}' has dtype {tensor.dtype}: ONNX export takes float32, integer ids or boolean masks."
        )
    shape: list[int | str | None] = [None if size is None else int(size) for size in tensor.shape]
    shape[0] = "batch"
    if len(shape) > 1 and shape[1] is None:
        shape[1] = "time"
    return Value(graph.input(tensor.name, dtype, shape), len(shape))


class Converter:
    """Walks a model's layer graph and writes each layer (`LAYERS`) into `graph`."""

    def __init__(self, graph: Graph, streaming: bool):
        self.graph, self.streaming = graph, streaming
        self.state_outputs: dict[str, tuple[str, int]] = {}

    def run(self, model: keras.Model, inputs: list[Value]) -> list[Value]:
        functional = _functional(model)
        return list(keras.tree.flatten(functional._run_through_graph(inputs, call_fn=self.call)))

    def call(self, layer, *args, **kwargs):
        if isinstance(layer, keras.Model):
            values = [a for a in keras.tree.flatten(args) if isinstance(a, Value)]
            outputs = self.run(layer, values)
            return outputs[0] if len(outputs) == 1 else outputs
        convert = next((fn for kind, fn in LAYERS.items() if isinstance(layer, kind)), None)
        if convert is None:
            raise Unsupported(_unsupported(layer))
        if str(getattr(layer, "compute_dtype", "float32")) != "float32":
            raise Unsupported(f"layer '{layer.name}' computes in {layer.compute_dtype}: ONNX export writes float32.")
        try:
            return convert(self, layer, *args, **kwargs)
        except NotImplementedError as error:
            raise Unsupported(
                f"layer '{layer.name}' ({type(layer).__name__}): {error} has no ONNX form here."
            ) from None

    def state(self, layer, name: str, size: int) -> str:
        """A streamed state: a graph input ``<layer>/<name>`` ``[batch, size]``."""
        return self.graph.input(f"{layer.name}/{name}", TensorProto.FLOAT, ["batch", size])

    def state_out(self, layer, name: str, source: str, rank: int = 2) -> None:
        self.state_outputs[f"{layer.name}/{name}_out"] = (source, rank)


def _unsupported(layer) -> str:
    if isinstance(layer, keras.layers.Lambda):
        return (
            f"Lambda layer '{layer.name}' holds Python the exporter cannot read: make it a named layer "
            "(or drop it from the model you export)."
        )
    return f"layer '{layer.name}' ({type(layer).__name__}) has no ONNX form in tf_lstm.export_onnx."


# ---------------------------------------------------------------------------------------------------------------
# The layers around the recurrent ones.


def _activation(converter: Converter, x: str, function) -> str:
    name = activation_name(function)
    graph = converter.graph
    if name in (None, "linear"):
        return x
    if name == "softmax":
        return graph.op("Softmax", [x], axis=-1)
    return graph.activation(x, name)  # the recurrent operators' activations; NotImplementedError names any other


def _dense(converter: Converter, layer, x: Value, **_) -> Value:
    graph = converter.graph
    out = graph.op("MatMul", [x.name, graph.const(layer.kernel.numpy(), f"{layer.name}_kernel")])
    if layer.bias is not None:
        out = graph.op("Add", [out, graph.const(layer.bias.numpy(), f"{layer.name}_bias")])
    return Value(_activation(converter, out, layer.activation), x.rank, x.mask)


def _embedding(converter: Converter, layer, ids: Value, **_) -> Value:
    graph = converter.graph
    ids64 = graph.op("Cast", [ids.name], to=TensorProto.INT64)
    out = graph.op("Gather", [graph.const(layer.embeddings.numpy(), f"{layer.name}_embeddings"), ids64], axis=0)
    mask = graph.op("Not", [graph.op("Equal", [ids64, graph.const(np.int64(0))])]) if layer.mask_zero else None
    return Value(out, ids.rank + 1, mask)


def _masking(converter: Converter, layer, x: Value, **_) -> Value:
    graph = converter.graph
    differs = graph.op("Not", [graph.op("Equal", [x.name, graph.const(np.float32(layer.mask_value))])])
    keep = graph.op("ReduceMax", [graph.op("Cast", [differs], to=TensorProto.FLOAT)], axes=[-1], keepdims=0)
    out = graph.op("Mul", [x.name, graph.op("Unsqueeze", [keep, graph.const(np.array([-1]))])])
    return Value(out, x.rank, graph.op("Cast", [keep], to=TensorProto.BOOL))


def _identity(converter: Converter, layer, x: Value, **_) -> Value:
    return x


def _activation_layer(converter: Converter, layer, x: Value, **_) -> Value:
    if isinstance(layer, keras.layers.Softmax):
        return Value(converter.graph.op("Softmax", [x.name], axis=-1), x.rank, x.mask)
    return Value(_activation(converter, x.name, layer.activation), x.rank, x.mask)


def _concatenate(converter: Converter, layer, values, **_) -> Value:
    values = list(values)
    axis = layer.axis if layer.axis >= 0 else values[0].rank + layer.axis
    masks = {v.mask for v in values}
    return Value(converter.graph.op("Concat", [v.name for v in values], axis=axis), values[0].rank,
                 values[0].mask if len(masks) == 1 else None)  # fmt: skip


def _masked_mean(converter: Converter, layer, x: Value, mask=None, **_) -> Value:
    """The mean over unmasked steps; streamed, it adds the running (sum, count) of the chunks before."""
    graph = converter.graph
    mask_name = mask.name if isinstance(mask, Value) else x.mask
    if mask_name is None:
        steps = graph.op("Shape", [x.name], end=2)  # every step counts: ones [batch, time, 1]
        shape = graph.op("Concat", [steps, graph.const(np.array([1]))], axis=0)
        weights = graph.op("ConstantOfShape", [shape], value=onnx.numpy_helper.from_array(np.ones(1, np.float32)))
    else:
        weights = graph.op(
            "Unsqueeze", [graph.op("Cast", [mask_name], to=TensorProto.FLOAT), graph.const(np.array([-1]))]
        )
    total = graph.op("ReduceSum", [graph.op("Mul", [x.name, weights]), graph.const(np.array([1]))], keepdims=0)
    count = graph.op("ReduceSum", [weights, graph.const(np.array([1]))], keepdims=0)
    if converter.streaming:
        features = int(layer.features)
        total = graph.op("Add", [total, converter.state(layer, "sum", features)])
        count = graph.op("Add", [count, converter.state(layer, "count", 1)])
        converter.state_out(layer, "sum", total)
        converter.state_out(layer, "count", count)
    # divide_no_nan: a sequence with no step counted (total 0) gives 0.
    return Value(graph.op("Div", [total, graph.op("Max", [count, graph.const(np.float32(1e-30))])]), 2)


def _operand(converter: Converter, value) -> str:
    """A Value's name, or a Python number as a constant."""
    if isinstance(value, Value):
        return value.name
    return converter.graph.const(np.asarray(value, np.float32 if isinstance(value, float) else np.int64))


def _compare(op_type: str):
    """Keras' ``ops.equal``/``ops.not_equal`` (how Embedding and Masking make their masks in a functional graph)."""

    def convert(converter: Converter, operation, a, b, **_) -> Value:
        graph = converter.graph
        left, right = _operand(converter, a), _operand(converter, b)
        if isinstance(a, Value) and not isinstance(b, Value):  # the constant in the tensor's type
            right = graph.op("CastLike", [right, left])
        equal = graph.op("Equal", [left, right])
        return Value(equal if op_type == "Equal" else graph.op("Not", [equal]), a.rank if isinstance(a, Value) else 0)

    return convert


def _any(converter: Converter, operation, x: Value, **_) -> Value:
    graph = converter.graph
    axes = operation.axis if isinstance(operation.axis, (list, tuple)) else [operation.axis]
    found = graph.op(
        "ReduceMax", [graph.cast(x.name, TensorProto.INT32)], axes=list(axes), keepdims=int(operation.keepdims)
    )
    return Value(graph.cast(found, TensorProto.BOOL), x.rank if operation.keepdims else x.rank - len(axes))


def _last_step(converter: Converter, layer, x: Value, **_) -> Value:
    return Value(converter.graph.op("Gather", [x.name, converter.graph.const(np.int64(-1))], axis=1), x.rank - 1)


LAYERS: dict[type, Callable] = {
    keras.layers.Dense: _dense,
    keras.layers.Embedding: _embedding,
    keras.layers.Masking: _masking,
    keras.layers.Dropout: _identity,
    keras.layers.SpatialDropout1D: _identity,
    keras.layers.GaussianNoise: _identity,
    keras.layers.GaussianDropout: _identity,
    keras.layers.Activation: _activation_layer,
    keras.layers.Softmax: _activation_layer,
    keras.layers.Concatenate: _concatenate,
}


def _register_tf_lstm_layers() -> None:
    from keras.src.ops import numpy as keras_numpy  # the classes of ops.equal & co. (no public name in Keras 3)

    from tf_lstm import onnx_layers
    from tf_lstm.layers import Recurrent
    from tf_lstm.multilayer import MultiLayerLSTM
    from tf_lstm.pooling import LastStep, MaskedMean

    LAYERS[keras_numpy.Equal] = _compare("Equal")
    LAYERS[keras_numpy.NotEqual] = _compare("NotEqual")
    LAYERS[keras_numpy.Any] = _any
    LAYERS[MaskedMean] = _masked_mean
    LAYERS[LastStep] = _last_step
    LAYERS[Recurrent] = onnx_layers.recurrent_layer
    LAYERS[keras.layers.Bidirectional] = onnx_layers.bidirectional
    LAYERS[MultiLayerLSTM] = onnx_layers.multilayer


_register_tf_lstm_layers()


# ---------------------------------------------------------------------------------------------------------------
# Files.


def _checked_path(path) -> Path:
    path = Path(path)
    if path.suffix != ".onnx":
        raise ValueError(f"path must end in .onnx, got path={str(path)!r}.")
    if path.is_dir():
        raise ValueError(f"path={str(path)!r} is a folder; give the .onnx file to write.")
    if path.exists() and not is_ours(path):
        raise ValueError(f"path={str(path)!r} exists and was not written by tf_lstm.export_onnx: it is left as it is.")
    if not path.parent.is_dir():
        raise ValueError(f"the folder of path={str(path)!r} does not exist.")
    return path


def is_ours(path: Path) -> bool:
    """Whether the file at `path` is an ONNX model this module wrote."""
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:
        return False
    return any(prop.key == MARK for prop in model.metadata_props)


def _write(model: onnx.ModelProto, path: Path) -> None:
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(model.SerializeToString())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
