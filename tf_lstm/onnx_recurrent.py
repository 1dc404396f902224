"""tf_lstm's recurrent layers in ONNX: the fused ``LSTM``/``RNN`` operator, or a ``Scan`` of the step.

`recurrent` writes one layer (or both directions of a ``Bidirectional``) on
time-major inputs ``[time, batch, features]`` and returns every step's output
``[time, batch, units]`` with the final states. See `tf_lstm.onnx_graph` for the
conventions of the fused operators.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from tf_lstm.onnx_graph import (
    RECURRENT_ACTIVATIONS,
    Graph,
    activation_name,
    fused_lstm_blocker,
    lstm_attributes,
    lstm_parameters,
)


def is_lstm(layer) -> bool:
    return hasattr(layer, "gate_positions")


def fused_blocker(layer) -> str | None:
    """Why `layer` cannot be ONNX's fused operator (then a Scan of its step), or None."""
    if is_lstm(layer):
        return fused_lstm_blocker(layer)
    name = activation_name(layer.activation)
    return None if name in RECURRENT_ACTIVATIONS else f"activation={name}"


def recurrent(graph: Graph, layers: list, x: str, mask: str | None, initial: list[str] | None):
    """``(outputs [time, batch, directions·units] in input order, final states per direction)`` of `layers`
    (one layer, or a Bidirectional's forward and backward) reading time-major `x`; `mask` is ``[time, batch]``
    booleans; `initial` the states (h, c for each direction), zeros if None.

    The fused operator where it expresses the layer; with a mask, it runs when the mask is right-padded and a
    Scan of the step when not (an ``If``); a Scan of the step alone where the fused operator cannot.
    """
    if any(fused_blocker(layer) for layer in layers):
        return _scanned(graph, layers, x, mask, initial)
    if mask is None:
        return _fused(graph, layers, x, None, initial)
    lengths = graph.op("ReduceSum", [graph.cast(mask, TensorProto.INT32), graph.const(np.array([0]))], keepdims=0)
    right_padded = _is_right_padded(graph, mask, lengths)
    then_graph, else_graph = Graph(graph.prefix + "then_"), Graph(graph.prefix + "else_")
    then_graph.count = else_graph.count = graph.count
    fused = _fused(then_graph, layers, x, lengths, initial)
    scanned = _scanned(else_graph, layers, x, mask, initial)
    graph.count = max(then_graph.count, else_graph.count) + 1
    branches = []
    for sub, (outputs, states) in ((then_graph, fused), (else_graph, scanned)):
        for k, value in enumerate([outputs, *states]):
            sub.output(value, f"{sub.prefix}out_{k}", rank=3 if k == 0 else 2)
        branches.append(sub.graph(sub.prefix + "branch"))
    count = 1 + len(fused[1])
    results = graph.op("If", [right_padded], "if", count, then_branch=branches[0], else_branch=branches[1])
    return results[0], list(results[1:])


def _is_right_padded(graph: Graph, mask: str, lengths: str) -> str:
    """True when every sequence's mask is ones then zeros: ``mask[t, b] == (t < lengths[b])``."""
    expected = graph.cast(graph.within(mask, lengths), TensorProto.INT32)
    same = graph.cast(graph.op("Equal", [expected, graph.cast(mask, TensorProto.INT32)]), TensorProto.INT32)
    return graph.cast(graph.op("ReduceMin", [same], keepdims=0), TensorProto.BOOL)


def _fused(graph: Graph, layers: list, x: str, lengths: str | None, initial: list[str] | None):
    """ONNX's LSTM (or RNN) node for `layers`; outputs past a sequence's length carry its final h, as tf_lstm's."""
    layer, directions = layers[0], len(layers)
    lstm = is_lstm(layer)
    parameters = lstm_parameters(graph, layer, layers) if lstm else _rnn_parameters(graph, layers)
    count = 2 if lstm else 1
    initial_inputs = [""] * count
    if initial:
        initial_inputs = [graph.stack([initial[d * count + k] for d in range(directions)]) for k in range(count)]
    inputs = [x, parameters["W"], parameters["R"], parameters["B"], lengths or "", *initial_inputs]
    if "P" in parameters:
        inputs.append(parameters["P"])
    if lstm:
        outputs = graph.op("LSTM", inputs, "lstm", 3, **lstm_attributes(layer, directions))
    else:
        outputs = graph.op("RNN", inputs, "rnn", 2, **_rnn_attributes(layer, directions))
    y, finals = outputs[0], outputs[1:]
    per_direction = [
        [graph.op("Gather", [f, graph.const(np.int64(d))], axis=0) for f in finals] for d in range(directions)
    ]
    steps = []
    for d in range(directions):
        out = graph.op("Gather", [y, graph.const(np.int64(d))], axis=1)  # [time, batch, units]
        if lengths is not None and d == 0 and not layers[d].zero_output_for_mask:
            # Past its length a forward sequence's output is its final h in tf_lstm; ONNX writes zeros there
            # (the backward direction's is its zero initial state there, as ONNX's).
            out = graph.op("Where", [graph.unsqueeze(graph.within(out, lengths), 2), out, per_direction[d][0]])
        steps.append(out)
    output = steps[0] if directions == 1 else graph.op("Concat", steps, axis=2)
    return output, [state for states in per_direction for state in states]


def _rnn_attributes(layer, directions: int) -> dict:
    op, alpha, beta = RECURRENT_ACTIVATIONS[activation_name(layer.activation)]
    return dict(
        hidden_size=layer.units,
        activations=[op] * directions,
        activation_alpha=None if alpha is None else [alpha] * directions,
        activation_beta=None if beta is None else [beta] * directions,
        direction="bidirectional" if directions == 2 else "forward",
    )


def _rnn_parameters(graph: Graph, layers: list) -> dict[str, str]:
    w, r, b = [], [], []
    for layer in layers:
        w.append(layer.kernel.numpy().T)
        r.append(layer.recurrent_kernel.numpy().T)
        bias = layer.bias.numpy() if layer.bias is not None else np.zeros(layer.units, np.float32)
        b.append(np.concatenate([bias, np.zeros_like(bias)]))
    return dict(
        W=graph.const(np.stack(w).astype(np.float32), "W"),
        R=graph.const(np.stack(r).astype(np.float32), "R"),
        B=graph.const(np.stack(b).astype(np.float32), "B"),
    )


def _scanned(graph: Graph, layers: list, x: str, mask: str | None, initial: list[str] | None):
    """Each direction as an ONNX Scan whose body is tf_lstm's step in standard operators (the backward direction
    reads the sequence reversed and its outputs are reversed back, as Keras' Bidirectional gives them)."""
    outputs, finals = [], []
    per_direction = len(initial) // len(layers) if initial else 0
    for d, layer in enumerate(layers):
        states = initial[d * per_direction : (d + 1) * per_direction] if initial else None
        backward = d == 1
        xs, ms = (graph.reverse_time(x), mask and graph.reverse_time(mask)) if backward else (x, mask)
        out, final = _scan_direction(graph, layer, xs, ms, states)
        outputs.append(graph.reverse_time(out) if backward else out)
        finals.extend(final)
    output = outputs[0] if len(outputs) == 1 else graph.op("Concat", outputs, axis=2)
    return output, finals


def _scan_direction(graph: Graph, layer, x: str, mask: str | None, initial: list[str] | None):
    lstm = is_lstm(layer)
    kernel = graph.const(layer.kernel.numpy(), "kernel")
    bias_in_body = lstm and layer.layer_norm
    projected = graph.op("MatMul", [x, kernel])  # [time, batch, blocks·units]
    if layer.bias is not None and not bias_in_body:
        projected = graph.op("Add", [projected, graph.const(layer.bias.numpy(), "bias")])
    batch = graph.dim(x, 1)
    sizes = layer.cell.state_sizes(layer.units)
    if initial is None:
        zeros = [graph.const(np.zeros([1, size], np.float32)) for size in sizes]
        initial = [
            graph.op("Expand", [z, graph.stack([batch, graph.const(np.int64(size))])]) for z, size in zip(zeros, sizes)
        ]
    if mask is None:
        mask = graph.op("Expand", [graph.const(np.array([[True]])), graph.stack([graph.dim(x, 0), batch])])
    body = _step_body(graph, layer, len(sizes))
    results = graph.op("Scan", [*initial, projected, mask], "scan", outputs=len(sizes) + 1, body=body,
                       num_scan_inputs=2)  # fmt: skip
    return results[-1], list(results[:-1])


def _step_body(outer: Graph, layer, state_count: int):
    """One step of `layer` as a graph: ``(h, c, projected_t, keep_t) → (h', c', output_t)``; masked rows keep
    their state, and output it (or zeros, with ``zero_output_for_mask``)."""
    body = Graph(outer.prefix + "step_")
    body.count = outer.count
    names = ["h", "c"][:state_count]
    states = [body.input(body.fresh(n), TensorProto.FLOAT, [None, None]) for n in names]
    projected = body.input(body.fresh("projected"), TensorProto.FLOAT, [None, None])
    keep = body.input(body.fresh("keep"), TensorProto.BOOL, [None])
    new = (
        _lstm_step(body, outer, layer, states, projected)
        if is_lstm(layer)
        else _rnn_step(body, outer, layer, states[0], projected)
    )
    kept = [body.where(keep, n, s) for n, s in zip(new, states)]
    output = kept[0]
    if layer.zero_output_for_mask:
        output = body.where(keep, new[0], body.op("Mul", [states[0], body.const(np.float32(0))]))
    for k, value in enumerate([*kept, output]):
        body.output(value, body.fresh(f"out{k}"), rank=2)
    outer.count = body.count + 1
    return body.graph(body.prefix + "body")


def _rnn_step(body: Graph, outer: Graph, layer, s: str, projected: str) -> list[str]:
    z = body.op("Add", [projected, body.op("MatMul", [s, outer.const(layer.recurrent_kernel.numpy(), "recurrent")])])
    return [body.activation(z, activation_name(layer.activation))]


def _layer_norm(body: Graph, outer: Graph, layer, v: str, name: str) -> str:
    weights = layer.cell_weights
    return body.op("LayerNormalization", [v, outer.const(weights[f"{name}_gamma"].numpy(), name + "_gamma"),
                                          outer.const(weights[f"{name}_beta"].numpy(), name + "_beta")],
                   axis=-1, epsilon=float(layer.cell.layer_norm_epsilon))  # fmt: skip


def _lstm_step(body: Graph, outer: Graph, layer, states: list[str], projected: str) -> list[str]:
    """`tf_lstm.steps.lstm_step` in ONNX operators, every knob included (zoneout as its inference mix)."""
    h, c = states
    recurrent = body.op("MatMul", [h, outer.const(layer.recurrent_kernel.numpy(), "recurrent")])
    if layer.layer_norm:
        z = body.op(
            "Add",
            [_layer_norm(body, outer, layer, projected, "ln_x"), _layer_norm(body, outer, layer, recurrent, "ln_h")],
        )
        if layer.bias is not None:
            z = body.op("Add", [z, outer.const(layer.bias.numpy(), "bias")])
    else:
        z = body.op("Add", [projected, recurrent])
    blocks = body.op("Split", [z], "block", outputs=layer.cell.blocks, axis=-1)
    positions = layer.gate_positions
    z_f = body.op("Add", [blocks[positions["f"]], body.const(np.float32(layer.forget_bias))])
    z_g, z_o = blocks[positions["g"]], blocks[positions["o"]]
    z_i = blocks[positions["i"]] if "i" in positions else None
    weights = layer.cell_weights
    if layer.use_peepholes and z_i is not None:  # (peepholes and the coupled gate exclude each other)
        peep = {name: outer.const(weights[f"w_{name}_diag"].numpy(), f"w_{name}_diag") for name in "ifo"}
        z_i = body.op("Add", [z_i, body.op("Mul", [peep["i"], c])])
        z_f = body.op("Add", [z_f, body.op("Mul", [peep["f"], c])])
    gate = activation_name(layer.recurrent_activation)
    f, g = body.activation(z_f, gate), body.activation(z_g, activation_name(layer.activation))
    i = body.op("Sub", [body.const(np.float32(1)), f]) if z_i is None else body.activation(z_i, gate)
    c_new = body.clip(body.op("Add", [body.op("Mul", [f, c]), body.op("Mul", [i, g])]), layer.cell_clip)
    if layer.use_peepholes:
        z_o = body.op("Add", [z_o, body.op("Mul", [peep["o"], c_new])])
    o = body.activation(z_o, gate)
    c_out = _layer_norm(body, outer, layer, c_new, "ln_c") if layer.layer_norm else c_new
    h_new = body.op("Mul", [o, body.activation(c_out, activation_name(layer.cell_activation))])
    if layer.proj_size is not None:
        h_new = body.clip(body.op("MatMul", [h_new, outer.const(weights["projection_kernel"].numpy(), "projection")]),
                          layer.proj_clip)  # fmt: skip
    return [_zoneout(body, h, h_new, layer.zoneout_h), _zoneout(body, c, c_new, layer.zoneout_c)]


def _zoneout(body: Graph, old: str, new: str, rate: float) -> str:
    """Zoneout's inference mix ``rate·old + (1 − rate)·new``."""
    if not rate:
        return new
    return body.op("Add", [body.op("Mul", [body.const(np.float32(rate)), old]),
                           body.op("Mul", [body.const(np.float32(1.0 - rate)), new])])  # fmt: skip
