import numpy as np
import pytest

from tf_lstm import MultiLayerLSTM

FEATURES, HIDDEN, BATCH, STEPS = 5, 6, 3, 7


def test_multilayer_config_round_trip():
    model = MultiLayerLSTM(
        HIDDEN, num_layers=2, bidirectional=True, batch_first=False, dropout=0.25, gate_order="ijfo", seed=3
    )
    clone = MultiLayerLSTM.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    x = np.random.default_rng(0).normal(size=(STEPS, BATCH, FEATURES)).astype("float32")
    output, (h_n, c_n) = clone(x)
    assert output.shape == (STEPS, BATCH, 2 * HIDDEN) and h_n.shape == (4, BATCH, HIDDEN)


def test_dropout_between_layers_only_in_training():
    model = MultiLayerLSTM(HIDDEN, num_layers=2, dropout=0.5, seed=0)
    x = np.random.default_rng(0).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    inference = [model(x, training=False)[0].numpy() for _ in range(2)]
    np.testing.assert_array_equal(inference[0], inference[1])
    assert not np.allclose(model(x, training=True)[0], inference[0])


def test_bad_hidden_size():
    with pytest.raises(ValueError, match="hidden_size=0"):
        MultiLayerLSTM(0)
