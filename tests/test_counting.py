import keras
import numpy as np
import pytest

from reproductions.counting_rnn import train
from tests.tolerance import float32_tolerance
from tf_lstm.data import counting_data
from tf_lstm.reference import linear_rnn_reference


def test_data_and_initial_weights_are_the_articles():
    x, y, w_x, w_rec = counting_data()
    assert x.shape == (20, 10) and set(np.unique(x)) == {0.0, 1.0}
    np.testing.assert_array_equal(y, x.sum(axis=1))
    assert round(w_x, 4) == 0.0900 and round(w_rec, 4) == 0.0113


def test_first_gd_costs_are_the_articles():
    x, y, w_x, w_rec = counting_data()
    costs, weights = train(lambda: keras.optimizers.SGD(1e-5), x, y, w_x, w_rec, epochs=100)
    assert costs.shape == (100,) and weights.shape == (100, 2)
    # The loss before the first update is that of the initial weights: 20 samples of 10 steps (3
    # operations each), squared (errors <= 10, squares <= 100) and summed.
    expected_first = np.sum((y - linear_rnn_reference(x, w_x, w_rec)) ** 2)
    np.testing.assert_allclose(costs[0], expected_first, rtol=0, atol=float32_tolerance(20 * (10 * 3 + 2), 100.0))
    # The article prints 4 decimals: 529.6915 stands for [529.69145, 529.69155].
    np.testing.assert_allclose(costs[99], 529.6915, rtol=0, atol=5e-5 + float32_tolerance(20 * 32, 100.0))


def test_rmsprop_verdict_does_not_follow_the_cycle_phase():
    """Either point of the final 2-cycle is the end of a run; the judged cycle mean is the same for both."""
    from reproductions.counting_rnn import final_cycle_mean
    from reproductions.documented import documented
    from tf_lstm.optimizers import ArticleRMSProp

    x, y, w_x, w_rec = counting_data()
    _, weights = train(lambda: ArticleRMSProp(1e-3), x, y, w_x, w_rec, 2001, "float32")
    this_phase, other_phase = final_cycle_mean(weights), final_cycle_mean(weights[:-1])
    assert np.max(np.abs(weights[-1] - weights[-3])) < 1e-5  # a 2-cycle
    assert np.max(np.abs(weights[-1] - weights[-2])) > 1e-4  # of two distinct points
    assert this_phase == pytest.approx(other_phase, abs=1e-5)
    for mean in (this_phase, other_phase):
        assert documented("counting_rnn", "rmsprop_cycle_mean_wx").passes(mean[0])
        assert documented("counting_rnn", "rmsprop_cycle_mean_wrec").passes(mean[1])
    # What used to be judged: the two phases' final weights, 1.3e-3 apart, cannot both pass within 1e-3.
    final = documented("counting_rnn", "rmsprop_final_wx")
    assert abs(weights[-1][0] - final.documented) <= 1e-3 or abs(weights[-2][0] - final.documented) <= 1e-3
    assert not (abs(weights[-1][0] - final.documented) <= 1e-3 and abs(weights[-2][0] - final.documented) <= 1e-3)
    with pytest.raises(ValueError, match="at least 2 updates"):
        final_cycle_mean(weights[:1])
