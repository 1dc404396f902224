"""Each bad input raises the documented error, naming the argument and the value."""

import keras
import numpy as np
import pytest

from tf_lstm import ScanLSTM, ScanRNN
from tf_lstm.interop import load_keras_lstm_weights, load_torch_state_dict
from tf_lstm.multilayer import MultiLayerLSTM

X = np.zeros((2, 5, 3), "float32")


@pytest.mark.parametrize("units", [0, -3])
def test_units_must_be_positive(units):
    with pytest.raises(ValueError, match=f"units={units!r}"):
        ScanLSTM(units)


@pytest.mark.parametrize("units", [2.5, "8", True, None])
def test_units_of_the_wrong_type(units):
    with pytest.raises(TypeError, match=f"units must be an integer, got units={units!r}"):
        ScanLSTM(units)


@pytest.mark.parametrize(
    ("argument", "value"), [("forget_bias", "1"), ("dropout", "0.1"), ("return_sequences", 1), ("use_bias", "yes")]
)
def test_one_rule_a_wrong_type_is_a_type_error_naming_the_value(argument, value):
    with pytest.raises(TypeError, match=f"{argument} must be .*, got {argument}={value!r}"):
        ScanLSTM(4, **{argument: value})


@pytest.mark.parametrize("gate_order", ["ifgx", "iifo", "ifg"])
def test_unknown_or_repeated_gate_letters(gate_order):
    with pytest.raises(ValueError, match=f"gate_order={gate_order!r}"):
        ScanLSTM(4, gate_order=gate_order)


def test_rank_two_inputs():
    with pytest.raises(ValueError, match=r"rank 3.*\(2, 5\)"):
        ScanLSTM(4)(np.zeros((2, 5), "float32"))


def test_wrong_feature_size_after_build():
    layer = ScanLSTM(4)
    layer(X)
    with pytest.raises(ValueError, match=r"built for 3 input features.*\(2, 5, 6\)"):
        layer(np.zeros((2, 5, 6), "float32"))


def test_integer_inputs_are_a_type_error():
    with pytest.raises(TypeError, match="floating-point inputs.*int32"):
        ScanLSTM(4)(np.zeros((2, 5, 3), "int32"))


def test_mask_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"mask must have shape.*\(2, 5\).*\(2, 4\)"):
        ScanLSTM(4)(X, mask=np.ones((2, 4), bool))


def test_dropout_out_of_range():
    with pytest.raises(ValueError, match="dropout=1.5"):
        ScanLSTM(4, dropout=1.5)


def test_bad_cell_activation():
    with pytest.raises(ValueError, match="cell_activation='nope'"):
        ScanLSTM(4, cell_activation="nope")


def test_initial_state_of_wrong_arity():
    with pytest.raises(ValueError, match="initial_state must be a list of 2"):
        ScanLSTM(4)(X, initial_state=[np.zeros((2, 4), "float32")])


def test_scan_rnn_units():
    with pytest.raises(ValueError, match="units=0"):
        ScanRNN(0)


def _torch_like_state(hidden=4, features=3):
    rng = np.random.default_rng(0)
    return {
        "weight_ih_l0": rng.normal(size=(4 * hidden, features)),
        "weight_hh_l0": rng.normal(size=(4 * hidden, hidden)),
        "bias_ih_l0": rng.normal(size=(4 * hidden,)),
        "bias_hh_l0": rng.normal(size=(4 * hidden,)),
    }


def test_state_dict_missing_keys():
    state = _torch_like_state()
    del state["bias_hh_l0"]
    with pytest.raises(ValueError, match=r"missing keys \['bias_hh_l0'\]"):
        load_torch_state_dict(MultiLayerLSTM(4), state)


def test_state_dict_layers_mismatch():
    with pytest.raises(ValueError, match=r"missing keys \['bias_hh_l1'"):
        load_torch_state_dict(MultiLayerLSTM(4, num_layers=2), _torch_like_state())


def test_state_dict_wrong_shape():
    state = _torch_like_state()
    state["weight_hh_l0"] = np.zeros((16, 5))
    with pytest.raises(
        ValueError, match=r"state_dict\['weight_hh_l0'\] must have shape \(16, 4\), got shape \(16, 5\)"
    ):
        load_torch_state_dict(MultiLayerLSTM(4), state)


def test_keras_weights_of_other_units():
    keras_lstm = keras.layers.LSTM(5)
    keras_lstm(X)
    with pytest.raises(ValueError, match="units differ: ScanLSTM has 4, keras_lstm has 5"):
        load_keras_lstm_weights(ScanLSTM(4), keras_lstm)


def test_keras_weights_from_unbuilt_layer():
    with pytest.raises(TypeError, match="not built"):
        load_keras_lstm_weights(ScanLSTM(4), keras.layers.LSTM(4))


def test_unknown_method():
    with pytest.raises(ValueError, match="method='fast'"):
        ScanLSTM(4, method="fast")


def test_manual_backward_is_lstm_only_and_tanh_or_none():
    with pytest.raises(ValueError, match="method='manual_backward'"):
        ScanRNN(2, method="manual_backward")
    with pytest.raises(ValueError, match="cell_activation='relu'"):
        ScanLSTM(4, method="manual_backward", cell_activation="relu")
