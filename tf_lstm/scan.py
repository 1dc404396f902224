"""The scan driver: runs any step function over a sequence.

Three ways to run the same recurrence, chosen by `method`:

- ``"scan"``: `tf.scan`, the articles' form. It stacks every element of the
  carry at every step (c as well as h).
- ``"while"``: a `tf.while_loop` that keeps the carry in loop variables and
  writes only the outputs (``carry[0]``) to a `tf.TensorArray`, and only when
  they are asked for.
- ``"unroll"``: a Python loop over a sequence of known length: one graph node
  per step, which XLA can fuse across steps.
- ``"bptt"``: a whole-sequence function with its own backward pass, given as
  `runner` (the LSTM's is `tf_lstm.bptt.lstm_sequence`); the step is not used.

All give the same numbers (the tests check them against each other).
"""

from __future__ import annotations

from typing import Callable, Sequence

import tensorflow as tf

Carry = tuple[tf.Tensor, ...]
METHODS = ("scan", "while", "unroll", "bptt")


def in_xla_context() -> bool:
    """Whether the graph being built will be compiled by XLA (jit_compile=True)."""
    try:
        from tensorflow.python.ops import control_flow_util
    except ImportError:  # a TensorFlow without this private module: assume not
        return False
    return bool(control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph()))


def scan_rnn(
    step: Callable[[Carry, tf.Tensor], Carry],
    inputs: tf.Tensor,
    initial_carry: Sequence[tf.Tensor],
    *,
    mask: tf.Tensor | None = None,
    go_backwards: bool = False,
    time_major: bool = False,
    zero_output_for_mask: bool = False,
    return_sequences: bool = True,
    method: str = "scan",
    runner: Callable | None = None,
) -> tuple[tf.Tensor | None, Carry]:
    """Runs `step` over the time axis of `inputs`.

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
        return_sequences: also return every step's output; otherwise the
            first element returned is None.
        method: ``"scan"``, ``"while"``, ``"unroll"`` or ``"bptt"`` (see the module).
        runner: for ``"bptt"``: ``(time-major inputs, time-major mask or None,
            initial_carry, return_sequences=…) -> (outputs or None, final_carry)``.

    Returns:
        ``(outputs, final_carry)``: outputs are ``carry[0]`` of every step,
        in the layout of `inputs`.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got method={method!r}.")
    initial_carry = tuple(initial_carry)
    if not time_major:
        inputs = tf.transpose(inputs, [1, 0] + list(range(2, inputs.shape.rank)))
        if mask is not None:
            mask = tf.transpose(mask)
    if go_backwards:
        inputs = tf.reverse(inputs, [0])
        if mask is not None:
            mask = tf.reverse(mask, [0])

    if method == "bptt":
        if runner is None:
            raise ValueError("method='bptt' needs a runner (a whole-sequence function).")
        outputs, final_carry = runner(inputs, mask, initial_carry, return_sequences=return_sequences)
        return _finish(outputs, final_carry, mask, zero_output_for_mask, time_major)

    if mask is not None:
        plain_step = step

        def step(carry, elems):
            x_t, m_t = elems
            new_carry = plain_step(carry, x_t)
            keep = m_t[:, None]
            return tuple(tf.where(keep, new, old) for new, old in zip(new_carry, carry))

        elems = (inputs, mask)
    else:
        elems = inputs

    run = {"scan": _run_scan, "while": _run_while, "unroll": _run_unrolled}[method]
    outputs, final_carry = run(step, elems, inputs, initial_carry, return_sequences)
    return _finish(outputs, final_carry, mask, zero_output_for_mask, time_major)


def _finish(outputs, final_carry, mask, zero_output_for_mask, time_major):
    """Zeroes masked outputs if asked, and puts them back in the caller's layout."""
    if outputs is not None:
        if mask is not None and zero_output_for_mask:
            outputs = tf.where(mask[:, :, None], outputs, tf.zeros_like(outputs))
        if not time_major:
            outputs = tf.transpose(outputs, [1, 0, 2])
    return outputs, tuple(final_carry)


def _run_scan(step, elems, inputs, initial_carry, return_sequences):
    stacked = tf.scan(step, elems, initializer=initial_carry)
    steps = inputs.shape[0]
    if steps is not None:
        final = initial_carry if steps == 0 else tuple(s[-1] for s in stacked)
    else:
        final = tf.cond(
            tf.shape(inputs)[0] > 0,
            lambda: tuple(s[-1] for s in stacked),
            lambda: initial_carry,
        )
    return (stacked[0] if return_sequences else None), final


def _run_while(step, elems, inputs, initial_carry, return_sequences):
    steps = tf.shape(inputs)[0]
    flat = tf.nest.flatten(elems)
    readers = [tf.TensorArray(e.dtype, size=steps, element_shape=e.shape[1:]).unstack(e) for e in flat]
    writer = tf.TensorArray(
        initial_carry[0].dtype, size=steps if return_sequences else 0,
        element_shape=initial_carry[0].shape,
    )

    def body(t, carry, writer):
        x_t = tf.nest.pack_sequence_as(elems, [r.read(t) for r in readers])
        carry = tuple(step(carry, x_t))
        if return_sequences:
            writer = writer.write(t, carry[0])
        return t + 1, carry, writer

    _, final, writer = tf.while_loop(
        lambda t, *_: t < steps,
        body,
        (tf.constant(0), initial_carry, writer),
        maximum_iterations=steps,
    )
    return (writer.stack() if return_sequences else None), final


def _run_unrolled(step, elems, inputs, initial_carry, return_sequences):
    steps = inputs.shape[0]
    if steps is None:
        raise ValueError(
            "method='unroll' needs the number of time steps to be known when the graph "
            f"is built; got inputs with shape {tuple(inputs.shape)}."
        )
    # One unstack, not a slice per step: the gradient of T slices would be T
    # full-size scatters, that of one unstack is a single stack.
    per_step = [tf.unstack(e, num=steps) for e in tf.nest.flatten(elems)]
    carry, outputs = initial_carry, []
    for t in range(steps):
        carry = tuple(step(carry, tf.nest.pack_sequence_as(elems, [e[t] for e in per_step])))
        outputs.append(carry[0])
    if not return_sequences:
        return None, carry
    if not outputs:
        return tf.zeros([0] + initial_carry[0].shape.as_list(), initial_carry[0].dtype), carry
    return tf.stack(outputs), carry
