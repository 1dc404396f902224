"""Streaming: a model advanced a step or a chunk at a time, its state carried by the caller.

A recurrent model is a pure function of its inputs and its state. Serving
(TF Serving assumes pure functions), devices and chunked long sequences all
need that function with the state passed in and out, not kept in the model:

    outputs, new_state = stream(x_chunk, state)

`stream_function` builds it for any Keras model whose layers' state lives in
layers that follow `tf_lstm.context.Streams`: every `tf_lstm.Recurrent`
(`ScanLSTM`, `ScanRNN`, and those inside `MultiLayerLSTM`) carries its state
tensors, and `MaskedMean` its running sum and count. The model's call is
unchanged: in stream mode (`carrying`, through `tf_lstm.context.calling`)
those layers start from the given state and hand their final state back.
Masks are honoured: a masked step leaves every state as it was. Feeding a
sequence in chunks, in order, gives the outputs the whole sequence gives;
other layers run on each chunk as they are, so per-step layers (Dense,
Embedding, TextVectorization, Softmax…) and taking the chunk's last step are
exact. Layers that would need the sequence's other steps are refused:
a backward direction, and Keras' own recurrent layers, whose state cannot be
passed in and out here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import keras
import tensorflow as tf

from tf_lstm.context import Slot, Streams, calling

LayerSlot = tuple[keras.layers.Layer, Slot]


@dataclass(frozen=True)
class StateSpec:
    """One state tensor of a streamed model: ``[batch, size]`` floats named `key`."""

    key: str
    layer: keras.layers.Layer
    size: int


def sublayers(model: keras.layers.Layer) -> list[keras.layers.Layer]:
    """`model` and every layer inside it, nested models and wrappers included."""
    return list(model._flatten_layers(include_self=True, recursive=True))


def _state_layers(model: keras.layers.Layer) -> list[keras.layers.Layer]:
    """The layers of `model` that keep state across steps, after refusing what cannot stream."""
    found = []
    for layer in sublayers(model):
        if isinstance(layer, keras.layers.Bidirectional):
            raise ValueError(
                f"layer {layer.name!r} is bidirectional: its backward direction needs the sequence's last step "
                "first, so it cannot be streamed."
            )
        if isinstance(layer, keras.layers.RNN):
            raise ValueError(
                f"layer {layer.name!r} is a keras.layers.{type(layer).__name__}, whose state cannot be passed in "
                "and out; tf_lstm.from_keras(model) gives the model with every keras.layers.LSTM a tf_lstm.ScanLSTM "
                "holding its weights."
            )
        if isinstance(layer, Streams):
            found.append(layer)
    if not found:
        raise ValueError(
            f"model {model.name!r} has no layer that keeps state across steps (tf_lstm.ScanLSTM, ScanRNN, "
            "Recurrent, MultiLayerLSTM, MaskedMean): there is nothing to stream."
        )
    return found


def state_specs(model: keras.layers.Layer) -> list[StateSpec]:
    """The state tensors of a streamed `model`, in order: ``<layer>_<state>`` for each, as each layer names them
    (`tf_lstm.context.Streams.stream_state`): ``h``, ``c`` of an LSTM, ``sum``, ``count`` of a `MaskedMean`. The
    model must be built."""
    specs: list[StateSpec] = []
    for layer in _state_layers(model):
        specs += [StateSpec(f"{layer.name}_{name}", layer, size) for name, size in layer.stream_state()]
    keys = [spec.key for spec in specs]
    if len(set(keys)) != len(keys):
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        raise ValueError(f"state names {repeated} repeat: give the layers of the model distinct names.")
    return specs


@contextlib.contextmanager
def carrying(
    specs: Sequence[StateSpec], states: Sequence[tf.Tensor]
) -> Iterator[list[tuple[keras.layers.Layer, Slot]]]:
    """Stream mode: each state layer starts from its part of `states`; yields each layer and the slot receiving
    its final state, in the order of `specs`."""
    slots: dict[int, LayerSlot] = {}
    for spec, state in zip(specs, states, strict=True):
        layer, slot = slots.setdefault(id(spec.layer), (spec.layer, Slot(carry=())))
        slot.carry += (state,)
    with calling(slots=slots.values()):
        yield list(slots.values())


def _final_states(slots: Sequence[LayerSlot]) -> list[tf.Tensor]:
    """Every layer's final state, in order, after the model ran in stream mode."""
    finals: list[tf.Tensor] = []
    for layer, slot in slots:
        if slot.final is None:
            raise ValueError(
                f"layer {layer.name!r} was not called when the model ran: streaming needs every layer "
                "that keeps state to run once per call."
            )
        finals += slot.final
    return finals


# Where a Keras model keeps the input spec its `input_spec` setter writes: a functional model
# `_manual_input_spec` (else it derives one from its inputs), every other layer `_input_spec`.
_INPUT_SPEC_ATTRIBUTES = ("_manual_input_spec", "_input_spec")


@contextlib.contextmanager
def any_length(model: keras.layers.Layer) -> Iterator[None]:
    """Keras models that check their inputs' (fixed) sequence length skip the check meanwhile: chunks vary.

    Each model's own attributes are put back as they were, whichever kind of
    model it is (Sequential, functional, nested, subclassed).
    """
    models = [layer for layer in sublayers(model) if isinstance(layer, keras.Model)]
    models += [
        m._functional for m in models if getattr(m, "_functional", None) is not None
    ]  # a built Sequential's graph
    saved = [{name: vars(m)[name] for name in _INPUT_SPEC_ATTRIBUTES if name in vars(m)} for m in models]
    for m in models:
        m.input_spec = None
    try:
        yield
    finally:
        for m, before in zip(models, saved):
            for name in _INPUT_SPEC_ATTRIBUTES:
                if name in before:
                    setattr(m, name, before[name])
                elif name in vars(m):
                    delattr(m, name)


def chunk_spec(spec: tf.TensorSpec) -> tf.TensorSpec:
    """`spec` with its time axis (axis 1 of a rank >= 2 input) of any length: chunks vary."""
    shape = spec.shape.as_list()
    if len(shape) >= 2:
        shape[1] = None
    return tf.TensorSpec(shape, spec.dtype, name=spec.name)


def stream_function(model: keras.Model, input_signature: Sequence[tf.TensorSpec]):
    """``(stream, zero_state, specs)`` of `model`: the two functions a streaming client needs.

    ``stream(*inputs, *states)`` runs `model` (in inference mode) on a chunk
    from the given states and returns ``{"outputs": …, <key>: new state…}``;
    ``zero_state(batch_size)`` returns ``{<key>: zeros}``, the state before
    the first step. `specs` lists the state tensors (`state_specs`).
    """
    specs = state_specs(model)
    inputs = [chunk_spec(spec) for spec in input_signature]
    states = [tf.TensorSpec([None, spec.size], model.compute_dtype, name=spec.key) for spec in specs]

    def stream(*args):
        with carrying(specs, args[len(inputs) :]) as slots, any_length(model):
            outputs = model(*args[: len(inputs)], training=False)
            finals = _final_states(slots)
        return {"outputs": outputs, **{spec.key: final for spec, final in zip(specs, finals)}}

    def zero_state(batch_size):
        return {spec.key: tf.zeros([batch_size, spec.size], model.compute_dtype) for spec in specs}

    stream_signature = [*inputs, *states]
    zero_signature = [tf.TensorSpec([], tf.int32, name="batch_size")]
    return (stream, stream_signature), (zero_state, zero_signature), specs
