"""NumPy reference implementations, written from the articles' equations.

These are the ground truth of the tests: plain loops over time, float64 by
default, no TensorFlow.
"""

from __future__ import annotations

import numpy as np

# The candidate's other names, read here without tf_lstm.gates: the ground truth does not share the code it checks.
_CANDIDATE = {"j": "g", "z": "g", "c": "g"}


def block_of(gate_order: str) -> dict[str, int]:
    """The block index of each of i, f, g, o in a 4-letter `gate_order` (e.g. "ijfo")."""
    letters = [_CANDIDATE.get(ch, ch) for ch in gate_order.lower()]
    if sorted(letters) != sorted("ifgo"):
        raise ValueError(f"gate_order must be a permutation of i, f, g (or j, z, c), o; got {gate_order!r}")
    return {gate: letters.index(gate) for gate in "ifgo"}


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# Longer than the 60-line rule on purpose: the oracle is one loop that reads as the equations, every option
# inline, so that a reader checks it against the papers in one place.
def lstm_reference(
    x,
    kernel,
    recurrent_kernel,
    bias=None,
    *,
    gate_order: str = "ifgo",
    forget_bias: float = 0.0,
    cell_activation: bool = True,
    mask=None,
    go_backwards: bool = False,
    initial_state=None,
    return_gates: bool = False,
    peepholes=None,
    cell_clip: float | None = None,
    projection=None,
    proj_clip: float | None = None,
    coupled: bool = False,
    layer_norm=None,
    layer_norm_epsilon: float = 1e-3,
    zoneout: tuple[float, float] = (0.0, 0.0),
):
    """An LSTM over ``x`` of shape ``[batch, time, features]``.

    For t = 1…T, with the gate blocks of ``[x_t, h]·[W_x; W_h] + b`` read in
    `gate_order`:

        i = σ(z_i), f = σ(z_f + forget_bias), g = tanh(z_g), o = σ(z_o)
        c_t = f·c_{t−1} + i·g,   h_t = o·tanh(c_t)  (o·c_t if not `cell_activation`)

    and TF1's ``LSTMCell`` options (its documented equations): `peepholes`
    ``(w_i, w_f, w_o)`` add ``w_i·c_{t−1}`` to z_i and ``w_f·c_{t−1}`` to z_f
    and, after the clip, ``w_o·c_t`` to z_o; `cell_clip` clips c_t; a
    `projection` ``[units, proj]`` maps h_t to ``h_t·W_p`` (PyTorch's
    ``proj_size``: ``h_t = W_hr·(o·tanh(c_t))``), then `proj_clip` clips it.

    The variants: `coupled` (Greff et al.): three blocks ``f, g, o`` in
    `gate_order`'s order without i, and ``i = 1 − f``; `layer_norm` (Ba et
    al.), a mapping of ``ln_{x,h,c}_{gamma,beta}``: ``z = LN_x(x_t·W_x) +
    LN_h(h·W_h) + b`` and ``h_t = o·tanh(LN_c(c_t))``, ``LN(v) = γ·(v −
    mean(v))/sqrt(var(v) + ε) + β`` over the units; `zoneout` ``(z_h, z_c)``
    in inference (Krueger et al.): ``h_t = z_h·h_{t−1} + (1 − z_h)·h_t`` and
    likewise c, h_t computed from the un-zoned c_t.

    and, with a mask m_t ∈ {0, 1} (the Theano tutorial):

        c_t = m_t·c_t + (1 − m_t)·c_{t−1},   h_t = m_t·h_t + (1 − m_t)·h_{t−1}

    Returns:
        ``(outputs [batch, time, units] in processing order, h_T, c_T)``; with
        `return_gates`, also ``{"i", "f", "g", "o", "c", "h"}`` of every step,
        each ``[batch, time, units]`` in processing order (a masked step: the
        gates computed there, the state carried).
    """
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, np.float64)
    recurrent_kernel = np.asarray(recurrent_kernel, np.float64)
    blocks = 3 if coupled else 4
    units = kernel.shape[1] // blocks
    h_size = recurrent_kernel.shape[0]
    bias = np.zeros(blocks * units) if bias is None else np.asarray(bias, np.float64)
    positions = block_of(gate_order)
    if coupled:  # the three remaining blocks keep gate_order's order
        kept = sorted((p, gate) for gate, p in positions.items() if gate != "i")
        positions = {gate: k for k, (_, gate) in enumerate(kept)}

    def norm(v, name):
        if layer_norm is None:
            return v
        gamma, beta = (np.asarray(layer_norm[f"{name}_{w}"], np.float64) for w in ("gamma", "beta"))
        centred = v - v.mean(axis=-1, keepdims=True)
        return gamma * centred / np.sqrt(centred.var(axis=-1, keepdims=True) + layer_norm_epsilon) + beta

    batch, steps, _ = x.shape
    mask = np.ones((batch, steps)) if mask is None else np.asarray(mask, np.float64)
    if go_backwards:
        x, mask = x[:, ::-1], mask[:, ::-1]
    fused = np.concatenate([kernel, recurrent_kernel], axis=0)
    if initial_state is None:
        h, c = np.zeros((batch, h_size)), np.zeros((batch, units))
    else:
        h, c = (np.asarray(s, np.float64) for s in initial_state)
    outputs = []
    seen: dict[str, list] = {name: [] for name in "ifgoch"}
    for t in range(steps):
        if layer_norm is None:
            z = np.concatenate([x[:, t], h], axis=1) @ fused + bias
        else:
            z = norm(x[:, t] @ kernel, "ln_x") + norm(h @ recurrent_kernel, "ln_h") + bias
        split = np.split(z, blocks, axis=1)
        w_i, w_f, w_o = (0.0, 0.0, 0.0) if peepholes is None else (np.asarray(w, np.float64) for w in peepholes)
        f = sigmoid(split[positions["f"]] + forget_bias + w_f * c)
        i = 1.0 - f if coupled else sigmoid(split[positions["i"]] + w_i * c)
        g = np.tanh(split[positions["g"]])
        c_new = f * c + i * g
        if cell_clip is not None:
            c_new = np.clip(c_new, -cell_clip, cell_clip)
        o = sigmoid(split[positions["o"]] + w_o * c_new)
        c_out = norm(c_new, "ln_c")
        h_new = o * (np.tanh(c_out) if cell_activation else c_out)
        if projection is not None:
            h_new = h_new @ np.asarray(projection, np.float64)
            if proj_clip is not None:
                h_new = np.clip(h_new, -proj_clip, proj_clip)
        h_new = zoneout[0] * h + (1.0 - zoneout[0]) * h_new
        c_new = zoneout[1] * c + (1.0 - zoneout[1]) * c_new
        m = mask[:, t : t + 1]
        c = m * c_new + (1.0 - m) * c
        h = m * h_new + (1.0 - m) * h
        outputs.append(h)
        for name, value in zip("ifgoch", (i, f, g, o, c, h)):
            seen[name].append(value)
    stacked = np.stack(outputs, axis=1) if outputs else np.zeros((batch, 0, h_size))
    if return_gates:
        gates = {
            name: np.stack(values, axis=1) if values else np.zeros((batch, 0, units)) for name, values in seen.items()
        }
        return stacked, h, c, gates
    return stacked, h, c


def linear_rnn_reference(x, w_x, w_rec, *, dtype=np.float64):
    """The counting article's RNN: ``s_k = x_k·w_x + s_{k−1}·w_rec``, s_0 = 0.

    Args:
        x: ``[samples, steps]`` scalars per step.
        w_x, w_rec: scalars.

    Returns:
        ``s`` after the last step, shape ``[samples]``.
    """
    x = np.asarray(x, dtype)
    s = np.zeros(x.shape[0], dtype)
    for k in range(x.shape[1]):
        s = x[:, k] * dtype(w_x) + s * dtype(w_rec)
    return s


def article_rmsprop_reference(
    params, grads, state=None, *, learning_rate=0.001, rho=0.9, momentum=0.5, min_rms=1e-4, rescale=5.0
):
    """One update of the counting article's RMSProp (see `ArticleRMSProp`), in NumPy.

    Args:
        params, grads: lists of arrays.
        state: ``(mean_squares, mean_grads, velocities)`` from the previous
            call, or None for zeros.

    Returns:
        ``(new_params, new_state)``.
    """
    if state is None:
        state = tuple([np.zeros_like(p) for p in params] for _ in range(3))
    mean_squares, mean_grads, velocities = state
    norm = np.sqrt(sum(np.sum(np.square(g)) for g in grads))
    scale = rescale / max(rescale, np.sqrt(norm))
    new: tuple[list, list, list, list] = ([], [], [], [])
    for p, g, ms, mg, v in zip(params, grads, mean_squares, mean_grads, velocities):
        g = g * scale
        ms = rho * ms + (1 - rho) * g**2
        mg = rho * mg + (1 - rho) * g
        r = np.maximum(np.sqrt(np.maximum(ms - mg**2, 0.0)), min_rms)
        v_new = momentum * v - learning_rate * g / r
        p = p + momentum**2 * v - (1 + momentum) * learning_rate * g / r
        for bucket, value in zip(new, (p, ms, mg, v_new)):
            bucket.append(value)
    return new[0], (new[1], new[2], new[3])
