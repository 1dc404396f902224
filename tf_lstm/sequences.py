"""What a recurrent layer's call accepts, checked before any work: the inputs, the mask, the initial state.

Each check names the argument, the shape it needs and the shape it got.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf


def check_inputs(inputs, *, kind: str, name: str, input_size: int | None) -> tf.Tensor:
    """`inputs` as a floating-point rank-3 tensor with `input_size` features (`kind`, `name`: the layer's)."""
    inputs = tf.convert_to_tensor(inputs)
    if not inputs.dtype.is_floating:
        raise TypeError(
            f"{kind} expects floating-point inputs, got inputs of dtype "
            f"{inputs.dtype.name} (cast them, e.g. with tf.cast(x, 'float32'))."
        )
    if inputs.shape.rank != 3:
        raise ValueError(f"{kind} expects inputs of rank 3, got inputs with shape {tuple(inputs.shape)}.")
    if inputs.shape[-1] != input_size:
        raise ValueError(
            f"{kind} '{name}' was built for {input_size} input features, got inputs with shape "
            f"{tuple(inputs.shape)} ({inputs.shape[-1]} features)."
        )
    return inputs


def check_mask(mask, inputs: tf.Tensor, *, time_major: bool) -> tf.Tensor | None:
    """`mask` as booleans of the inputs' first two axes, or None."""
    if mask is None:
        return None
    mask = tf.convert_to_tensor(mask)
    expected = tuple(inputs.shape[:2])
    if mask.shape.rank != 2 or any(m is not None and e is not None and m != e for m, e in zip(mask.shape, expected)):
        layout = "[time, batch]" if time_major else "[batch, time]"
        raise ValueError(
            f"mask must have shape {layout} = {expected} to match the inputs, got mask with shape {tuple(mask.shape)}."
        )
    return tf.cast(mask, tf.bool)


def initial_carry(initial_state, batch, dtype, *, names: Sequence[str], sizes: Sequence[int]) -> tuple:
    """The carry to start from: `initial_state` checked against the states' `names` and `sizes`, or zeros."""
    if initial_state is None:
        return tuple(tf.zeros([batch, size], dtype) for size in sizes)
    states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
    shapes = ", ".join(f"{name} [batch, {size}]" for name, size in zip(names, sizes))
    if len(states) != len(names):
        raise ValueError(f"initial_state must be a list of {len(names)} tensors ({shapes}), got {len(states)}.")
    carry = []
    for name, size, state in zip(names, sizes, states):
        state = tf.cast(tf.convert_to_tensor(state), dtype)
        if state.shape.rank != 2 or state.shape[-1] != size:
            raise ValueError(f"initial_state {name} must have shape [batch, {size}], got shape {tuple(state.shape)}.")
        carry.append(state)
    return tuple(carry)
