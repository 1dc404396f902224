"""An ONNX graph under construction, and the recurrent layers' two ONNX forms.

`Graph` names values, holds the weights as initializers and adds nodes. For
a tf_lstm recurrent layer, `lstm_onnx`/`rnn_onnx` write ONNX's fused ``LSTM``/``RNN``
operator where it can express the layer (`fused_lstm_blocker` says why not
otherwise), and an ONNX ``Scan`` whose body is the step of `tf_lstm.steps`
written in standard operators where it cannot: that body is equal to the
layer for every knob. A mask runs the fused operator through ``sequence_lens``
when it is right-padded (checked when the graph runs, with an ``If``) and the
``Scan`` when it has gaps or left padding.

The fused operator's conventions, against tf_lstm's: gate blocks ``i, o, f, c``;
weights ``W [directions, 4·hidden, features]`` (transposed); two biases that add
(the forget bias goes into the first); peepholes ``P = [p_i, p_o, p_f]``, the
output gate peeking at the new ``c``; activations ``[gates, candidate, cell]``;
``input_forget`` makes ``f = 1 − i`` where tf_lstm's coupled gate makes
``i = 1 − f``, so the input block carries the negated forget weights
(``σ(−z) = 1 − σ(z)``, true of hard sigmoid too).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
# Keras activations ONNX's recurrent operators take by name, with their alpha and beta.
RECURRENT_ACTIVATIONS: dict[str | None, tuple[str, float | None, float | None]] = {
    "sigmoid": ("Sigmoid", None, None),
    "tanh": ("Tanh", None, None),
    "relu": ("Relu", None, None),
    "hard_sigmoid": ("HardSigmoid", 1.0 / 6.0, 0.5),  # Keras 3: relu6(x + 3) / 6 (ONNX's default alpha is 0.2)
    "softsign": ("Softsign", None, None),
    "softplus": ("Softplus", None, None),
    None: ("Affine", 1.0, 0.0),  # no activation (article C's cell)
    "linear": ("Affine", 1.0, 0.0),
}


def activation_name(function) -> str | None:
    """The Keras name of an activation function (None for none)."""
    if function is None:
        return None
    name = keras.activations.serialize(function)
    return name if isinstance(name, str) else getattr(function, "__name__", repr(function))


@dataclasses.dataclass
class Value:
    """A tensor of the graph being built: its name, its rank, and the boolean ``[batch, time]`` mask it carries."""

    name: str
    rank: int
    mask: str | None = None


class Graph:
    """Nodes, initializers, inputs and outputs of one ONNX graph; every name is fresh."""

    def __init__(self, prefix: str = ""):
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self.prefix = prefix
        self.count = 0

    def fresh(self, hint: str) -> str:
        self.count += 1
        return f"{self.prefix}{hint}_{self.count}"

    def const(self, array, hint: str = "const") -> str:
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, outputs: int = 1, **attributes):
        """Adds one node; returns its output's name (or the list of them when `outputs` > 1)."""
        names = [self.fresh(hint or op_type.lower()) for _ in range(outputs)]
        attributes = {k: v for k, v in attributes.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, inputs, names, name=self.fresh(op_type), **attributes))
        return names[0] if outputs == 1 else names

    def input(self, name: str, dtype: int, shape: list[Any]) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, dtype, shape))
        return name

    def output(self, source: str, name: str, dtype: int = TensorProto.FLOAT, rank: int | None = None) -> None:
        self.nodes.append(helper.make_node("Identity", [source], [name], name=self.fresh("output")))
        self.outputs.append(helper.make_tensor_value_info(name, dtype, None if rank is None else [None] * rank))

    def graph(self, name: str) -> onnx.GraphProto:
        return helper.make_graph(self.nodes, name, self.inputs, self.outputs, self.initializers)

    # Small compositions used throughout.
    def activation(self, x: str, name: str | None) -> str:
        op, alpha, beta = RECURRENT_ACTIVATIONS.get(name, (None, None, None))
        if op is None:
            raise NotImplementedError(f"activation {name!r}")
        if op == "Affine":
            return x
        return self.op(op, [x], alpha=alpha, beta=beta)

    def unsqueeze(self, x: str, axis: int) -> str:
        return self.op("Unsqueeze", [x, self.const(np.array([axis]))])

    def cast(self, x: str, to: int) -> str:
        return self.op("Cast", [x], to=to)

    def dim(self, x: str, axis: int) -> str:
        """The size of `x`'s `axis` as a scalar int64."""
        return self.op("Gather", [self.op("Shape", [x]), self.const(np.int64(axis))], axis=0)

    def stack(self, values: list[str]) -> str:
        return self.op("Concat", [self.unsqueeze(v, 0) for v in values], axis=0)

    def positions(self, x: str) -> str:
        """``[0, 1, …, time − 1]`` (int32) for time-major `x`."""
        steps = self.cast(self.dim(x, 0), TensorProto.INT32)
        return self.op("Range", [self.const(np.int32(0)), steps, self.const(np.int32(1))])

    def within(self, x: str, lengths: str) -> str:
        """``[time, batch]`` booleans: step t of sequence b is within its length, ``t < lengths[b]``."""
        return self.op("Less", [self.unsqueeze(self.positions(x), 1), lengths])

    def reverse_time(self, x: str) -> str:
        """`x` (time-major) with its time axis reversed."""
        ends = [self.const(np.array([v])) for v in (-1, np.iinfo(np.int64).min, 0, -1)]  # start, end, axis, step
        return self.op("Slice", [x, *ends])

    def clip(self, x: str, bound: float | None) -> str:
        if bound is None:
            return x
        return self.op("Clip", [x, self.const(np.float32(-bound)), self.const(np.float32(bound))])

    def where(self, keep: str, new: str, old: str) -> str:
        """`new` where ``keep`` (``[batch]``) holds, else `old` (tf_lstm's `keep_where`)."""
        return self.op("Where", [self.op("Unsqueeze", [keep, self.const(np.array([1]))]), new, old])


def fused_lstm_blocker(layer) -> str | None:
    """Why ONNX's fused LSTM cannot express `layer` (a `ScanLSTM`), or None when it can."""
    reasons = {
        "cell_clip": layer.cell_clip is not None,  # ONNX's clip bounds the pre-activations, not c
        "proj_size": layer.proj_size is not None,
        "layer_norm": layer.layer_norm,
        "zoneout": bool(layer.zoneout_h or layer.zoneout_c),
    }
    for name in ("recurrent_activation", "activation", "cell_activation"):
        reasons[f"{name}={activation_name(getattr(layer, name))}"] = (
            activation_name(getattr(layer, name)) not in RECURRENT_ACTIVATIONS
        )
    return next((reason for reason, blocks in reasons.items() if blocks), None)


def lstm_parameters(graph: Graph, layer, reverse_of: list | None = None) -> dict[str, Any]:
    """The fused operator's W, R, B (and P) for `layer`, or for the directions in `reverse_of` stacked."""
    directions = reverse_of or [layer]
    w, r, b, p = [], [], [], []
    for direction in directions:
        kernel, recurrent = direction.kernel.numpy(), direction.recurrent_kernel.numpy()
        units, positions = direction.units, direction.gate_positions
        bias = direction.bias.numpy() if direction.bias is not None else np.zeros(kernel.shape[1], np.float32)

        def block(array, gate, sign=1.0, units=units, positions=positions):
            k = positions[gate]
            return sign * array[..., k * units : (k + 1) * units]

        forget = block(bias, "f") + np.float32(direction.forget_bias)
        if direction.coupled:  # ONNX's i = σ(−z_f) = 1 − f, its f = 1 − i
            gates_w = [
                block(kernel, "f", -1.0),
                block(kernel, "o"),
                np.zeros_like(block(kernel, "o")),
                block(kernel, "g"),
            ]
            gates_r = [
                block(recurrent, "f", -1.0),
                block(recurrent, "o"),
                np.zeros_like(block(recurrent, "o")),
                block(recurrent, "g"),
            ]
            gates_b = [-forget, block(bias, "o"), np.zeros_like(forget), block(bias, "g")]
        else:
            gates_w = [block(kernel, g) for g in "iofg"]
            gates_r = [block(recurrent, g) for g in "iofg"]
            gates_b = [block(bias, "i"), block(bias, "o"), forget, block(bias, "g")]
        w.append(np.concatenate(gates_w, axis=1).T)
        r.append(np.concatenate(gates_r, axis=1).T)
        b.append(np.concatenate([*gates_b, np.zeros(4 * units, np.float32)]))
        if direction.use_peepholes:
            weights = direction.cell_weights
            p.append(np.concatenate([weights[name].numpy() for name in ("w_i_diag", "w_o_diag", "w_f_diag")]))
    parameters = dict(
        W=graph.const(np.stack(w).astype(np.float32), "W"),
        R=graph.const(np.stack(r).astype(np.float32), "R"),
        B=graph.const(np.stack(b).astype(np.float32), "B"),
    )
    if p:
        parameters["P"] = graph.const(np.stack(p).astype(np.float32), "P")
    return parameters


def lstm_attributes(layer, directions: int) -> dict[str, Any]:
    names = [activation_name(getattr(layer, a)) for a in ("recurrent_activation", "activation", "cell_activation")]
    ops = [RECURRENT_ACTIVATIONS[name] for name in names] * directions
    alphas = [a for _, a, _ in ops if a is not None]
    betas = [b for _, _, b in ops if b is not None]
    return dict(
        hidden_size=layer.units,
        activations=[op for op, _, _ in ops],
        activation_alpha=alphas or None,
        activation_beta=betas or None,
        input_forget=1 if layer.coupled else None,
        direction="bidirectional" if directions == 2 else "forward",
    )
