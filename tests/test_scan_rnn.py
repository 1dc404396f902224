import numpy as np

from tf_lstm import ScanRNN
from tf_lstm.reference import linear_rnn_reference


def test_linear_rnn_equals_reference():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(6, 10)).astype("float32")
    layer = ScanRNN(1)
    s = layer(x[:, :, None])
    w_x, w_rec = (float(w.numpy().squeeze()) for w in layer.weights)
    np.testing.assert_allclose(s.numpy()[:, 0], linear_rnn_reference(x, w_x, w_rec), rtol=1e-6)


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
    np.testing.assert_allclose(out, s, atol=1e-6)
    np.testing.assert_allclose(state, s, atol=1e-6)
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
