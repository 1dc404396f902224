"""Earlier names keep working, each with a DeprecationWarning that names its replacement (CHANGELOG.md)."""

import numpy as np
import pytest
import tensorflow as tf

import tf_lstm
from tf_lstm import ScanLSTM, scan_rnn


def test_method_bptt_is_manual_backward_with_a_warning():
    with pytest.warns(DeprecationWarning, match="method='bptt' is named method='manual_backward'"):
        layer = ScanLSTM(3, method="bptt")
    assert layer.method == "manual_backward" and layer.get_config()["method"] == "manual_backward"
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    expected = layer(x)
    restored = ScanLSTM.from_config(layer.get_config())  # a saved "manual_backward" loads as it is, silently
    restored.build(x.shape)
    restored.set_weights(layer.get_weights())
    np.testing.assert_array_equal(restored(x), expected)


def test_scan_rnn_takes_the_earlier_method_name_with_a_warning():
    def step(carry, x_t):
        return (carry[0] + x_t,), {}

    x = tf.ones([3, 2, 1])
    with pytest.warns(DeprecationWarning, match="method='bptt'"), pytest.raises(ValueError, match="needs a runner"):
        scan_rnn(step, x, (tf.zeros([2, 1]),), time_major=True, method="bptt")


def test_step_weights_is_step_inputs_with_a_warning():
    with pytest.warns(DeprecationWarning, match="tf_lstm.StepWeights is named tf_lstm.StepInputs"):
        assert tf_lstm.StepWeights is tf_lstm.StepInputs
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        tf_lstm.NoSuchName  # noqa: B018
