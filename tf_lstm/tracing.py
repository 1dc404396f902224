"""Seeing inside the recurrence: every step's gates and state, how often gates saturate, gradients through time.

`keras.layers.LSTM` and `torch.nn.LSTM` return h of every step and c of the
last; the analyses of LSTMs (Karpathy, Johnson and Fei-Fei 2015, "Visualizing
and Understanding Recurrent Networks"; LSTMVis) need the gates and the cell
state at every step, and the gradient reaching each step (the vanishing
gradient). Here they come from the layer's own step function: `trace` runs
the layer once more with its per-step values collected; nothing is computed
when it is not called.

>>> import numpy as np, tf_lstm
>>> layer = tf_lstm.ScanLSTM(4)
>>> x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
>>> h_last = layer(x)
>>> seen = tf_lstm.trace(layer, x)
>>> sorted(seen), tuple(seen["f"].shape)
(['c', 'f', 'g', 'h', 'i', 'mask', 'o', 'z'], (2, 6, 4))
>>> bool(np.allclose(seen["h"][:, -1], h_last, atol=1e-6))
True
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tf_lstm import context
from tf_lstm.cells import StepInputs
from tf_lstm.layers import Recurrent
from tf_lstm.multilayer import MultiLayerLSTM

Trace = dict[str, Any]


def trace(layer, inputs, mask=None, initial_state=None) -> Trace:
    """Every step's values inside `layer`, in inference mode (no dropout), each ``[batch, time, ·]``.

    Args:
        layer: a built `tf_lstm.Recurrent` (`ScanLSTM`, `ScanRNN`, or any
            cell's), a `keras.layers.Bidirectional` of one, or a
            `MultiLayerLSTM`; or a Keras model holding one, whose first such
            layer is traced on what reaches it when the model runs on
            `inputs` (after an Embedding, say, with the mask it makes).
        inputs: what the layer (or the model) is called with
            (``[batch, time, features]``, or time-major for
            ``time_major``/``batch_first=False`` layers).
        mask: boolean ``[batch, time]``, as for the layer.
        initial_state: as for the layer.

    Returns:
        For a `Recurrent`: its cell's per-step values (the LSTM's ``z`` (the
        pre-activations, ``[batch, time, 4·units]``), ``i``, ``f``, ``g``,
        ``o``) and its state (``h`` and ``c``; the linear RNN's ``s``), all
        batch-major with steps in processing order (as the layer's outputs:
        reversed for ``go_backwards``), plus ``mask`` (``[batch, time]`` in
        that order, or None). A masked step shows the state it carries; its
        gate values are those computed (and discarded) there. For a
        `Bidirectional`: ``{"forward": trace, "backward": trace}``; for a
        `MultiLayerLSTM`: ``{"layer_0": {"forward": ..., "backward": ...}, ...}``.

    Raises:
        TypeError: `layer` is none of these.
        ValueError: `layer` is not built.
    """
    if isinstance(layer, keras.Model) and not isinstance(layer, MultiLayerLSTM):
        if mask is not None or initial_state is not None:
            raise ValueError("trace of a model takes no mask or initial_state: the model makes them.")
        inner, inner_inputs, inner_mask = _reaching(layer, inputs)
        return trace(inner, inner_inputs, inner_mask)
    if isinstance(layer, MultiLayerLSTM):
        return _trace_multilayer(layer, inputs, mask)
    if isinstance(layer, keras.layers.Bidirectional) and isinstance(layer.forward_layer, Recurrent):
        if initial_state is not None:
            raise ValueError("trace of a Bidirectional takes no initial_state.")
        return {
            "forward": trace(layer.forward_layer, inputs, mask),
            "backward": trace(layer.backward_layer, inputs, mask),
        }
    if not isinstance(layer, Recurrent):
        raise TypeError(
            f"layer must be a tf_lstm Recurrent layer (ScanLSTM, ScanRNN, ...), a Bidirectional of one or a "
            f"MultiLayerLSTM, got {type(layer).__name__}."
        )
    if not layer.built:
        raise ValueError(f"layer {layer.name!r} must be built (called once) before it is traced.")
    states = layer.cell.state_names
    values = _value_names(layer)
    collect: dict[str, int | str] = {name: name for name in values}
    collect.update({name: k for k, name in enumerate(states)})
    _, _, collected = layer.run(inputs, mask=mask, training=False, initial_state=initial_state, collect=collect)
    result: Trace = {name: _batch_major(tensor) for name, tensor in collected.items()}
    result["mask"] = None
    if mask is not None:
        ordered = tf.convert_to_tensor(mask, tf.bool)
        if layer.time_major:
            ordered = tf.transpose(ordered)
        result["mask"] = tf.reverse(ordered, [1]) if layer.go_backwards else ordered
    return result


def traceable(layer: keras.layers.Layer) -> bool:
    """Whether `trace` takes `layer` itself: a Recurrent, a Bidirectional of one, a MultiLayerLSTM."""
    return isinstance(layer, (Recurrent, MultiLayerLSTM)) or (
        isinstance(layer, keras.layers.Bidirectional) and isinstance(layer.forward_layer, Recurrent)
    )


def trace_layers(model, inputs) -> list[tuple[keras.layers.Layer, Trace]]:
    """Every tf_lstm layer of `model` with its `trace` on what reaches it when `model` runs on `inputs`.

    Where `trace` of a model looks at its first such layer, this looks at
    each, in the order the model holds them (stacked layers bottom first); a
    Bidirectional or a MultiLayerLSTM counts as one, its trace nested as
    `trace` nests it. A traceable layer given as `model` is traced alone.

    >>> import keras, numpy as np, tf_lstm
    >>> model = keras.Sequential([keras.Input((5, 2)), tf_lstm.ScanLSTM(3, return_sequences=True), tf_lstm.ScanLSTM(4)])
    >>> [(layer.name == model.layers[k].name, tuple(t["h"].shape)) for k, (layer, t) in enumerate(
    ...     tf_lstm.tracing.trace_layers(model, np.ones((2, 5, 2), "float32")))]
    [(True, (2, 5, 3)), (True, (2, 5, 4))]
    """
    if traceable(model):
        return [(model, trace(model, inputs))]
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model or a tf_lstm layer, got {type(model).__name__}.")
    inners: list[keras.layers.Layer] = []
    inside: set[int] = set()
    for sub in model._flatten_layers(include_self=False):
        if id(sub) in inside or not traceable(sub):
            continue
        inners.append(sub)
        inside.update(id(child) for child in sub._flatten_layers(include_self=False))
    if not inners:
        _reaching(model, inputs)  # raises the error naming the model and the converter
    seen: dict[int, tuple[Any, Any]] = {}

    def recorder(layer):
        def record(call, *args, **kwargs):
            seen.setdefault(
                id(layer), (args[0] if args else kwargs.get("inputs", kwargs.get("sequences")), kwargs.get("mask"))
            )
            return call(*args, **kwargs)

        return record

    with contextlib.ExitStack() as stack:
        for inner in inners:
            stack.enter_context(_around_call(inner, recorder(inner)))
        model(inputs, training=False)
    result = []
    for inner in inners:
        if id(inner) not in seen:
            raise ValueError(f"layer {inner.name!r} did not run when model {model.name!r} ran on the inputs.")
        inner_inputs, inner_mask = seen[id(inner)]
        result.append((inner, trace(inner, inner_inputs, None if isinstance(inner, MultiLayerLSTM) else inner_mask)))
    return result


def _reaching(model: keras.Model, inputs):
    """The model's first traceable layer, and the inputs and mask that reach it when `model` runs on `inputs`."""
    inner = next((sub for sub in model._flatten_layers(include_self=False) if traceable(sub)), None)
    if inner is None:
        raise ValueError(
            f"model {model.name!r} ({type(model).__name__}) has no tf_lstm layer to trace (ScanLSTM, ScanRNN, "
            "Recurrent, a Bidirectional of one, MultiLayerLSTM); convert its Keras LSTMs with tf_lstm.from_keras."
        )
    seen: dict[str, Any] = {}

    def record(call, *args, **kwargs):
        seen.setdefault("inputs", args[0] if args else kwargs.get("inputs", kwargs.get("sequences")))
        seen.setdefault("mask", kwargs.get("mask"))
        return call(*args, **kwargs)

    with _around_call(inner, record):
        model(inputs, training=False)
    if "inputs" not in seen:
        raise ValueError(f"layer {inner.name!r} did not run when model {model.name!r} ran on the inputs.")
    return inner, seen["inputs"], seen["mask"]


def _value_names(layer: Recurrent) -> list[str]:
    """The names of the values the cell's step returns, from one step on zeros (traced, not stored)."""
    dtype = layer.compute_dtype
    carry = tuple(tf.zeros([1, size], dtype) for size in layer.cell.state_sizes(layer.units))
    projected = tf.zeros([1, layer.cell.blocks * layer.units], dtype)
    weights = layer.call_weights()
    _, values = layer.cell.step(carry, projected, StepInputs(weights.recurrent_kernel, extra=weights.extra))
    return sorted(values)


def _batch_major(tensor):
    return tf.transpose(tensor, [1, 0, *range(2, tensor.shape.rank)])


def _trace_multilayer(model: MultiLayerLSTM, inputs, mask) -> Trace:
    if mask is not None:
        raise ValueError("MultiLayerLSTM takes no mask, so its trace takes none.")
    if not model.built:
        raise ValueError(f"MultiLayerLSTM {model.name!r} must be built (called once) before it is traced.")
    x = tf.convert_to_tensor(inputs)
    if not model.batch_first:
        x = tf.transpose(x, [1, 0, 2])
    result: Trace = {}
    for k in range(model.num_layers):
        directions = model.directions(k)
        traces = [trace(lstm, x) for lstm in directions]
        result[f"layer_{k}"] = dict(zip(("forward", "backward"), traces))
        # The next layer reads both directions' h in the order of the input (Bidirectional's concatenation).
        hs = [t["h"] if not lstm.go_backwards else tf.reverse(t["h"], [1]) for t, lstm in zip(traces, directions)]
        x = tf.concat(hs, axis=-1)
    return result


def saturation(traced: Mapping[str, Any], low: float = 0.1, high: float = 0.9) -> dict[str, dict[str, np.ndarray]]:
    """Per gate and unit, the fraction of steps the gate spends below `low` and above `high`.

    Karpathy et al.'s figure of gate saturation: a gate near 0 or 1 acts as a
    switch (a forget gate above 0.9 keeps its cell for long). Masked steps
    are left out.

    Args:
        traced: a `trace` of one LSTM layer (one direction).
        low, high: the thresholds, ``0 <= low < high <= 1``.

    Returns:
        ``{"i": {"low": [units], "high": [units]}, "f": ..., "o": ...}``.
    """
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"saturation needs 0 <= low < high <= 1, got low={low!r}, high={high!r}.")
    gates = [gate for gate in "ifo" if gate in traced]
    if not gates:
        raise ValueError(f"saturation needs a trace of an LSTM (gates i, f, o), got keys {sorted(traced)}.")
    mask = traced.get("mask")
    result = {}
    for gate in gates:
        values = np.asarray(traced[gate], np.float64)
        keep = np.ones(values.shape[:2], bool) if mask is None else np.asarray(mask, bool)
        steps = max(int(keep.sum()), 1)
        kept = values[keep]  # [kept steps, units]
        result[gate] = {"low": (kept < low).sum(axis=0) / steps, "high": (kept > high).sum(axis=0) / steps}
    return result


def gradients_through_time(
    model: keras.Model,
    inputs,
    targets,
    loss: Callable[[Any, Any], Any] | str = "mse",
    *,
    layer: Recurrent | None = None,
) -> dict[str, np.ndarray]:
    """How much each step's state and input matter to the loss: the vanishing-gradient picture.

    For every step t of `layer` (by default the model's first `Recurrent`
    layer), the norms over units of ``∂L/∂h_t`` and ``∂L/∂c_t`` (each of the
    layer's states), and of the input saliency ``∂L/∂x_t``, per example. The
    gradient with respect to a state is the total one: through every later
    step and whatever reads the state. It is measured by adding zero
    "probes" to each step's new state (`tf_lstm.context.calling`), so the model computes
    what it always does.

    Args:
        model: a Keras model containing `layer`; `inputs` feed the model and
            must be what `layer` reads (the model's input is the layer's).
        targets: what `loss` compares the model's output with.
        loss: a Keras loss (name or callable ``(targets, outputs)``), summed
            over the batch.
        layer: the recurrent layer to probe.

    Returns:
        ``{"h": [batch, time], "c": [batch, time], ..., "x": [batch, time],
        "loss": float, "saliency_at": str}``, steps in the order of `inputs`.
        For token ids (integer inputs), whose gradient does not exist, the
        saliency is taken at the output of the model's first Embedding layer,
        and ``saliency_at`` says so.
    """
    if layer is None:
        layer = next((sub for sub in model._flatten_layers() if isinstance(sub, Recurrent)), None)
        if layer is None:
            raise ValueError(f"model {model.name!r} has no tf_lstm Recurrent layer to probe.")
    loss_fn = keras.losses.get(loss) if isinstance(loss, str) else loss
    x = tf.convert_to_tensor(inputs)
    time_axis = 0 if layer.time_major else 1
    steps, batch = x.shape[time_axis], x.shape[1 - time_axis]
    states = layer.cell.state_names
    sizes = list(layer.cell.state_sizes(layer.units))
    probes = tf.zeros([steps, batch, sum(sizes)], layer.compute_dtype)
    saliency_at, watched = "the inputs", x
    embedding = None
    if not x.dtype.is_floating:
        embedding = next((sub for sub in model._flatten_layers() if isinstance(sub, keras.layers.Embedding)), None)
        if embedding is None:
            raise TypeError(
                f"inputs of dtype {x.dtype.name} have no gradient and model {model.name!r} has no Embedding layer "
                "to take the saliency at: pass floating-point inputs."
            )
        saliency_at = f"the output of embedding layer {embedding.name!r} (the inputs are token ids)"
        watched = tf.zeros([*x.shape, embedding.output_dim], embedding.compute_dtype)
    with tf.GradientTape() as tape:
        tape.watch([watched, probes])
        with context.calling(probes=[(layer, probes)]), _added_to_output(embedding, watched):
            outputs = model(x, training=False)
        value = tf.reduce_sum(loss_fn(targets, outputs))
    d_x, d_probes = tape.gradient(value, [watched, probes])
    if d_probes is None:
        raise ValueError(f"the loss does not depend on layer {layer.name!r}'s states: is it in the model?")
    per_state = tf.split(d_probes, sizes, axis=-1)  # each [time, batch, its size]
    result = {name: np.linalg.norm(np.asarray(g), axis=-1).T for name, g in zip(states, per_state)}
    d_x = np.asarray(d_x)
    result["x"] = np.linalg.norm(d_x if not layer.time_major else d_x.transpose(1, 0, 2), axis=-1)
    result["loss"] = float(value)
    result["saliency_at"] = saliency_at
    return result


def _added_to_output(layer: keras.layers.Layer | None, probe):
    """Meanwhile `layer`'s output has `probe` (zeros) added: the gradient with respect to it is the output's.

    `layer` is Keras' own Embedding, which cannot read `tf_lstm.context`: its call is wrapped for the block, on
    this one instance, and put back after it."""
    if layer is None:
        return contextlib.nullcontext()
    return _around_call(layer, lambda call, *args, **kwargs: call(*args, **kwargs) + probe)


@contextlib.contextmanager
def _around_call(layer: keras.layers.Layer, around: Callable[..., Any]) -> Iterator[None]:
    """Meanwhile this one `layer` instance's call runs as ``around(original_call, *args, **kwargs)``."""
    original = layer.call
    layer.call = lambda *args, **kwargs: around(original, *args, **kwargs)
    try:
        yield
    finally:
        del layer.call
