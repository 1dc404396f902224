"""NumPy reference implementations, written from the articles' equations.

These are the ground truth of the tests: plain loops over time, float64 by
default, no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import functools

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


@dataclasses.dataclass(frozen=True)
class _Equations:
    """`lstm_reference`'s weights (float64) and options, and one step of its equations."""

    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray
    positions: dict[str, int]  # each gate's block in z
    forget_bias: float
    cell_activation: bool
    peepholes: tuple  # (w_i, w_f, w_o), zeros without peepholes
    cell_clip: float | None
    projection: np.ndarray | None
    proj_clip: float | None
    coupled: bool
    layer_norm: dict | None
    layer_norm_epsilon: float
    zoneout: tuple[float, float]

    @property
    def blocks(self) -> int:
        return 3 if self.coupled else 4

    @property
    def units(self) -> int:
        return self.bias.shape[0] // self.blocks

    @functools.cached_property
    def fused_kernel(self) -> np.ndarray:
        """``[W_x; W_h]``, for ``[x_t, h]·[W_x; W_h]`` in one product, stacked once per call."""
        return np.concatenate([self.kernel, self.recurrent_kernel])

    def norm(self, v, name):
        if self.layer_norm is None:
            return v
        gamma, beta = (np.asarray(self.layer_norm[f"{name}_{w}"], np.float64) for w in ("gamma", "beta"))
        centred = v - v.mean(axis=-1, keepdims=True)
        return gamma * centred / np.sqrt(centred.var(axis=-1, keepdims=True) + self.layer_norm_epsilon) + beta

    def step(self, x_t, h, c):
        """``(gates {"i", "f", "g", "o"}, h_t, c_t)`` from x_t and the carried h, c; no mask."""
        if self.layer_norm is None:
            z = np.concatenate([x_t, h], axis=1) @ self.fused_kernel + self.bias
        else:
            z = self.norm(x_t @ self.kernel, "ln_x") + self.norm(h @ self.recurrent_kernel, "ln_h") + self.bias
        split = np.split(z, self.blocks, axis=1)
        block = lambda gate: split[self.positions[gate]]  # noqa: E731
        w_i, w_f, w_o = self.peepholes
        f = sigmoid(block("f") + self.forget_bias + w_f * c)
        i = 1.0 - f if self.coupled else sigmoid(block("i") + w_i * c)
        g = np.tanh(block("g"))
        c_new = f * c + i * g
        if self.cell_clip is not None:
            c_new = np.clip(c_new, -self.cell_clip, self.cell_clip)
        o = sigmoid(block("o") + w_o * c_new)
        c_out = self.norm(c_new, "ln_c")
        h_new = o * (np.tanh(c_out) if self.cell_activation else c_out)
        if self.projection is not None:
            h_new = h_new @ self.projection
            if self.proj_clip is not None:
                h_new = np.clip(h_new, -self.proj_clip, self.proj_clip)
        z_h, z_c = self.zoneout
        h_new = z_h * h + (1.0 - z_h) * h_new
        c_new = z_c * c + (1.0 - z_c) * c_new
        return {"i": i, "f": f, "g": g, "o": o}, h_new, c_new


def _run(equations: _Equations, x, *, mask, go_backwards: bool, initial_state, gates: bool):
    """`lstm_reference`'s loop over time: `equations` a step, the mask's carry, every step's values kept."""
    batch, steps, _ = x.shape
    units = equations.units
    h_size = equations.recurrent_kernel.shape[0]
    mask = np.ones((batch, steps)) if mask is None else np.asarray(mask, np.float64)
    if go_backwards:
        x, mask = x[:, ::-1], mask[:, ::-1]
    if initial_state is None:
        h, c = np.zeros((batch, h_size)), np.zeros((batch, units))
    else:
        h, c = (np.asarray(s, np.float64) for s in initial_state)
    seen: dict[str, list] = {name: [] for name in "ifgoch"}
    for t in range(steps):
        step_gates, h_new, c_new = equations.step(x[:, t], h, c)
        m = mask[:, t : t + 1]
        c = m * c_new + (1.0 - m) * c
        h = m * h_new + (1.0 - m) * h
        for name, value in {**step_gates, "c": c, "h": h}.items():
            seen[name].append(value)
    stacked = np.stack(seen["h"], axis=1) if steps else np.zeros((batch, 0, h_size))
    if gates:
        stacked_gates = {
            name: np.stack(values, axis=1) if values else np.zeros((batch, 0, units)) for name, values in seen.items()
        }
        return stacked, h, c, stacked_gates
    return stacked, h, c


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
    blocks = 3 if coupled else 4
    units = kernel.shape[1] // blocks
    positions = block_of(gate_order)
    if coupled:  # the three remaining blocks keep gate_order's order
        kept = sorted((p, gate) for gate, p in positions.items() if gate != "i")
        positions = {gate: k for k, (_, gate) in enumerate(kept)}
    equations = _Equations(
        kernel=kernel,
        recurrent_kernel=np.asarray(recurrent_kernel, np.float64),
        bias=np.zeros(blocks * units) if bias is None else np.asarray(bias, np.float64),
        positions=positions,
        forget_bias=forget_bias,
        cell_activation=cell_activation,
        peepholes=(0.0, 0.0, 0.0) if peepholes is None else tuple(np.asarray(w, np.float64) for w in peepholes),
        cell_clip=cell_clip,
        projection=None if projection is None else np.asarray(projection, np.float64),
        proj_clip=proj_clip,
        coupled=coupled,
        layer_norm=layer_norm,
        layer_norm_epsilon=layer_norm_epsilon,
        zoneout=zoneout,
    )
    return _run(equations, x, mask=mask, go_backwards=go_backwards, initial_state=initial_state, gates=return_gates)


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
