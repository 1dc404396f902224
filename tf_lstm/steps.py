"""Step functions: one time step of a recurrence, as a pure function.

Each step maps ``(carry, x_t) -> new_carry``; the carry is a tuple whose first
element is the step's output (``h`` for the LSTM, ``s`` for the linear RNN).
``x_t`` is the step's share of the input projection ``x·W_x + b``, already
computed for all steps at once by the scan driver, so a step only adds the
recurrent term. The weights and options are keyword arguments, bound with
`functools.partial` before the scan.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf


def lstm_gates(
    h: tf.Tensor,
    projected_t: tf.Tensor,
    *,
    recurrent_kernel: tf.Tensor,
    gate_positions: dict[str, int],
    forget_bias: float = 0.0,
) -> dict[str, tf.Tensor]:
    """The four gate activations of one LSTM step.

        z = x_t·W_x + b + h·W_h          (x_t·W_x + b arrives as `projected_t`)
        i = σ(z_i)   f = σ(z_f + forget_bias)   g = tanh(z_g)   o = σ(z_o)

    Returns:
        ``{"i": i, "f": f, "g": g, "o": o}``, each ``[batch, units]``.
    """
    z = projected_t + tf.matmul(h, recurrent_kernel)
    blocks = tf.split(z, 4, axis=-1)
    forget = blocks[gate_positions["f"]]
    if forget_bias:
        forget = forget + tf.cast(forget_bias, forget.dtype)
    return {
        "i": tf.sigmoid(blocks[gate_positions["i"]]),
        "f": tf.sigmoid(forget),
        "g": tf.tanh(blocks[gate_positions["g"]]),
        "o": tf.sigmoid(blocks[gate_positions["o"]]),
    }


def lstm_step(
    carry: tuple[tf.Tensor, tf.Tensor],
    projected_t: tf.Tensor,
    *,
    recurrent_kernel: tf.Tensor,
    gate_positions: dict[str, int],
    forget_bias: float = 0.0,
    cell_activation: Callable[[tf.Tensor], tf.Tensor] | None = tf.tanh,
    recurrent_dropout_mask: tf.Tensor | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """One LSTM step; every article's cell is a configuration of it.

        i, f, g, o = lstm_gates(h, x_t·W_x + b)
        c' = f⊙c + i⊙g
        h' = o⊙act(c')                   (act = tanh, or identity in article C)

    Args:
        carry: ``(h, c)``, each ``[batch, units]``.
        projected_t: ``[batch, 4·units]``, the input projection of this step.
        recurrent_kernel: ``[units, 4·units]``.
        gate_positions: block index of each of ``"i"``, ``"f"``, ``"g"``,
            ``"o"`` (from `tf_lstm.gates.gate_positions`).
        forget_bias: added to the forget gate's pre-activation (TF1's
            ``BasicLSTMCell`` uses 1.0).
        cell_activation: applied to ``c'`` before the output gate; ``None``
            drops it.
        recurrent_dropout_mask: multiplies ``h`` before the recurrent matmul.

    Returns:
        The new carry ``(h', c')``.
    """
    h, c = carry
    h_in = h if recurrent_dropout_mask is None else h * recurrent_dropout_mask
    gate = lstm_gates(
        h_in, projected_t, recurrent_kernel=recurrent_kernel, gate_positions=gate_positions, forget_bias=forget_bias
    )
    c_new = gate["f"] * c + gate["i"] * gate["g"]
    squashed = c_new if cell_activation is None else cell_activation(c_new)
    return gate["o"] * squashed, c_new


def linear_rnn_step(
    carry: tuple[tf.Tensor],
    projected_t: tf.Tensor,
    *,
    recurrent_kernel: tf.Tensor,
    activation: Callable[[tf.Tensor], tf.Tensor] | None = None,
    recurrent_dropout_mask: tf.Tensor | None = None,
) -> tuple[tf.Tensor]:
    """One step of the linear (or Elman, with `activation`) RNN of article B.

        s' = act(x_t·W_x + b + s·W_rec)   (act = identity in the article)
    """
    (s,) = carry
    s_in = s if recurrent_dropout_mask is None else s * recurrent_dropout_mask
    s_new = projected_t + tf.matmul(s_in, recurrent_kernel)
    if activation is not None:
        s_new = activation(s_new)
    return (s_new,)
