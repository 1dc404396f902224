"""Seeing inside (`tf_lstm.tracing`): trace against the NumPy reference, saturation, gradients through time."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.tolerance import EPS64, float32_tolerance, lstm_terms
from tf_lstm import MultiLayerLSTM, ScanLSTM, ScanRNN, context, gradients_through_time, saturation, trace
from tf_lstm.reference import lstm_reference

BATCH, STEPS, FEATURES, UNITS = 3, 7, 5, 4
# One value after STEPS float32 steps on values <= |x|·|W| < 2.5, against the float64 reference.
TOLERANCE = float32_tolerance(lstm_terms(STEPS, FEATURES, UNITS), 2.5)
MASK = np.ones((BATCH, STEPS), bool)
MASK[0, 2:4] = False
MASK[2, 5:] = False


@pytest.fixture
def x():
    return np.random.default_rng(0).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")


@pytest.mark.parametrize("gate_order", ["ifgo", "ifco", "ijfo", "zifo", "ifoc", "gofi"])
@pytest.mark.parametrize("method", ["auto", "scan", "while", "unroll", "manual_backward"])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_trace_equals_the_reference_gates_and_the_layers_outputs(x, gate_order, method, masked, go_backwards):
    layer = ScanLSTM(
        UNITS,
        gate_order=gate_order,
        forget_bias=0.5,
        method=method,
        go_backwards=go_backwards,
        return_sequences=True,
        bias_initializer="random_normal",
    )
    mask = MASK if masked else None
    outputs = layer(x, mask=mask)
    seen = trace(layer, x, mask=mask)
    kernel, recurrent, bias = (w.numpy() for w in layer.weights)
    *_, gates = lstm_reference(
        x,
        kernel,
        recurrent,
        bias,
        gate_order=gate_order,
        forget_bias=0.5,
        mask=mask,
        go_backwards=go_backwards,
        return_gates=True,
    )
    for name in "ifgoch":
        np.testing.assert_allclose(seen[name], gates[name], rtol=0, atol=TOLERANCE, err_msg=name)
    np.testing.assert_allclose(seen["h"], outputs, rtol=0, atol=1e-6)
    assert seen["z"].shape == (BATCH, STEPS, 4 * UNITS)
    if masked:
        np.testing.assert_array_equal(seen["mask"], mask[:, ::-1] if go_backwards else mask)
    else:
        assert seen["mask"] is None


def test_trace_of_the_linear_rnn_and_with_an_initial_state(x):
    rnn = ScanRNN(2, return_sequences=True)
    outputs = rnn(x)
    np.testing.assert_allclose(trace(rnn, x)["s"], outputs, rtol=0, atol=1e-6)
    lstm = ScanLSTM(UNITS, return_sequences=True)
    h0, c0 = np.random.default_rng(1).normal(size=(2, BATCH, UNITS)).astype("float32")
    outputs = lstm(x, initial_state=[h0, c0])
    np.testing.assert_allclose(trace(lstm, x, initial_state=[h0, c0])["h"], outputs, rtol=0, atol=1e-6)


def test_trace_of_a_bidirectional_and_of_a_multilayer_lstm(x):
    bi = keras.layers.Bidirectional(ScanLSTM(UNITS, return_sequences=True))
    outputs = bi(x)
    seen = trace(bi, x)
    np.testing.assert_allclose(seen["forward"]["h"], outputs[..., :UNITS], rtol=0, atol=1e-6)
    np.testing.assert_allclose(seen["backward"]["h"][:, ::-1], outputs[..., UNITS:], rtol=0, atol=1e-6)

    model = MultiLayerLSTM(UNITS, num_layers=2, bidirectional=True, seed=0)
    output, (h_n, c_n) = model(x)
    seen = trace(model, x)
    last = seen["layer_1"]
    np.testing.assert_allclose(last["forward"]["h"], output[..., :UNITS], rtol=0, atol=1e-6)
    np.testing.assert_allclose(last["backward"]["h"][:, ::-1], output[..., UNITS:], rtol=0, atol=1e-6)
    np.testing.assert_allclose(last["backward"]["c"][:, -1], c_n[3], rtol=0, atol=1e-6)
    np.testing.assert_allclose(seen["layer_0"]["forward"]["h"][:, -1], h_n[0], rtol=0, atol=1e-6)


def test_trace_refuses_what_it_cannot_trace(x):
    with pytest.raises(ValueError, match="must be built"):
        trace(ScanLSTM(UNITS), x)
    with pytest.raises(TypeError, match="got LSTM"):
        trace(keras.layers.LSTM(UNITS), x)


def test_saturation_counts_the_unmasked_steps_beyond_each_threshold():
    f = np.array([[[0.05, 0.5], [0.95, 0.5], [0.95, 0.99], [0.0, 0.0]]])  # [1, 4 steps, 2 units]
    traced = {"i": f, "f": f, "o": f, "mask": np.array([[True, True, True, False]])}
    result = saturation(traced)
    np.testing.assert_allclose(result["f"]["low"], [1 / 3, 0.0], rtol=0, atol=EPS64)
    np.testing.assert_allclose(result["f"]["high"], [2 / 3, 1 / 3], rtol=0, atol=EPS64)
    with pytest.raises(ValueError, match="low=0.9, high=0.1"):
        saturation(traced, low=0.9, high=0.1)
    with pytest.raises(ValueError, match="gates i, f, o"):
        saturation({"s": f})


def _tiny_model(**lstm_options):
    """A float64 model, so that central finite differences hold to about 1e-9."""
    inputs = keras.Input((STEPS, FEATURES), dtype="float64")
    lstm = ScanLSTM(UNITS, dtype="float64", bias_initializer="random_normal", seed=0, **lstm_options)
    outputs = keras.layers.Dense(2, dtype="float64")(lstm(inputs))
    return keras.Model(inputs, outputs), lstm


@pytest.mark.parametrize("go_backwards", [False, True])
def test_gradients_through_time_match_finite_differences(x, go_backwards):
    keras.utils.set_random_seed(0)
    model, lstm = _tiny_model(go_backwards=go_backwards)
    x64 = x.astype("float64")
    y = np.random.default_rng(2).normal(size=(BATCH, 2))
    got = gradients_through_time(model, x64, y, "mse")
    assert got["h"].shape == got["c"].shape == got["x"].shape == (BATCH, STEPS)
    delta = 1e-6
    # Central differences: error ~ delta² × (third derivative, O(1)) + eps64 × loss / delta.
    tolerance = delta**2 * 10 + EPS64 * 10 * max(1.0, got["loss"]) / delta
    for t in (0, STEPS // 2, STEPS - 1):
        for state, offset in (("h", 0), ("c", UNITS)):
            gradient = np.zeros((BATCH, UNITS))
            for u in range(UNITS):
                probes = np.zeros((STEPS, BATCH, 2 * UNITS))
                for sign in (1, -1):
                    probes[t, :, offset + u] = sign * delta
                    # Each example's loss depends on its own probe only: one difference gives every row.
                    per_example = _per_example_losses(model, lstm, x64, y, probes)
                    gradient[:, u] += sign * per_example / (2 * delta)
            np.testing.assert_allclose(
                got[state][:, t], np.linalg.norm(gradient, axis=1), rtol=0, atol=tolerance * UNITS
            )
        d_x = np.zeros((BATCH, FEATURES))
        for f in range(FEATURES):
            for sign in (1, -1):
                shifted = x64.copy()
                shifted[:, t, f] += sign * delta
                d_x[:, f] += sign * _per_example_losses(model, lstm, shifted, y, None) / (2 * delta)
        np.testing.assert_allclose(got["x"][:, t], np.linalg.norm(d_x, axis=1), rtol=0, atol=tolerance * FEATURES)


def _per_example_losses(model, lstm, x, y, probes):
    if probes is None:
        return keras.losses.mean_squared_error(y, model(x)).numpy()
    with context.calling(probes=[(lstm, tf.constant(probes))]):
        return keras.losses.mean_squared_error(y, model(x)).numpy()


def test_the_last_steps_gradient_is_the_gradient_of_the_layers_output(x):
    keras.utils.set_random_seed(0)
    model, lstm = _tiny_model()
    x64, y = x.astype("float64"), np.zeros((BATCH, 2))
    got = gradients_through_time(model, x64, y, "mse")
    head = model.layers[-1]
    h_last = tf.constant(lstm(x64))
    with tf.GradientTape() as tape:
        tape.watch(h_last)
        value = tf.reduce_sum(keras.losses.mean_squared_error(y, head(h_last)))
    np.testing.assert_allclose(got["h"][:, -1], np.linalg.norm(tape.gradient(value, h_last), axis=1), rtol=1e-12)
    np.testing.assert_array_equal(lstm(x64), h_last)  # the probes are gone once it returns
