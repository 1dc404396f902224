"""The cell protocol (`tf_lstm.cells`): a new cell in a few dozen lines runs through every method it supports."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layer_checks import assert_gradients_match_finite_differences, check_layer
from tests.tolerance import assert_close_f32, float32_tolerance, lstm_terms
from tf_lstm import Cell, LSTMCell, Recurrent, ScanLSTM
from tf_lstm.reference import lstm_reference

BATCH, STEPS, FEATURES, UNITS = 3, 7, 5, 4
# A GRU step sums FEATURES + UNITS products into each pre-activation, then about eight elementwise operations.
TERMS = STEPS * (FEATURES + UNITS + 8)


@keras.saving.register_keras_serializable(package="tf_lstm_tests")
class GRUCell(Cell):
    """Keras' GRU with ``reset_after=True`` and no recurrent bias, written as a tf_lstm cell.

    [x_z, x_r, x_n] = x_t·W_x + b        [h_z, h_r, h_n] = h·W_h
    u = σ(x_z + h_z)   r = σ(x_r + h_r)   n = tanh(x_n + r⊙h_n)
    h' = u⊙h + (1 − u)⊙n
    """

    blocks = 3
    state_names = ("h",)

    def step(self, carry, projected_t, weights):
        (h,) = carry
        x_z, x_r, x_n = tf.split(projected_t, 3, axis=-1)
        h_z, h_r, h_n = tf.split(weights.recurrent(h), 3, axis=-1)  # h·W_h, recurrent dropout included
        u, r = tf.sigmoid(x_z + h_z), tf.sigmoid(x_r + h_r)
        n = tf.tanh(x_n + r * h_n)
        return (u * h + (1.0 - u) * n,), {"u": u, "r": r, "n": n}


def gru_reference(x, kernel, recurrent_kernel, bias):
    """The same equations in float64 NumPy."""
    sigmoid = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    h = np.zeros((x.shape[0], recurrent_kernel.shape[0]))
    outputs = []
    for t in range(x.shape[1]):
        x_z, x_r, x_n = np.split(x[:, t] @ kernel + bias, 3, axis=-1)
        h_z, h_r, h_n = np.split(h @ recurrent_kernel, 3, axis=-1)
        u, r = sigmoid(x_z + h_z), sigmoid(x_r + h_r)
        h = u * h + (1 - u) * np.tanh(x_n + r * h_n)
        outputs.append(h)
    return np.stack(outputs, 1)


@pytest.fixture
def x():
    return np.random.default_rng(0).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")


def gru(**kwargs):
    return Recurrent(GRUCell(), UNITS, return_sequences=True, bias_initializer="random_normal", **kwargs)


@pytest.mark.parametrize("method", ["auto", "scan", "while", "unroll"])
@pytest.mark.parametrize("jit", [False, True])
def test_a_new_cell_equals_its_reference_in_every_method(x, method, jit):
    layer = gru(method=method)
    layer.build(x.shape)
    run = tf.function(layer, jit_compile=True) if jit else layer
    kernel, recurrent, bias = (w.numpy().astype(np.float64) for w in layer.weights)
    # Values of size <= |x|·|W| < 4 (N(0, 1) inputs, Glorot weights).
    np.testing.assert_allclose(
        run(x), gru_reference(x, kernel, recurrent, bias), rtol=0, atol=float32_tolerance(TERMS, 4.0)
    )


@pytest.mark.parametrize("method", ["scan", "while", "unroll"])
def test_a_new_cell_has_the_gradients_of_finite_differences_in_every_method(x, method):
    # float64, so that central differences are exact to 1e-8 (see assert_gradients_match_finite_differences).
    layer = gru(method=method, dtype="float64")
    x64 = x.astype(np.float64)
    mask = np.broadcast_to(np.arange(STEPS) < 5, (BATCH, STEPS))
    layer.build(x64.shape)
    assert_gradients_match_finite_differences(layer, lambda: tf.reduce_sum(layer(x64, mask=mask) ** 2))


def test_a_new_cell_without_a_runner_refuses_manual_backward_and_auto_falls_back(x):
    with pytest.raises(ValueError, match="method='manual_backward' needs the cell's sequence runner: GRUCell has no"):
        gru(method="manual_backward")
    layer = gru()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(np.zeros((BATCH, 200, FEATURES), "float32"), training=True))
    assert all(g is not None for g in tape.gradient(loss, layer.trainable_variables))


def test_a_new_cell_is_a_whole_keras_layer(x, tmp_path):
    check_layer(gru, x, [(BATCH, STEPS, UNITS)], tmp_path, weights=3, terms=TERMS)


def test_cell_must_be_a_cell():
    with pytest.raises(TypeError, match="cell must be a tf_lstm.cells.Cell"):
        Recurrent(keras.layers.LSTMCell(4), 4)


def test_recurrent_with_lstm_cell_computes_the_lstm_equations(x):
    # Recurrent(LSTMCell) and ScanLSTM run the same code: each is checked against the NumPy equations instead.
    generic = Recurrent(LSTMCell("ijfo", 1.0), UNITS, return_sequences=True, bias_initializer="random_normal")
    generic.build(x.shape)
    kernel, recurrent, bias = (w.numpy().astype(np.float64) for w in generic.weights)
    expected, _, _ = lstm_reference(x, kernel, recurrent, bias, gate_order="ijfo", forget_bias=1.0)
    assert_close_f32(generic(x), expected, lstm_terms(STEPS, FEATURES, UNITS), magnitude=1.0)
    named = ScanLSTM(UNITS, gate_order="ijfo", forget_bias=1.0, return_sequences=True)
    named.build(x.shape)
    named.set_weights(generic.get_weights())
    assert_close_f32(named(x), expected, lstm_terms(STEPS, FEATURES, UNITS), magnitude=1.0)


def test_cells_declare_their_runner():
    assert LSTMCell().missing_sequence_runner() is None
    assert LSTMCell(cell_activation=None).missing_sequence_runner() is None
    assert "cell_activation='relu'" in LSTMCell(cell_activation="relu").missing_sequence_runner()
    assert (
        LSTMCell(cell_activation="relu").sequence_runner(
            kernel=None, bias=None, recurrent_kernel=None, recurrent_dropout_mask=None
        )
        is None
    )
