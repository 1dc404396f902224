"""The LSTM over a whole sequence with a hand-written backward pass (BPTT).

Autodiff through a loop differentiates every step on its own: per step, the
backward pass multiplies by the recurrent kernel *and* accumulates that
kernel's gradient with a small matmul. Written out by hand, the per-step
work shrinks to the one matmul that carries the gradient back in time,
``dh_{t−1} = dz_t·W_hᵀ``; the kernel's gradient is one large matmul after
the loop, ``dW_h = Σ_t h_{t−1}ᵀ·dz_t = H_prevᵀ·DZ``, and the gradient of the
input projection is ``DZ`` itself (the matmul ``x·W_x`` outside the loop gets
its gradient from autodiff, again as one large matmul). cuDNN's LSTM is built
the same way.

With ``z = x·W_x + b + h·W_h`` split into gates and

    i = σ(z_i), f = σ(z_f + forget_bias), g = tanh(z_g), o = σ(z_o)
    c_t = f·c_{t−1} + i·g,   s = act(c_t),   h_t = o·s

the backward step, given dh = ∂L/∂h_t and dc = ∂L/∂c_t from later steps:

    dc += dh·o·act'(c_t)                      act' = 1 − s² (tanh) or 1
    dz_o = dh·s·o(1−o)      dz_i = dc·g·i(1−i)
    dz_g = dc·i·(1−g²)      dz_f = dc·c_{t−1}·f(1−f)
    dc_{t−1} = dc·f         dh_{t−1} = dz·W_hᵀ

and a masked step passes dh and dc through untouched with dz = 0.
"""

from __future__ import annotations

import tensorflow as tf


def lstm_sequence(
    projected: tf.Tensor,
    mask: tf.Tensor | None,
    initial_carry: tuple[tf.Tensor, tf.Tensor],
    *,
    recurrent_kernel: tf.Tensor,
    gate_positions: dict[str, int],
    forget_bias: float = 0.0,
    tanh_cell: bool = True,
    recurrent_dropout_mask: tf.Tensor | None = None,
):
    """Runs the LSTM over time-major `projected` ``[T, B, 4U]`` (``x·W_x + b``).

    Args:
        projected: the input projection of every step, time-major.
        recurrent_kernel: ``[U, 4U]``, blocks in the order of `gate_positions`.
        initial_carry: ``(h0, c0)``, each ``[B, U]``.
        mask: boolean ``[T, B]``; False carries the state through.
        gate_positions: block index of ``"i"``, ``"f"``, ``"g"``, ``"o"``.
        forget_bias: added to the forget gate's pre-activation.
        tanh_cell: whether h = o·tanh(c) (else h = o·c, article C).
        recurrent_dropout_mask: ``[B, U]``, multiplies h before ``·W_h``.

    Returns:
        ``(outputs [T, B, U], (h_T, c_T))``, with gradients for `projected`,
        `recurrent_kernel` and the initial carry.
    """
    h0, c0 = initial_carry
    order = [gate_positions[k] for k in "ifgo"]  # block index of i, f, g, o
    inverse = sorted(range(4), key=lambda k: order[k])  # gate (in ifgo) of each block
    dropout = recurrent_dropout_mask
    has_mask = mask is not None
    mask_in = mask if has_mask else tf.zeros([0], tf.bool)

    def activations(z):
        blocks = tf.split(z, 4, axis=-1)
        i, f, g, o = (blocks[p] for p in order)
        if forget_bias:
            f = f + tf.cast(forget_bias, f.dtype)
        return tf.sigmoid(i), tf.sigmoid(f), tf.tanh(g), tf.sigmoid(o)

    # Both loops read their per-step inputs as slices of the whole tensors
    # (x[t]), not through TensorArrays: unstacking a tensor into a TensorArray
    # copies all of it, and the backward pass would make four such copies.
    @tf.custom_gradient
    def run(projected, recurrent_kernel, h0, c0):
        steps = tf.shape(projected)[0]
        spec = dict(dtype=projected.dtype, size=steps)
        hs, cs, gs = (tf.TensorArray(element_shape=s, **spec) for s in (h0.shape, c0.shape, projected.shape[1:]))

        def body(t, h, c, hs, cs, gs):
            h_in = h if dropout is None else h * dropout
            i, f, g, o = activations(projected[t] + tf.matmul(h_in, recurrent_kernel))
            c_new = f * c + i * g
            h_new = o * (tf.tanh(c_new) if tanh_cell else c_new)
            if has_mask:
                keep = mask_in[t][:, None]
                c_new = tf.where(keep, c_new, c)
                h_new = tf.where(keep, h_new, h)
            gates = tf.concat([(i, f, g, o)[k] for k in inverse], axis=-1)  # stored in the kernel's block order
            return t + 1, h_new, c_new, hs.write(t, h_new), cs.write(t, c_new), gs.write(t, gates)

        _, h_last, c_last, hs, cs, gs = tf.while_loop(
            lambda t, *_: t < steps, body, (tf.constant(0), h0, c0, hs, cs, gs), maximum_iterations=steps
        )
        outputs, cells, gate_values = hs.stack(), cs.stack(), gs.stack()

        def grad(d_outputs, d_h_last, d_c_last):
            dh = tf.zeros_like(h0) if d_h_last is None else d_h_last
            dc = tf.zeros_like(c0) if d_c_last is None else d_c_last
            dz_out = tf.TensorArray(gate_values.dtype, size=steps, element_shape=gate_values.shape[1:])
            kernel_t = tf.transpose(recurrent_kernel)

            def back(t, dh, dc, dz_out):
                if d_outputs is not None:  # None when only the last state is used
                    dh = dh + d_outputs[t]
                blocks = tf.split(gate_values[t], 4, axis=-1)
                i, f, g, o = (blocks[p] for p in order)
                c_t = cells[t]
                c_prev = tf.where(t > 0, cells[tf.maximum(t - 1, 0)], c0)
                s = tf.tanh(c_t) if tanh_cell else c_t
                dc_new = dc + (dh * o * (1.0 - s * s) if tanh_cell else dh * o)
                dz = [None] * 4
                dz[order[0]] = dc_new * g * i * (1.0 - i)
                dz[order[1]] = dc_new * c_prev * f * (1.0 - f)
                dz[order[2]] = dc_new * i * (1.0 - g * g)
                dz[order[3]] = dh * s * o * (1.0 - o)
                dz = tf.concat(dz, axis=-1)
                dh_prev = tf.matmul(dz, kernel_t)
                if dropout is not None:
                    dh_prev = dh_prev * dropout
                dc_prev = dc_new * f
                if has_mask:
                    keep = mask_in[t][:, None]
                    dz = tf.where(keep, dz, tf.zeros_like(dz))
                    dh_prev = tf.where(keep, dh_prev, dh)
                    dc_prev = tf.where(keep, dc_prev, dc)
                return t - 1, dh_prev, dc_prev, dz_out.write(t, dz)

            _, dh0, dc0, dz_out = tf.while_loop(
                lambda t, *_: t >= 0, back, (steps - 1, dh, dc, dz_out), maximum_iterations=steps
            )
            dz_all = dz_out.stack()
            # dW_h = Σ_t h_{t−1}ᵀ·dz_t, as h0ᵀ·dz_0 plus one matmul over steps 1…T−1
            # (no concatenated copy of [h0, h_1 … h_{T−1}]).
            units = tf.shape(h0)[-1]
            h_prev, dz_rest = outputs[:-1], dz_all[1:]
            if dropout is not None:
                h_prev, first = h_prev * dropout, h0 * dropout
            else:
                first = h0
            d_kernel = tf.matmul(first, dz_all[0], transpose_a=True) + tf.matmul(
                tf.reshape(h_prev, [-1, units]), tf.reshape(dz_rest, [-1, 4 * units]), transpose_a=True)
            return dz_all, d_kernel, dh0, dc0

        return (outputs, h_last, c_last), grad

    outputs, h_last, c_last = run(projected, recurrent_kernel, h0, c0)
    return outputs, (h_last, c_last)
