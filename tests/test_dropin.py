"""Drop-ins: keras.layers.LSTM's arguments build a ScanLSTM; from_keras rebuilds users' models with their weights;
from_torch / to_torch carry a torch.nn.LSTM of every option both ways. Outputs equal to float32 rounding."""

import itertools

import keras
import numpy as np
import pytest

import tf_lstm
from tests.conftest import require_torch
from tests.tolerance import float32_tolerance, lstm_terms

T, F, U = 7, 3, 6
X = np.random.default_rng(0).normal(size=(5, T, F)).astype("float32")


def tolerance(layers=1, head=0):
    """Float32 rounding of `layers` LSTM layers of T steps, then a Dense of `head` inputs."""
    return float32_tolerance(lstm_terms(T, F, U, layers) + head + 1)


def assert_same(ours, theirs, atol, what):
    difference = float(np.max(np.abs(np.asarray(ours) - np.asarray(theirs))))
    print(f"{what}: largest difference {difference:.2e} (tolerance {atol:.2e})")
    assert difference <= atol, what


def test_keras_lstm_arguments_build_a_scan_lstm_with_keras_meaning():
    config = keras.layers.LSTM(U, unroll=True, dropout=0.1, seed=3).get_config()
    layer = tf_lstm.ScanLSTM(**config)
    assert layer.method == "unroll" and layer.dropout == 0.1 and layer.unit_forget_bias is True
    assert tf_lstm.ScanLSTM(U, use_cudnn=False, implementation=2).method == "auto"  # accepted, no effect
    with pytest.raises(ValueError, match="unroll=True means method='unroll', got method='scan'"):
        tf_lstm.ScanLSTM(U, unroll=True, method="scan")


def test_use_bias_false_with_unit_forget_bias_builds_as_keras_builds_it():
    theirs = keras.layers.LSTM(U, use_bias=False, unit_forget_bias=True)
    theirs(X)
    ours = tf_lstm.from_keras_layer(theirs)
    assert ours.bias is None and ours.unit_forget_bias is True
    assert_same(ours(X), theirs(X), tolerance(), "use_bias=False")


def keras_models():
    """Users' Keras models: Sequential (with an Input, and built by a call), functional, nested, Bidirectional."""
    sequential = keras.Sequential([keras.Input((T, F)), keras.layers.LSTM(U), keras.layers.Dense(2)])
    called = keras.Sequential([keras.layers.LSTM(U, go_backwards=True), keras.layers.Dense(2)])
    called(X)
    inputs = keras.Input((T, F))
    h = keras.layers.LSTM(U, return_sequences=True, recurrent_activation="hard_sigmoid")(inputs)
    functional = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.LSTM(U)(h)))
    inner = keras.Sequential([keras.layers.LSTM(U, return_sequences=True), keras.layers.LSTM(U)])
    inputs = keras.Input((T, F))
    nested = keras.Model(inputs, keras.layers.Dense(2)(inner(inputs)))
    inputs = keras.Input((T, F))
    bidirectional = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Bidirectional(keras.layers.LSTM(U))(inputs)))
    return dict(sequential=sequential, called=called, functional=functional, nested=nested, bi=bidirectional)


@pytest.mark.parametrize("name", ["sequential", "called", "functional", "nested", "bi", "keras_file"])
def test_from_keras_replaces_every_lstm_and_computes_the_same(name, tmp_path):
    if name == "keras_file":
        original = keras_models()["functional"]
        original.save(tmp_path / "m.keras")
        model = keras.saving.load_model(tmp_path / "m.keras")
    else:
        model = keras_models()[name]
    converted = tf_lstm.from_keras(model)
    layers = list(converted._flatten_layers())
    assert not any(isinstance(layer, keras.layers.LSTM) for layer in layers)
    assert sum(isinstance(layer, tf_lstm.ScanLSTM) for layer in layers) == (
        1 if name in ("sequential", "called") else 2
    )
    assert_same(converted(X), model(X), tolerance(layers=2, head=2 * U), f"from_keras({name})")
    assert converted is not model and model(X).shape == (5, 2)  # the user's model is left as it was


def test_from_keras_refuses_a_subclassed_model_saying_what_to_do():
    class Mine(keras.Model):
        def __init__(self):
            super().__init__(name="mine")
            self.lstm = keras.layers.LSTM(U)

        def call(self, x):
            return self.lstm(x)

    model = Mine()
    model(X)
    with pytest.raises(
        ValueError, match=r"model 'mine' is a subclassed keras.Model \(Mine\).*tf_lstm.from_keras_layer"
    ):
        tf_lstm.from_keras(model)


@pytest.mark.parametrize(
    "num_layers, bidirectional, batch_first, proj_size, bias",
    list(itertools.product([1, 2], [False, True], [True, False], [0, 3], [True, False])),
)
def test_from_torch_and_back_for_every_option(num_layers, bidirectional, batch_first, proj_size, bias):
    torch = require_torch()
    torch.manual_seed(0)
    module = torch.nn.LSTM(
        F,
        U,
        num_layers=num_layers,
        bidirectional=bidirectional,
        batch_first=batch_first,
        proj_size=proj_size,
        bias=bias,
    )
    x = X if batch_first else X.transpose(1, 0, 2)
    output, (h_n, c_n) = module(torch.from_numpy(x))
    expected = output.detach().numpy()
    ours = tf_lstm.from_torch(module)
    output, (our_h, our_c) = ours(x)
    atol = tolerance(layers=num_layers)
    assert_same(output, expected, atol, "from_torch output")
    assert_same(our_h, h_n.detach().numpy(), atol, "h_n")
    assert_same(our_c, c_n.detach().numpy(), T * atol, "c_n")  # |c| grows by at most 1 a step: |c| <= T
    back = tf_lstm.to_torch(ours)
    assert_same(back(torch.from_numpy(x))[0].detach().numpy(), expected, atol, "to_torch output")
    assert set(back.state_dict()) == set(module.state_dict())
