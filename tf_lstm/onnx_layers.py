"""The ONNX form of tf_lstm's recurrent layers as Keras calls them: batch-major or time-major inputs, masks,
initial states, ``go_backwards``, ``return_sequences``/``return_state``, ``Bidirectional``, `MultiLayerLSTM`, and
the streamed states (`tf_lstm.onnx_export`)."""

from __future__ import annotations

import numpy as np

from tf_lstm.onnx_graph import Value
from tf_lstm.onnx_recurrent import recurrent

TIME_MAJOR = [1, 0, 2]


def _state_names(layer) -> list[str]:
    return list(layer.cell.state_names)


def _time_major(graph, x: Value, mask: str | None, layer_time_major: bool):
    """``(x [time, batch, features], mask [time, batch])`` from the layer's inputs."""
    xs = x.name if layer_time_major else graph.op("Transpose", [x.name], perm=TIME_MAJOR)
    if mask is not None and not layer_time_major:
        mask = graph.op("Transpose", [mask], perm=[1, 0])
    return xs, mask


def _initial(converter, layers, initial_state) -> list[str] | None:
    """The initial states: given in the call, streamed (graph inputs), or None (zeros)."""
    if initial_state is not None:
        return [v.name for v in initial_state]
    if not converter.streaming:
        return None
    if len(layers) > 1 or layers[0].go_backwards:
        raise NotImplementedError("streaming a backward direction (it reads the sequence from its end)")
    layer = layers[0]
    return [
        converter.state(layer, name, size)
        for name, size in zip(_state_names(layer), layer.cell.state_sizes(layer.units))
    ]


def _finish(converter, layer, x: Value, out: str, states: list[str], mask: str | None, time_major: bool):
    """Keras' outputs of `layer`: every step's (batch-major unless time-major) or the last, then the states."""
    graph = converter.graph
    if converter.streaming:
        for name, state in zip(_state_names(layer), states):
            converter.state_out(layer, name, state)
    if layer.return_sequences:
        output = Value(out if time_major else graph.op("Transpose", [out], perm=TIME_MAJOR), 3, x.mask)
    else:
        output = Value(states[0], 2)  # the last output is the final h (carried through masked steps)
    if not layer.return_state:
        return output
    return [output, *(Value(s, 2) for s in states)]


def recurrent_layer(converter, layer, x: Value, mask=None, initial_state=None, training=None, **_):
    """A `ScanLSTM` or `ScanRNN` as Keras calls it."""
    graph = converter.graph
    mask_name = mask.name if isinstance(mask, Value) else x.mask
    xs, ms = _time_major(graph, x, mask_name, layer.time_major)
    if layer.go_backwards:  # processing order: outputs stay reversed, as Keras gives them
        xs, ms = graph.reverse_time(xs), (ms and graph.reverse_time(ms))
    out, states = recurrent(graph, [layer], xs, ms, _initial(converter, [layer], initial_state))
    return _finish(converter, layer, x, out, states, mask_name, layer.time_major)


def bidirectional(converter, wrapper, x: Value, mask=None, initial_state=None, training=None, **_):
    """``Bidirectional(ScanLSTM or ScanRNN)``: one bidirectional node (or two Scans); merge modes of Keras."""
    graph = converter.graph
    forward, backward = wrapper.forward_layer, wrapper.backward_layer
    if not hasattr(forward, "cell"):
        raise NotImplementedError(f"Bidirectional of {type(forward).__name__}")
    if forward.time_major or forward.go_backwards:
        raise NotImplementedError("Bidirectional of a time-major or go_backwards layer")
    mask_name = mask.name if isinstance(mask, Value) else x.mask
    xs, ms = _time_major(graph, x, mask_name, False)
    initial = (
        [v.name for v in initial_state] if initial_state is not None else _initial(converter, [forward, backward], None)
    )
    out, states = recurrent(graph, [forward, backward], xs, ms, initial)
    units = forward.cell.output_size(forward.units)
    halves = graph.op("Split", [out, graph.const(np.array([units, units]))], outputs=2, axis=2)
    merged = _merge(graph, wrapper.merge_mode, halves)
    per_direction = len(states) // 2
    if forward.return_sequences:
        output = Value(graph.op("Transpose", [merged], perm=TIME_MAJOR), 3, x.mask)
    else:
        last = [states[0], states[per_direction]]
        output = Value(_merge(graph, wrapper.merge_mode, last), 2)
    if not forward.return_state:
        return output
    return [output, *(Value(s, 2) for s in states)]


def _merge(graph, mode: str | None, halves: list[str]) -> str:
    if mode == "concat":
        return graph.op("Concat", halves, axis=-1)
    if mode == "sum":
        return graph.op("Add", halves)
    if mode == "mul":
        return graph.op("Mul", halves)
    if mode == "ave":
        return graph.op("Mul", [graph.op("Add", halves), graph.const(np.float32(0.5))])
    raise NotImplementedError(f"merge_mode={mode!r}")


def multilayer(converter, layer, x: Value, training=None, **_):
    """`MultiLayerLSTM`: stacked nodes, torch's outputs ``(output, (h_n, c_n))``."""
    graph = converter.graph
    if converter.streaming:
        raise NotImplementedError("streaming a MultiLayerLSTM")
    xs = x.name if not layer.batch_first else graph.op("Transpose", [x.name], perm=TIME_MAJOR)
    h_n, c_n = [], []
    for k in range(layer.num_layers):
        out, states = recurrent(graph, layer.directions(k), xs, None, None)
        xs = out
        h_n.extend(states[0::2])
        c_n.extend(states[1::2])
    output = xs if not layer.batch_first else graph.op("Transpose", [xs], perm=TIME_MAJOR)
    return [Value(output, 3), Value(graph.stack(h_n), 3), Value(graph.stack(c_n), 3)]
