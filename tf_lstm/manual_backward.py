"""The LSTM over a whole sequence with a hand-written backward pass (BPTT).

Autodiff through a loop differentiates every step on its own: per step, the
backward pass multiplies by the recurrent kernel *and* accumulates that
kernel's gradient with a small matmul, and it keeps every intermediate of
every step alive until the backward pass reaches it. Written out by hand, the
per-step work shrinks to the one matmul that carries the gradient back in
time, ``dh_{t−1} = dz_t·W_hᵀ``; everything else is done a chunk of steps at a
time, as large matmuls and elementwise ops over ``[chunk, batch, ·]``.

Memory. The forward pass keeps only ``h`` and ``c`` of every step
(``2·units`` numbers per step and sequence), not the ``4·units`` gate values
nor the input projection ``x·W_x + b``: the backward pass recomputes a
chunk's gates from the stored ``h_{t−1}`` with two matmuls over the whole
chunk, ``X·W_x + H_prev·W_h`` (cheap next to the per-step matmuls, which are
too small to use the machine well), and the
input projection of the forward pass is likewise made a chunk at a time. So
no tensor of ``[time, batch, 4·units]`` ever exists; Keras' LSTM keeps
about ``8·units + features`` numbers per step for its autodiff.

With ``z = x·W_x + b + h·W_h`` split into gates and

    i = σ(z_i), f = σ(z_f + forget_bias), g = tanh(z_g), o = σ(z_o)
    c_t = f·c_{t−1} + i·g,   s = act(c_t),   h_t = o·s

the backward step, given dh = ∂L/∂h_t and dc = ∂L/∂c_t from later steps:

    dc += dh·o·act'(c_t)                      act' = 1 − s² (tanh) or 1
    dz_o = dh·s·o(1−o)      dz_i = dc·g·i(1−i)
    dz_g = dc·i·(1−g²)      dz_f = dc·c_{t−1}·f(1−f)
    dc_{t−1} = dc·f         dh_{t−1} = dz·W_hᵀ

Every factor that multiplies dh or dc above depends on the forward values
only, so a chunk's factors are computed at once before its steps run; a
masked step has zero factors (dz = 0) and passes dh and dc through. After a
chunk: ``dx = DZ·W_xᵀ``, ``dW_x += Xᵀ·DZ``, ``dW_h += H_prevᵀ·DZ``,
``db += Σ DZ``. cuDNN's LSTM is built the same way.

Under XLA, a short sequence (its length known when the graph is built, at
most `tf_lstm.scan.UNROLL_MAX_STEPS`) is one chunk whose steps are a Python
loop, one graph node per step, and its forward pass keeps every step's ``z``
(``[T, B, 4·units]``, what autodiff would keep too) so that the backward pass
needs no recomputing matmul. That is the fastest training step measured for
MNIST's and the digits' shapes (`benchmarks.lstm_speed`): autodiff's backward
pass through XLA's loop runs twice as many small matmuls in series as this
one, and while loops inside this custom gradient compile to a slow step under
XLA. Without XLA the chunked loop stays, the memory-lean way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import tensorflow as tf

from tf_lstm import checks
from tf_lstm.scan import UNROLL_MAX_STEPS, in_xla_context
from tf_lstm.steps import Weights, dropped, gate_activations, keep_where, lstm_step, project

# Rows (steps × batch) per chunk: enough for a chunk's matmuls to run near the
# machine's peak, few enough that its [chunk, batch, 4·units] buffers stay
# near a megabyte each.
CHUNK_ROWS = 512
# Chunks in flight at once. The work of a chunk that does not wait for the
# carried state (its projection and gate factors) can start while the
# previous chunk's steps run: two at a time keep both cores of a small
# machine busy, while TensorFlow's default of ten would hold ten chunks'
# buffers at once for no more speed (benchmarks.lstm_speed's memory column).
OUTER_PARALLEL = 2


@dataclasses.dataclass(frozen=True)
class _Options:
    """What stays fixed over a run: the cell's options, the mask and the chunking."""

    gate_positions: Mapping[str, int]
    forget_bias: float
    tanh_cell: bool
    recurrent_dropout_mask: tf.Tensor | None  # [B, U]
    mask: tf.Tensor | None  # [T, B] booleans
    chunk_steps: int | tf.Tensor
    single_chunk: bool  # the whole sequence as one chunk, no loop over chunks
    return_sequences: bool
    unroll: bool  # a short sequence under XLA: one chunk, its steps a Python loop, z kept for the backward pass


def lstm_sequence(
    inputs: tf.Tensor,
    mask: tf.Tensor | None,
    initial_carry: tuple[tf.Tensor, tf.Tensor],
    *,
    kernel: tf.Tensor,
    bias: tf.Tensor | None,
    recurrent_kernel: tf.Tensor,
    gate_positions: Mapping[str, int],
    forget_bias: float = 0.0,
    tanh_cell: bool = True,
    recurrent_dropout_mask: tf.Tensor | None = None,
    return_sequences: bool = True,
    chunk_steps: int | None = None,
):
    """Runs the LSTM over time-major `inputs` ``[T, B, F]``.

    Args:
        inputs: the raw inputs x of every step, time-major.
        mask: boolean ``[T, B]``; False carries the state through.
        initial_carry: ``(h0, c0)``, each ``[B, U]``.
        kernel: ``W_x``, ``[F, 4U]``; bias: ``[4U]`` or None;
        recurrent_kernel: ``W_h``, ``[U, 4U]``; blocks in the order of
            `gate_positions` (block index of ``"i"``, ``"f"``, ``"g"``, ``"o"``).
        forget_bias: added to the forget gate's pre-activation.
        tanh_cell: whether h = o·tanh(c) (else h = o·c, article C).
        recurrent_dropout_mask: ``[B, U]``, multiplies h before ``·W_h``.
        return_sequences: return the outputs of every step (else None).
        chunk_steps: steps per chunk; None: ``CHUNK_ROWS // batch``, at least 1.

    Returns:
        ``(outputs [T, B, U] or None, (h_T, c_T))``, with gradients for `inputs`, the
        three weights and the initial carry.
    """
    if chunk_steps is None:
        batch = inputs.shape[1]
        chunk_steps = max(1, CHUNK_ROWS // batch) if batch else tf.maximum(1, CHUNK_ROWS // tf.shape(inputs)[1])
    else:
        checks.positive_int("chunk_steps", chunk_steps)
    static_steps = inputs.shape[0]
    unroll = in_xla_context() and static_steps is not None and 0 < static_steps <= UNROLL_MAX_STEPS
    opts = _Options(
        gate_positions=gate_positions,
        forget_bias=forget_bias,
        tanh_cell=tanh_cell,
        recurrent_dropout_mask=recurrent_dropout_mask,
        mask=mask,
        chunk_steps=chunk_steps,
        # XLA needs static shapes: no loop over chunks there, nor for a sequence that fits in one.
        single_chunk=unroll
        or in_xla_context()
        or (static_steps is not None and isinstance(chunk_steps, int) and static_steps <= chunk_steps),
        return_sequences=return_sequences,
        unroll=unroll,
    )
    if bias is None:
        bias = tf.zeros([recurrent_kernel.shape[-1]], recurrent_kernel.dtype)

    @tf.custom_gradient
    def run(x, kernel, bias, recurrent_kernel, h0, c0):
        weights = Weights(kernel=kernel, recurrent_kernel=recurrent_kernel, bias=bias)
        outputs, cells, pre_activations, h_last, c_last = _forward(opts, weights, x, h0, c0)

        def grad(*d_results):
            d_outputs, d_h_last, d_c_last = d_results if return_sequences else (None, *d_results)
            stored = (outputs, cells, pre_activations)
            return _backward(opts, weights, x, (h0, c0), stored, d_outputs, d_h_last, d_c_last)

        # Without return_sequences the outputs stay inside: returned, they would
        # get a gradient of zeros, [T, B, U] of them added step by step.
        results = (outputs, h_last, c_last) if return_sequences else (h_last, c_last)
        return results, grad

    results = run(inputs, kernel, bias, recurrent_kernel, *initial_carry)
    if not return_sequences:
        return None, tuple(results)
    outputs, h_last, c_last = results
    return outputs, (h_last, c_last)


def _forward(opts: _Options, w: Weights, x, h0, c0):
    """``(h of every step [T, B, U], c of every step, z of every step or None, h_T, c_T)``, a chunk at a time.

    z (``[T, B, 4U]``) is kept for a short sequence only (`_Options.unroll`).
    """
    steps = _steps(x)
    if opts.unroll:
        hs, cs, zs = [], [], []
        h, c = h0, c0
        for t, z_in in enumerate(tf.unstack(project(x, w.kernel, w.bias), num=steps)):
            z, h, c = _step(opts, w, z_in, h, c, t)
            hs.append(h)
            cs.append(c)
            zs.append(z)
        return tf.stack(hs), tf.stack(cs), tf.stack(zs), h, c
    spec = dict(dtype=x.dtype, size=steps)
    hs, cs = (tf.TensorArray(element_shape=s, **spec) for s in (h0.shape, c0.shape))
    if opts.single_chunk:
        h_last, c_last, hs, cs = _forward_chunk(opts, w, x, 0, steps, h0, c0, hs, cs)
    else:
        count = _chunk_count(opts, steps)
        _, h_last, c_last, hs, cs = tf.while_loop(
            lambda k, *_: k < count,
            lambda k, *state: (
                k + 1,
                *_forward_chunk(opts, w, x, *_chunk_bounds(opts, k, count, steps), *state),
            ),
            (tf.constant(0), h0, c0, hs, cs),
            maximum_iterations=count,
            parallel_iterations=OUTER_PARALLEL,
        )
    outputs = _stack(hs, steps, tf.shape(h0), h0.dtype)
    cells = _stack(cs, steps, tf.shape(c0), c0.dtype)
    return outputs, cells, None, h_last, c_last


def _forward_chunk(opts: _Options, w: Weights, x, start, length, h, c, hs, cs):
    z_in = project(_window(x, start, length), w.kernel, w.bias)

    def body(j, h, c, hs, cs):
        t = start + j
        _, h, c = _step(opts, w, z_in[j], h, c, t)
        return j + 1, h, c, hs.write(t, h), cs.write(t, c)

    _, h, c, hs, cs = tf.while_loop(
        lambda j, *_: j < length, body, (tf.constant(0), h, c, hs, cs), maximum_iterations=length
    )
    return h, c, hs, cs


def _step(opts: _Options, w: Weights, z_in, h, c, t):
    """``(z, h_t, c_t)`` of step `t`, given its input projection `z_in` and the previous state (`lstm_step`)."""
    (h_new, c_new), values = lstm_step(
        (h, c),
        z_in,
        recurrent_kernel=w.recurrent_kernel,
        gate_positions=opts.gate_positions,
        forget_bias=opts.forget_bias,
        cell_activation=tf.tanh if opts.tanh_cell else None,
        recurrent_dropout_mask=opts.recurrent_dropout_mask,
    )
    if opts.mask is not None:
        c_new = keep_where(opts.mask[t], c_new, c)
        h_new = keep_where(opts.mask[t], h_new, h)
    return values["z"], h_new, c_new


def _backward(opts: _Options, w: Weights, x, initial, stored, d_outputs, d_h_last, d_c_last):
    """The gradients ``(dx, dW_x, db, dW_h, dh0, dc0)``, a chunk at a time from the end."""
    h0, c0 = initial
    dh = tf.zeros_like(h0) if d_h_last is None else d_h_last
    dc = tf.zeros_like(c0) if d_c_last is None else d_c_last
    state = (dh, dc, tf.zeros_like(w.kernel), tf.zeros_like(w.bias), tf.zeros_like(w.recurrent_kernel))
    steps = _steps(x)

    def chunk(start, length, *state):
        return _backward_chunk(opts, w, x, initial, stored, d_outputs, start, length, *state)

    if opts.single_chunk:
        dx, state = chunk(0, steps, *state)
    else:
        count = _chunk_count(opts, steps)

        def chunk_body(k, dxs, state):
            dx_c, state = chunk(*_chunk_bounds(opts, k, count, steps), *state)
            return k - 1, dxs.write(k, dx_c), state

        dxs = tf.TensorArray(
            x.dtype, size=count, infer_shape=False, element_shape=tf.TensorShape([None]).concatenate(x.shape[1:])
        )
        _, dxs, state = tf.while_loop(
            lambda k, *_: k >= 0,
            chunk_body,
            (count - 1, dxs, state),
            maximum_iterations=count,
            parallel_iterations=OUTER_PARALLEL,
        )
        dx = _stack(dxs, count, tf.shape(x)[1:], x.dtype, concat=True)
    dh0, dc0, d_kernel, d_bias, d_recurrent = state
    return dx, d_kernel, d_bias, d_recurrent, dh0, dc0


def _slopes(opts: _Options, z, c, c_prev):
    """``(factors, ∂h/∂c through tanh, f)`` of a chunk's steps: ``factors`` is ∂z/∂(dc or dh) of each gate block,
    side by side in the kernel's block order."""
    i, f, g, o = gate_activations(z, opts.gate_positions, opts.forget_bias)
    s = tf.tanh(c) if opts.tanh_cell else c
    from_h_to_c = o * (1.0 - s * s) if opts.tanh_cell else o
    by_gate = {"i": g * i * (1.0 - i), "f": c_prev * f * (1.0 - f), "g": i * (1.0 - g * g), "o": s * o * (1.0 - o)}
    blocks = sorted(by_gate, key=opts.gate_positions.__getitem__)
    return tf.concat([by_gate[gate] for gate in blocks], axis=-1), from_h_to_c, f


def _backward_steps(back_step, length, dh, dc, *, unroll: bool, like):
    """Runs `back_step` from the chunk's last step to its first: ``(dh, dc, dz of every step [length·batch, ·])``,
    by a Python loop (`unroll`) or a while loop; `like`: a ``[length, batch, ·]`` tensor of dz's shape and dtype."""
    if unroll:
        dz_steps = [None] * length
        for j in reversed(range(length)):
            dh, dc, dz_steps[j] = back_step(j, dh, dc)
        return dh, dc, tf.concat(dz_steps, axis=0)

    def body(j, dh, dc, dzs):
        dh, dc, dz = back_step(j, dh, dc)
        return j - 1, dh, dc, dzs.write(j, dz)

    dzs = tf.TensorArray(like.dtype, size=length, element_shape=like.shape[1:])
    _, dh, dc, dzs = tf.while_loop(lambda j, *_: j >= 0, body, (length - 1, dh, dc, dzs), maximum_iterations=length)
    return dh, dc, tf.reshape(_stack(dzs, length, tf.shape(like)[1:], like.dtype), [-1, tf.shape(like)[-1]])


def _backward_chunk(
    opts: _Options, w: Weights, x, initial, stored, d_outputs, start, length, dh, dc, d_kernel, d_bias, d_recurrent
):
    """One chunk's backward steps, from its last; then its matmuls for dx and the weights' gradients."""
    (h0, c0), (outputs, cells, pre_activations) = initial, stored
    order = [opts.gate_positions[k] for k in "ifgo"]  # block index of i, f, g, o
    x_c = _window(x, start, length)
    # h_{t−1} and c_{t−1} of the chunk's steps: the stored states shifted by one.
    h_prev = _shifted(outputs, h0, start, length)
    c_prev = _shifted(cells, c0, start, length)
    h_prev_in = dropped(h_prev, opts.recurrent_dropout_mask)
    if pre_activations is None:
        z = project(x_c, w.kernel, w.bias) + project(h_prev_in, w.recurrent_kernel)
    else:  # a short sequence: one chunk, z kept by the forward pass
        z = pre_activations
    factors, from_h_to_c, f = _slopes(opts, z, _window(cells, start, length), c_prev)
    if opts.mask is not None:
        factors = tf.where(_window(opts.mask, start, length)[:, :, None], factors, tf.zeros_like(factors))
    d_out_c = None if d_outputs is None else _window(d_outputs, start, length)
    recurrent_t = tf.transpose(w.recurrent_kernel)
    per_step: tuple = (d_out_c, from_h_to_c, factors, f)
    if opts.unroll:  # lists of the steps' slices, for the Python loop
        per_step = tuple(None if v is None else tf.unstack(v, num=length) for v in per_step)

    def back_step(j, dh, dc):
        """``(dh_{t−1}, dc_{t−1}, dz_t)`` of the chunk's step `j`."""
        d_out, h_to_c, factor, forget = (None if v is None else v[j] for v in per_step)
        if d_out is not None:  # None when only the last state is used
            dh = dh + d_out
        dc_new = dc + dh * h_to_c
        by_block = [None] * 4
        for gate, p in zip("ifgo", order):
            by_block[p] = dh if gate == "o" else dc_new
        dz = tf.concat(by_block, axis=-1) * factor
        dh_prev = dropped(tf.matmul(dz, recurrent_t), opts.recurrent_dropout_mask)
        dc_prev = dc_new * forget
        if opts.mask is not None:  # a masked step passes dh and dc through
            dh_prev = keep_where(opts.mask[start + j], dh_prev, dh)
            dc_prev = keep_where(opts.mask[start + j], dc_prev, dc)
        return dh_prev, dc_prev, dz

    dh, dc, dz_c = _backward_steps(back_step, length, dh, dc, unroll=opts.unroll, like=factors)
    x_flat = tf.reshape(x_c, [-1, tf.shape(x_c)[-1]])
    h_flat = tf.reshape(h_prev_in, [-1, tf.shape(h_prev_in)[-1]])
    dx_c = tf.reshape(tf.matmul(dz_c, tf.transpose(w.kernel)), tf.shape(x_c))
    return dx_c, (
        dh,
        dc,
        d_kernel + tf.matmul(x_flat, dz_c, transpose_a=True),
        d_bias + tf.reduce_sum(dz_c, axis=0),
        d_recurrent + tf.matmul(h_flat, dz_c, transpose_a=True),
    )


def _steps(x):
    return x.shape[0] if x.shape[0] is not None else tf.shape(x)[0]


def _chunk_count(opts: _Options, steps):
    return (steps + opts.chunk_steps - 1) // opts.chunk_steps


def _chunk_bounds(opts: _Options, k, count, steps):
    """``(start, length)`` of chunk `k` of `count`: whole chunks from the end, the first one short."""
    end = steps - (count - 1 - k) * opts.chunk_steps
    start = tf.maximum(end - opts.chunk_steps, 0)
    return start, end - start


def _window(tensor, start, length):
    """``tensor[start:start + length]``, as a slice XLA can compile (`length` known to it)."""
    size = tf.concat([[length], tf.shape(tensor)[1:]], 0)
    begin = tf.concat([[start], tf.zeros([tf.rank(tensor) - 1], tf.int32)], 0)
    return tf.slice(tensor, begin, size)


def _shifted(states, initial, start, length):
    """``states[start−1 : start+length−1]``, with `initial` as the state before step 0."""
    if isinstance(start, int) and start == 0:  # the first chunk; `states` may be empty
        before = initial
    else:
        before = tf.where(start > 0, states[tf.maximum(start - 1, 0)], initial)
    rest = _window(states, start, tf.maximum(length - 1, 0))
    return tf.concat([before[None], rest], 0)[:length]


def _stack(array: tf.TensorArray, size, element_shape, dtype, *, concat: bool = False) -> tf.Tensor:
    """``array.stack()`` (or ``concat()``), also when it is empty and its element shape is only known at run time."""
    join = array.concat if concat else array.stack
    empty = lambda: tf.zeros(tf.concat([[0], element_shape], 0), dtype)  # noqa: E731
    if isinstance(size, int):
        return join() if size else empty()
    return tf.cond(size > 0, join, empty)
