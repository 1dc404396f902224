"""The step functions (`tf_lstm.steps`) directly, one step against the NumPy reference."""

import numpy as np
import pytest
import tensorflow as tf

from tests.tolerance import EPS32, EPS64
from tf_lstm.gates import gate_positions
from tf_lstm.reference import lstm_reference
from tf_lstm.steps import gate_activations, keep_where, linear_rnn_step, lstm_gates, lstm_step

BATCH, FEATURES, UNITS = 2, 3, 4
rng = np.random.default_rng(0)
X = rng.normal(size=(BATCH, FEATURES))
H, C = rng.normal(size=(2, BATCH, UNITS))
KERNEL = rng.normal(size=(FEATURES, 4 * UNITS))
RECURRENT = rng.normal(size=(UNITS, 4 * UNITS))
BIAS = rng.normal(size=4 * UNITS)
# float64: one step sums FEATURES + UNITS products into a pre-activation (values < 10), then eight more operations.
TOLERANCE = EPS64 * 10 * (FEATURES + UNITS + 8)


@pytest.mark.parametrize("gate_order", ["ifgo", "ifco", "ijfo", "zifo", "ifoc"])
@pytest.mark.parametrize("cell_activation", [tf.tanh, None])
def test_lstm_step_is_one_step_of_the_reference(gate_order, cell_activation):
    (h, c), values = lstm_step(
        (tf.constant(H), tf.constant(C)),
        tf.constant(X @ KERNEL + BIAS),
        recurrent_kernel=tf.constant(RECURRENT),
        gate_positions=gate_positions(gate_order),
        forget_bias=0.5,
        cell_activation=cell_activation,
    )
    _, ref_h, ref_c = lstm_reference(
        X[:, None],
        KERNEL,
        RECURRENT,
        BIAS,
        gate_order=gate_order,
        forget_bias=0.5,
        cell_activation=cell_activation is not None,
        initial_state=(H, C),
    )
    np.testing.assert_allclose(h, ref_h, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(c, ref_c, rtol=0, atol=TOLERANCE)
    # The values it emits are the gates it used: c' = f⊙c + i⊙g.
    np.testing.assert_allclose(values["f"] * C + values["i"] * values["g"], c, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(values["z"], X @ KERNEL + BIAS + H @ RECURRENT, rtol=0, atol=TOLERANCE)


def test_gates_read_their_blocks_by_name():
    z = tf.constant(np.concatenate([np.full((1, 2), v) for v in (1.0, 2.0, 3.0, 4.0)], axis=1))
    i, f, g, o = gate_activations(z, gate_positions("ijfo"), forget_bias=1.0)  # blocks: i, g, f, o
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    np.testing.assert_allclose(
        [i[0, 0], f[0, 0], g[0, 0], o[0, 0]],
        [sigmoid(1.0), sigmoid(3.0 + 1.0), np.tanh(2.0), sigmoid(4.0)],
        rtol=0,
        atol=4 * EPS64,
    )
    gates = lstm_gates(
        tf.zeros([1, 2], tf.float64),
        z,
        recurrent_kernel=tf.zeros([2, 8], tf.float64),
        gate_positions=gate_positions("ijfo"),
        forget_bias=1.0,
    )
    np.testing.assert_array_equal([gates[k] for k in "ifgo"], [i, f, g, o])


def test_keep_where_carries_a_masked_row_and_no_nan_leaks():
    new = tf.constant([[np.nan, 1.0], [2.0, 3.0]])
    old = tf.constant([[5.0, 6.0], [7.0, 8.0]])
    np.testing.assert_array_equal(keep_where(tf.constant([False, True]), new, old), [[5.0, 6.0], [2.0, 3.0]])


def test_linear_rnn_step():
    (s,), values = linear_rnn_step((tf.constant([[2.0]]),), tf.constant([[1.0]]), recurrent_kernel=tf.constant([[3.0]]))
    assert float(s[0, 0]) == 7.0 and float(values["z"][0, 0]) == 7.0
    (s,), _ = linear_rnn_step(
        (tf.constant([[2.0]]),),
        tf.constant([[1.0]]),
        recurrent_kernel=tf.constant([[3.0]]),
        activation=tf.tanh,
        recurrent_dropout_mask=tf.constant([[0.0]]),
    )
    assert float(s[0, 0]) == pytest.approx(np.tanh(1.0), abs=EPS32)
