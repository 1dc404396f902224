"""The equations of one time step, as pure functions: the only copy of them.

A step maps ``(carry, x_t)`` to ``(new_carry, values)``; the carry is a tuple
whose first element is the step's output (``h`` for the LSTM, ``s`` for the
linear RNN), and ``values`` names what the step computed on the way (the
LSTM's pre-activations and gates), for whoever wants to look inside.
``projected_t`` is the step's share of the input projection ``x·W_x + b``
(`project`: computed for all steps at once before the loop, or in the step,
as `tf_lstm.plan` decides), so a step adds the recurrent term.

`tf_lstm.manual_backward`'s hand-written backward pass runs `lstm_step` forward and
recomputes `gate_activations` backward; `keep_where` is how every method
carries a masked step's state through, and `dropped` how every step applies
recurrent dropout. `Weights` is the one type of a layer's weights in a call,
and `Carry` the one type of a step's state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import tensorflow as tf

Activation = Callable[[tf.Tensor], tf.Tensor]
Carry = tuple[tf.Tensor, ...]  # a step's state; its first element is the step's output


@dataclasses.dataclass(frozen=True)
class Weights:
    """A layer's weights for one call, in its compute dtype: ``W_x`` ``[features, blocks·units]``, ``W_h``
    ``[output size, blocks·units]``, the bias ``[blocks·units]`` or None, and a cell's extra weights by name."""

    kernel: tf.Tensor
    recurrent_kernel: tf.Tensor
    bias: tf.Tensor | None = None
    extra: Mapping[str, tf.Tensor] = dataclasses.field(default_factory=dict)


def dropped(h: tf.Tensor, recurrent_dropout_mask: tf.Tensor | None) -> tf.Tensor:
    """`h` times the recurrent dropout mask (``[batch, size]``), before the recurrent matmul; `h` without one."""
    return h if recurrent_dropout_mask is None else h * recurrent_dropout_mask


def split_gates(
    z: tf.Tensor, gate_positions: Mapping[str, int], forget_bias: float = 0.0
) -> tuple[tf.Tensor | None, tf.Tensor, tf.Tensor, tf.Tensor]:
    """``(z_i, z_f + forget_bias, z_g, z_o)``: the blocks of the fused pre-activations, read in their order.

    ``z_i`` is None when `gate_positions` has no ``"i"`` (the coupled gate:
    three blocks).
    """
    blocks = tf.split(z, len(gate_positions), axis=-1)
    forget = blocks[gate_positions["f"]]
    if forget_bias:
        forget = forget + tf.cast(forget_bias, forget.dtype)
    z_i = blocks[gate_positions["i"]] if "i" in gate_positions else None
    return z_i, forget, blocks[gate_positions["g"]], blocks[gate_positions["o"]]


def gate_activations(
    z: tf.Tensor,
    gate_positions: Mapping[str, int],
    forget_bias: float = 0.0,
    *,
    gate_activation: Activation = tf.sigmoid,
    candidate_activation: Activation = tf.tanh,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """``(i, f, g, o)`` from the fused pre-activations ``z`` (four blocks on the last axis).

    i = σ(z_i)   f = σ(z_f + forget_bias)   g = tanh(z_g)   o = σ(z_o)

    σ is `gate_activation` (Keras' ``recurrent_activation``), tanh
    `candidate_activation` (Keras' ``activation``).
    """
    z_i, z_f, z_g, z_o = split_gates(z, gate_positions, forget_bias)
    if z_i is None:
        raise ValueError(f"gate_activations reads the four gates; gate_positions {dict(gate_positions)} has no 'i'.")
    return gate_activation(z_i), gate_activation(z_f), candidate_activation(z_g), gate_activation(z_o)


def project(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor | None = None) -> tf.Tensor:
    """``x·W + b`` over the last axis of `x`, whatever its leading axes: every step's input projection in one matmul.

    ``b`` is left out when `bias` is None.
    """
    if x.shape.rank == 2:  # one step's inputs: the matmul alone, as the step would write it
        z = tf.matmul(x, kernel)
        return z if bias is None else z + bias
    flat = tf.reshape(x, [-1, tf.shape(x)[-1]])
    z = tf.matmul(flat, kernel)
    if bias is not None:
        z = z + bias
    z = tf.reshape(z, tf.concat([tf.shape(x)[:-1], tf.shape(kernel)[-1:]], 0))
    z.set_shape(x.shape[:-1].concatenate(kernel.shape[-1:]))  # the reshape's static shape is lost in a graph
    return z


def keep_where(keep: tf.Tensor, new: tf.Tensor, old: tf.Tensor) -> tf.Tensor:
    """``new`` where the step is kept (``keep`` is ``[batch]`` booleans), else ``old``.

    The Theano tutorial's ``m·new + (1−m)·old``, written with `tf.where` so
    that a NaN in a masked step's candidate does not leak into the carry.
    """
    return tf.where(keep[:, None], new, old)


def lstm_gates(
    h: tf.Tensor,
    projected_t: tf.Tensor,
    *,
    recurrent_kernel: tf.Tensor,
    gate_positions: Mapping[str, int],
    forget_bias: float = 0.0,
) -> dict[str, tf.Tensor]:
    """The four gate activations of one LSTM step.

        z = x_t·W_x + b + h·W_h          (x_t·W_x + b arrives as `projected_t`)

    Returns:
        ``{"i": i, "f": f, "g": g, "o": o}``, each ``[batch, units]``.
    """
    z = projected_t + tf.matmul(h, recurrent_kernel)
    return dict(zip("ifgo", gate_activations(z, gate_positions, forget_bias)))


def lstm_step(
    carry: tuple[tf.Tensor, tf.Tensor],
    projected_t: tf.Tensor,
    *,
    recurrent_kernel: tf.Tensor,
    gate_positions: Mapping[str, int],
    forget_bias: float = 0.0,
    cell_activation: Activation | None = tf.tanh,
    gate_activation: Activation = tf.sigmoid,
    candidate_activation: Activation = tf.tanh,
    peepholes: tuple[tf.Tensor, tf.Tensor, tf.Tensor] | None = None,
    cell_clip: float | None = None,
    projection: tf.Tensor | None = None,
    proj_clip: float | None = None,
    layer_norm: Mapping[str, tf.Tensor] | None = None,
    layer_norm_epsilon: float = 1e-3,
    bias: tf.Tensor | None = None,
    zoneout: tuple | None = None,
    recurrent_dropout_mask: tf.Tensor | None = None,
    inputs_t: tf.Tensor | None = None,
) -> tuple[tuple[tf.Tensor, tf.Tensor], dict[str, tf.Tensor]]:
    """One LSTM step; every article's cell, and TF1's and PyTorch's, is a configuration of it.

        z = x_t·W_x + b + h·W_h
        i = σ(z_i + w_i⊙c)   f = σ(z_f + forget_bias + w_f⊙c)   g = tanh(z_g)
        c' = clip(f⊙c + i⊙g)
        o = σ(z_o + w_o⊙c')
        h' = clip((o⊙act(c'))·W_p)       (act = tanh, or identity in article C)

    The peephole terms ``w⊙c`` (Gers & Schmidhuber; TF1's ``use_peepholes``),
    the clips (TF1's ``cell_clip`` and ``proj_clip``) and the projection
    ``W_p`` (LSTMP, Sak et al. 2014; PyTorch's ``proj_size``, TF1's
    ``num_proj``) are there only when given. Two variants:

    - the coupled input and forget gates (CIFG, Greff et al. 2017): without
      an ``"i"`` in `gate_positions` (three blocks), ``i = 1 − f``;
    - layer normalisation (Ba, Kiros & Hinton 2016), with `layer_norm`'s
      gains and shifts: ``z = LN_x(x_t·W_x) + LN_h(h·W_h) + b`` (each over the
      blocks together; `projected_t` is then ``x_t·W_x`` and the bias comes
      as `bias`) and ``h' = o⊙act(LN_c(c'))``; c' itself is carried as is.

    And zoneout (Krueger et al. 2017), ``zoneout=(d_h, d_c)``: ``h' ← d_h⊙h +
    (1 − d_h)⊙h'`` and ``c' ← d_c⊙c + (1 − d_c)⊙c'`` after the step (h' from
    the un-zoned c'); ``d`` are a step's 0/1 masks in training, the rates in
    inference.

    Args:
        carry: ``(h, c)``: ``[batch, units]`` each, h ``[batch, proj]`` with a projection.
        projected_t: ``[batch, 4·units]``, the input projection of this step.
        recurrent_kernel: ``[units or proj, 4·units]``.
        gate_positions: block index of each of ``"i"``, ``"f"``, ``"g"``,
            ``"o"`` (from `tf_lstm.gates.gate_positions`).
        forget_bias: added to the forget gate's pre-activation (TF1's
            ``BasicLSTMCell`` uses 1.0).
        cell_activation: applied to ``c'`` before the output gate; ``None``
            drops it.
        gate_activation, candidate_activation: σ of i, f, o and tanh of g
            (see `gate_activations`).
        peepholes: ``(w_i, w_f, w_o)``, each ``[units]``, or None.
        cell_clip: c' is clipped to ``[-cell_clip, cell_clip]``, or None.
        projection: ``W_p`` ``[units, proj]``, or None.
        proj_clip: the projected h' is clipped to ``[-proj_clip, proj_clip]``.
        recurrent_dropout_mask: multiplies ``h`` before the recurrent matmul.
        inputs_t: the raw ``x_t``, to multiply in the same matmul as h, the
            articles' fused form ``z = b + [x_t, h]·[W_x; W_h]``: `projected_t`
            is then ``b`` and `recurrent_kernel` ``[W_x; W_h]`` stacked.

    Returns:
        ``((h', c'), {"z": z, "i": i, "f": f, "g": g, "o": o})``.
    """
    h, c = carry
    h_in = dropped(h, recurrent_dropout_mask)
    if inputs_t is not None:
        if layer_norm is not None:
            raise ValueError("inputs_t fuses x·W_x into the recurrent matmul; layer norm normalises them apart.")
        h_in = tf.concat([inputs_t, h_in], axis=-1)
    recurrent = tf.matmul(h_in, recurrent_kernel)
    if layer_norm is None:
        z = projected_t + recurrent
    else:
        z = _layer_norm(projected_t, layer_norm, "ln_x", layer_norm_epsilon) + _layer_norm(
            recurrent, layer_norm, "ln_h", layer_norm_epsilon
        )
    if bias is not None:
        z = z + bias
    z_i, z_f, z_g, z_o = split_gates(z, gate_positions, forget_bias)
    if peepholes is not None:
        if z_i is None:
            raise ValueError("peepholes need the input gate, and the coupled gate (no 'i' block) has none.")
        z_i, z_f = z_i + peepholes[0] * c, z_f + peepholes[1] * c
    f, g = gate_activation(z_f), candidate_activation(z_g)
    i = 1.0 - f if z_i is None else gate_activation(z_i)
    c_new = f * c + i * g
    if cell_clip is not None:
        c_new = tf.clip_by_value(c_new, -cell_clip, cell_clip)
    if peepholes is not None:
        z_o = z_o + peepholes[2] * c_new
    o = gate_activation(z_o)
    c_out = c_new if layer_norm is None else _layer_norm(c_new, layer_norm, "ln_c", layer_norm_epsilon)
    h_new = o * (c_out if cell_activation is None else cell_activation(c_out))
    if projection is not None:
        h_new = tf.matmul(h_new, projection)
        if proj_clip is not None:
            h_new = tf.clip_by_value(h_new, -proj_clip, proj_clip)
    if zoneout is not None:
        d_h, d_c = zoneout
        h_new, c_new = d_h * h + (1.0 - d_h) * h_new, d_c * c + (1.0 - d_c) * c_new
    return (h_new, c_new), {"z": z, "i": i, "f": f, "g": g, "o": o}


def _layer_norm(v: tf.Tensor, weights: Mapping[str, tf.Tensor], name: str, epsilon: float) -> tf.Tensor:
    """``γ⊙(v − mean)/sqrt(var + ε) + β`` over the last axis, γ and β the weights ``<name>_gamma``, ``<name>_beta``."""
    mean, variance = tf.nn.moments(v, axes=[-1], keepdims=True)
    return weights[f"{name}_gamma"] * (v - mean) * tf.math.rsqrt(variance + epsilon) + weights[f"{name}_beta"]


def linear_rnn_step(
    carry: tuple[tf.Tensor],
    projected_t: tf.Tensor,
    *,
    recurrent_kernel: tf.Tensor,
    activation: Activation | None = None,
    recurrent_dropout_mask: tf.Tensor | None = None,
) -> tuple[tuple[tf.Tensor], dict[str, tf.Tensor]]:
    """One step of the linear (or Elman, with `activation`) RNN of article B.

        z = x_t·W_x + b + s·W_rec
        s' = act(z)                      (act = identity in the article)

    Returns:
        ``((s',), {"z": z})``.
    """
    (s,) = carry
    s_in = dropped(s, recurrent_dropout_mask)
    z = projected_t + tf.matmul(s_in, recurrent_kernel)
    return (z if activation is None else activation(z),), {"z": z}
