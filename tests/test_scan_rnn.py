import numpy as np

from tests.tolerance import float32_tolerance, magnitude_of
from tf_lstm import ScanRNN
from tf_lstm.reference import linear_rnn_reference


def test_linear_rnn_equals_reference():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(6, 10)).astype("float32")
    layer = ScanRNN(1)
    s = layer(x[:, :, None])
    w_x, w_rec = (float(w.numpy().squeeze()) for w in layer.weights)
    expected = linear_rnn_reference(x, w_x, w_rec)
    # 10 steps of two products and a sum, on values of the size of the state.
    np.testing.assert_allclose(s.numpy()[:, 0], expected, rtol=0, atol=float32_tolerance(10 * 3, magnitude_of(expected)))


def test_counting_weights_count():
    # With w_x = w_rec = 1 the state is the running sum: the article's solution.
    x = np.array([[0, 1, 0, 0, 0, 0, 0, 0, 0, 1], [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]], "float32")
    layer = ScanRNN(1, return_sequences=True, kernel_initializer="ones", recurrent_initializer="ones")
    s = layer(x[:, :, None]).numpy()[:, :, 0]
    np.testing.assert_array_equal(s, np.cumsum(x, axis=1))


def test_elman_options():
    x = np.random.default_rng(1).normal(size=(3, 4, 2)).astype("float32")
    layer = ScanRNN(5, activation="tanh", use_bias=True, bias_initializer="random_normal", return_state=True)
    out, state = layer(x)
    w_x, w_rec, b = (w.numpy() for w in layer.weights)
    s = np.zeros((3, 5))
    for t in range(4):
        s = np.tanh(x[:, t] @ w_x + b + s @ w_rec)
    # 4 steps of 2 + 5 products, the bias and tanh, on values <= |x|·|w| < 4 × 0.8.
    tolerance = float32_tolerance(4 * (2 + 5 + 2), 3.2)
    np.testing.assert_allclose(out, s, rtol=0, atol=tolerance)
    np.testing.assert_allclose(state, s, rtol=0, atol=tolerance)
    assert len(layer.weights) == 3


def test_config_round_trip():
    layer = ScanRNN(3, activation="relu", use_bias=True, go_backwards=True, return_sequences=True)
    clone = ScanRNN.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_mask_carries_state():
    x = np.ones((1, 5, 1), "float32")
    mask = np.array([[True, False, True, False, False]])
    layer = ScanRNN(1, return_sequences=True, kernel_initializer="ones", recurrent_initializer="ones")
    s = layer(x, mask=mask).numpy()[0, :, 0]
    np.testing.assert_array_equal(s, [1, 1, 2, 2, 2])
