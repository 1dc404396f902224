"""The scan driver: runs any step function over a sequence, and the choice of how.

Four ways to run the same recurrence, chosen by `method`:

- ``"scan"``: `tf.scan`, the articles' form. It stacks every element of the
  carry at every step (c as well as h).
- ``"while"``: a `tf.while_loop` that keeps the carry in loop variables and
  writes only what is asked for (the outputs, ``carry[0]``, and any collected
  values) to `tf.TensorArray`s.
- ``"unroll"``: a Python loop over a sequence of known length: one graph node
  per step, which XLA can fuse across steps.
- ``"manual_backward"``: a whole-sequence function with its own backward pass, given as
  `runner` (the LSTM's is `tf_lstm.manual_backward.lstm_sequence`); the step is not used.

All give the same numbers (the tests check them against each other and
against a hand-stepped loop). `choose_method` is the rule ``method="auto"``
follows.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import tensorflow as tf
from tensorflow.python.ops import control_flow_util  # private: the only way to ask whether XLA compiles the graph

from tf_lstm.steps import Carry, keep_where

Step = Callable[[Carry, tf.Tensor], tuple[Sequence[tf.Tensor], Mapping[str, tf.Tensor]]]
METHODS = ("scan", "while", "unroll", "manual_backward")
RENAMED_METHODS = {"bptt": "manual_backward"}  # every method does backpropagation through time
# Sequences up to this length (known when the graph is built) run unrolled
# under method="auto": measured fastest on CPU for MNIST-sized sequences.
UNROLL_MAX_STEPS = 64


def in_xla_context() -> bool:
    """Whether the graph being built will be compiled by XLA (jit_compile=True)."""
    return bool(control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph()))


def method_name(method: str) -> str:
    """`method`, or the name an earlier name now has (`RENAMED_METHODS`), with a `DeprecationWarning`."""
    if method in RENAMED_METHODS:
        warnings.warn(
            f"method={method!r} is named method={RENAMED_METHODS[method]!r}; {method!r} will be removed.",
            DeprecationWarning,
            3,
        )
        return RENAMED_METHODS[method]
    return method


def choose_method(
    method: str, *, steps: int | None, training: bool, xla: bool, has_runner: bool, per_step: bool = False
) -> tuple[str, bool]:
    """The method to run and whether to project every step's input before the loop ("hoist").

    ``method="auto"`` picks what `benchmarks.lstm_speed` measured fastest on
    CPU: under XLA, training a short sequence of known length (`steps`), the
    hand-written backward pass (when the cell has one; it then runs unrolled,
    see `tf_lstm.manual_backward`), else a while loop (hoisting the projection for
    training but not for inference, where XLA runs the hoisted form
    slower); without XLA the unrolled graph for short sequences of known
    length (hoisting for inference only), and the hand-written backward
    pass or a while loop for the rest.
    ``"manual_backward"`` only changes gradients: outside training it runs as
    ``"while"``, whose graph (unlike the custom gradient's) can be saved.
    `per_step` (values collected or states probed, as `tf_lstm.trace`
    does) needs a loop: the runner returns neither, so it is not used.
    The runner projects its inputs itself, a chunk at a time. Where the
    projection is not hoisted for inference, `tf_lstm.Recurrent` runs one
    matmul a step over ``[x_t, h]`` (`tf_lstm.Cell.fuses_input_matmul`).

    >>> choose_method("auto", steps=28, training=True, xla=False, has_runner=True)
    ('unroll', False)
    >>> choose_method("auto", steps=None, training=True, xla=False, has_runner=True)
    ('manual_backward', False)
    >>> choose_method("auto", steps=28, training=True, xla=True, has_runner=True)
    ('manual_backward', False)
    >>> choose_method("manual_backward", steps=28, training=True, xla=True, has_runner=True, per_step=True)
    ('while', True)
    """
    has_runner = has_runner and not per_step
    if method == "manual_backward":
        return ("manual_backward", False) if training and has_runner else ("while", True)
    if method != "auto":
        return method, True
    short = steps is not None and steps <= UNROLL_MAX_STEPS
    if xla:
        if training and short and has_runner:
            return "manual_backward", False
        return "while", bool(training)
    if short:
        # Training: every step projects its own input, so those matmuls and their gradients run beside the
        # recurrent chain instead of before and after it, which is faster for short sequences
        # (benchmarks.lstm_speed).
        return "unroll", not training
    if training and has_runner:
        return "manual_backward", False
    return "while", True


def scan_rnn(
    step: Step,
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
    collect: Mapping[str, int | str] | None = None,
) -> tuple[tf.Tensor | None, Carry, dict[str, tf.Tensor]]:
    """Runs `step` over the time axis of `inputs`.

    Masked steps carry the state through unchanged (`tf_lstm.steps.keep_where`).

    Args:
        step: ``(carry, x_t) -> (new_carry, values)``; ``new_carry[0]`` is
            the step's output, ``values`` a mapping of named per-step tensors.
        inputs: ``[batch, time, ...]`` (``[time, batch, ...]`` if
            `time_major`), the per-step inputs of `step`.
        initial_carry: tensors of shape ``[batch, ...]``.
        mask: boolean ``[batch, time]`` (``[time, batch]`` if `time_major`);
            False marks padding.
        go_backwards: process the sequence from its end; outputs come in
            processing order, as in Keras.
        time_major: layout of `inputs`, `mask` and the returned sequences.
        zero_output_for_mask: output zeros (rather than the carried state)
            at masked steps, as `keras.layers.Bidirectional` asks.
        return_sequences: also return every step's output; otherwise the
            first element returned is None.
        method: ``"scan"``, ``"while"``, ``"unroll"`` or ``"manual_backward"`` (see the module).
        runner: for ``"manual_backward"``: ``(time-major inputs, time-major mask or None,
            initial_carry, return_sequences=…) -> (outputs or None, final_carry)``.
        collect: what else to return for every step, by name: an int names
            the carry's element at that index (after masking, so a masked step
            shows the carried state), a string one of the step's values (as
            the step computed them). Not with ``"manual_backward"``.

    Returns:
        ``(outputs, final_carry, collected)``: outputs are ``carry[0]`` of
        every step, collected maps each name of `collect` to its values of
        every step, both in the layout of `inputs`.

    The counting article's RNN with both weights at 1, a running sum:

    >>> def count(carry, x_t):
    ...     (s,) = carry
    ...     return (s + x_t,), {"x": x_t}
    >>> ones_and_zeros = tf.constant([[[1.0], [0.0], [1.0]]])  # [batch 1, time 3, features 1]
    >>> outputs, (s,), seen = scan_rnn(count, ones_and_zeros, (tf.zeros([1, 1]),), collect={"x": "x"})
    >>> outputs.numpy().ravel().tolist(), float(s[0, 0]), seen["x"].numpy().ravel().tolist()
    ([1.0, 1.0, 2.0], 2.0, [1.0, 0.0, 1.0])
    """
    method = method_name(method)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got method={method!r}.")
    collect = dict(collect or {})
    initial_carry = tuple(initial_carry)
    if not time_major:
        inputs = tf.transpose(inputs, [1, 0, *range(2, inputs.shape.rank)])
        if mask is not None:
            mask = tf.transpose(mask)
    if go_backwards:
        inputs = tf.reverse(inputs, [0])
        if mask is not None:
            mask = tf.reverse(mask, [0])

    if method == "manual_backward":
        if runner is None:
            raise ValueError("method='manual_backward' needs a runner (a whole-sequence function).")
        if collect:
            raise ValueError(f"method='manual_backward' cannot collect per-step values, got collect={collect!r}.")
        outputs, final_carry = runner(inputs, mask, initial_carry, return_sequences=return_sequences)
        return _finish(outputs, tuple(final_carry), {}, mask, zero_output_for_mask, time_major)

    def collecting_step(carry, elems):
        x_t, keep = elems if mask is not None else (elems, None)
        new_carry, values = step(carry, x_t)
        new_carry = tuple(new_carry)
        if keep is not None:
            new_carry = tuple(keep_where(keep, new, old) for new, old in zip(new_carry, carry))
        wanted = {name: new_carry[key] if isinstance(key, int) else values[key] for name, key in collect.items()}
        return new_carry, wanted

    elems = (inputs, mask) if mask is not None else inputs
    run = {"scan": _run_scan, "while": _run_while, "unroll": _run_unrolled}[method]
    outputs, final_carry, collected = run(
        collecting_step, elems, inputs.shape[0], initial_carry, return_sequences, bool(collect)
    )
    return _finish(outputs, final_carry, collected, mask, zero_output_for_mask, time_major)


def _finish(outputs, final_carry, collected, mask, zero_output_for_mask, time_major):
    """Zeroes masked outputs if asked, and puts the sequences back in the caller's layout."""
    if outputs is not None and mask is not None and zero_output_for_mask:
        outputs = tf.where(mask[:, :, None], outputs, tf.zeros_like(outputs))
    if not time_major:
        outputs = None if outputs is None else _swap_batch_and_time(outputs)
        collected = {name: _swap_batch_and_time(v) for name, v in collected.items()}
    return outputs, tuple(final_carry), collected


def _swap_batch_and_time(tensor):
    return tf.transpose(tensor, [1, 0, *range(2, tensor.shape.rank)])


def _probe(step, elems, initial_carry, collecting):
    """The collected values of a step on zero inputs (for their shapes and dtypes), or {} if none are."""
    if not collecting:
        return {}
    zeros = [tf.zeros(tf.shape(e)[1:], e.dtype) for e in tf.nest.flatten(elems)]
    return step(initial_carry, tf.nest.pack_sequence_as(elems, zeros))[1]


def _run_scan(step, elems, steps, initial_carry, return_sequences, collecting):
    # tf.scan stacks all it carries: the collected values ride along with the
    # carry, from an initializer shaped like them.
    zeros = {name: tf.zeros_like(v) for name, v in _probe(step, elems, initial_carry, collecting).items()}
    stacked_carry, stacked_values = tf.scan(
        lambda state, x_t: step(state[0], x_t), elems, initializer=(initial_carry, zeros)
    )
    if steps is not None:
        final = initial_carry if steps == 0 else tuple(s[-1] for s in stacked_carry)
    else:
        final = tf.cond(
            tf.shape(tf.nest.flatten(elems)[0])[0] > 0,
            lambda: tuple(s[-1] for s in stacked_carry),
            lambda: initial_carry,
        )
    return (stacked_carry[0] if return_sequences else None), final, dict(stacked_values)


def _run_while(step, elems, steps, initial_carry, return_sequences, collecting):
    del steps  # read at run time: the while loop takes sequences of any length
    flat = tf.nest.flatten(elems)
    length = tf.shape(flat[0])[0]
    readers = [tf.TensorArray(e.dtype, size=length, element_shape=e.shape[1:]).unstack(e) for e in flat]
    probe = _probe(step, elems, initial_carry, collecting)
    values = {name: tf.TensorArray(v.dtype, size=length, element_shape=v.shape) for name, v in probe.items()}
    outputs = tf.TensorArray(
        initial_carry[0].dtype, size=length if return_sequences else 0, element_shape=initial_carry[0].shape
    )

    def body(t, carry, outputs, values):
        x_t = tf.nest.pack_sequence_as(elems, [r.read(t) for r in readers])
        carry, wanted = step(carry, x_t)
        if return_sequences:
            outputs = outputs.write(t, carry[0])
        return t + 1, carry, outputs, {name: values[name].write(t, wanted[name]) for name in values}

    _, final, outputs, values = tf.while_loop(
        lambda t, *_: t < length,
        body,
        (tf.constant(0), initial_carry, outputs, values),
        maximum_iterations=length,
    )
    return (outputs.stack() if return_sequences else None), final, {name: v.stack() for name, v in values.items()}


def _run_unrolled(step, elems, steps, initial_carry, return_sequences, collecting):
    if steps is None:
        raise ValueError(
            "method='unroll' needs the number of time steps to be known when the graph "
            f"is built; got inputs with shape {tuple(tf.nest.flatten(elems)[0].shape)}."
        )
    # One unstack, not a slice per step: the gradient of T slices would be T
    # full-size scatters, that of one unstack is a single stack.
    per_step = [tf.unstack(e, num=steps) for e in tf.nest.flatten(elems)]
    carry, outputs, values = initial_carry, [], []
    for t in range(steps):
        carry, wanted = step(carry, tf.nest.pack_sequence_as(elems, [e[t] for e in per_step]))
        outputs.append(carry[0])
        values.append(wanted)
    if not outputs:
        empty = tf.zeros([0, *initial_carry[0].shape.as_list()], initial_carry[0].dtype)
        probe = _probe(step, elems, initial_carry, collecting)
        return (empty if return_sequences else None), carry, {k: tf.zeros_like(v)[None][:0] for k, v in probe.items()}
    collected = {name: tf.stack([v[name] for v in values]) for name in values[0]}
    return (tf.stack(outputs) if return_sequences else None), carry, collected
