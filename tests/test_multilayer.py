import numpy as np
import pytest

from tests.tolerance import float32_tolerance
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


@pytest.mark.parametrize("rate", [0.25, 0.5])
def test_dropout_between_layers_drops_its_rate_scales_the_rest_and_only_in_training(rate):
    """PyTorch's ``dropout``: on the outputs of every layer but the last, in training only.

    The second layer must read the first one's outputs with a share `rate` of
    them zeroed (within 5 binomial standard deviations) and the rest scaled
    by 1/(1 − rate), and the model's outputs must be the second layer's on
    exactly that input.
    """
    hidden, batch, steps = 64, 8, 10
    model = MultiLayerLSTM(hidden, num_layers=2, dropout=rate, seed=0)
    x = np.random.default_rng(0).normal(size=(batch, steps, FEATURES)).astype("float32")
    model(x)
    first, second = model.lstm_layers
    seen = []
    dropout = model.between_layers

    def recording(inputs, training=None):
        outputs = dropout(inputs, training=training)
        seen.append((np.asarray(inputs), np.asarray(outputs)))
        return outputs

    model.between_layers = recording
    output = model(x, training=True)[0].numpy()
    ((given, passed),) = seen  # once: between the two layers, not after the last
    # Each layer again in the same mode: training and inference may take other (equal to rounding) paths.
    np.testing.assert_array_equal(given, first(x, training=True)[0].numpy())
    np.testing.assert_array_equal(output, second(passed, training=True)[0].numpy())
    dropped = passed == 0.0
    bound = 5 * np.sqrt(rate * (1 - rate) / dropped.size)
    print(f"dropout={rate}: dropped share {dropped.mean():.4f} (bound ±{bound:.4f})")
    assert abs(dropped.mean() - rate) <= bound
    np.testing.assert_allclose(passed[~dropped], given[~dropped] / (1 - rate), rtol=float32_tolerance(2), atol=0)

    seen.clear()
    inference = model(x, training=False)[0].numpy()
    np.testing.assert_array_equal(inference, second(first(x)[0])[0].numpy())
    assert all(np.array_equal(a, b) for a, b in seen)  # passed through untouched


def test_bad_hidden_size():
    with pytest.raises(ValueError, match="hidden_size=0"):
        MultiLayerLSTM(0)
