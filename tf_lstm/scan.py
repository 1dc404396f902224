"""The scan driver: runs any step function over a sequence with `tf.scan`."""

from __future__ import annotations

from typing import Callable, Sequence

import tensorflow as tf

Carry = tuple[tf.Tensor, ...]


def scan_rnn(
    step: Callable[[Carry, tf.Tensor], Carry],
    inputs: tf.Tensor,
    initial_carry: Sequence[tf.Tensor],
    *,
    mask: tf.Tensor | None = None,
    go_backwards: bool = False,
    time_major: bool = False,
    zero_output_for_mask: bool = False,
) -> tuple[tf.Tensor, Carry]:
    """Scans `step` over the time axis of `inputs`.

    Masked steps carry the state through unchanged, as the Theano tutorial's
    ``c = m·c_new + (1−m)·c_prev`` does (written with `tf.where`, so a NaN in
    a masked step's candidate does not leak into the carry).

    Args:
        step: ``(carry, x_t) -> carry``; ``carry[0]`` is the step's output.
        inputs: ``[batch, time, ...]`` (``[time, batch, ...]`` if
            `time_major`), the per-step inputs of `step`.
        initial_carry: tensors of shape ``[batch, ...]``.
        mask: boolean ``[batch, time]`` (``[time, batch]`` if `time_major`);
            False marks padding.
        go_backwards: process the sequence from its end; outputs come in
            processing order, as in Keras.
        time_major: layout of `inputs`, `mask` and the returned outputs.
        zero_output_for_mask: output zeros (rather than the carried state)
            at masked steps, as `keras.layers.Bidirectional` asks.

    Returns:
        ``(outputs, final_carry)``: outputs are ``carry[0]`` of every step,
        in the layout of `inputs`.
    """
    initial_carry = tuple(initial_carry)
    if not time_major:
        inputs = tf.transpose(inputs, [1, 0] + list(range(2, inputs.shape.rank)))
        if mask is not None:
            mask = tf.transpose(mask)
    if go_backwards:
        inputs = tf.reverse(inputs, [0])
        if mask is not None:
            mask = tf.reverse(mask, [0])

    if mask is None:
        stacked = tf.scan(step, inputs, initializer=initial_carry)
    else:
        def masked_step(carry, elems):
            x_t, m_t = elems
            new_carry = step(carry, x_t)
            keep = m_t[:, None]
            return tuple(tf.where(keep, new, old) for new, old in zip(new_carry, carry))

        stacked = tf.scan(masked_step, (inputs, mask), initializer=initial_carry)

    outputs = stacked[0]
    final_carry = _last_or_initial(stacked, initial_carry, inputs)
    if mask is not None and zero_output_for_mask:
        outputs = tf.where(mask[:, :, None], outputs, tf.zeros_like(outputs))
    if not time_major:
        outputs = tf.transpose(outputs, [1, 0, 2])
    return outputs, final_carry


def _last_or_initial(stacked: Carry, initial_carry: Carry, inputs: tf.Tensor) -> Carry:
    """The last step's carry, or the initial carry for an empty sequence."""
    steps = inputs.shape[0]
    if steps is not None:
        return initial_carry if steps == 0 else tuple(s[-1] for s in stacked)
    return tf.cond(
        tf.shape(inputs)[0] > 0,
        lambda: tuple(s[-1] for s in stacked),
        lambda: initial_carry,
    )
