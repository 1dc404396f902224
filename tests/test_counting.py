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
    _, weights = train(lambda: ArticleRMSProp(1e-3), x, y, w_x, w_rec, epochs=2001, dtype="float32")
    this_phase, other_phase = final_cycle_mean(weights), final_cycle_mean(weights[:-1])
    assert np.max(np.abs(weights[-1] - weights[-3])) < 1e-5  # a 2-cycle
    assert np.max(np.abs(weights[-1] - weights[-2])) > 1e-4  # of two distinct points
    assert this_phase == pytest.approx(other_phase, abs=1e-5)
    for mean in (this_phase, other_phase):
        assert documented("counting_rnn", "rmsprop_cycle_mean_wx").passes(mean[0])
        assert documented("counting_rnn", "rmsprop_cycle_mean_wrec").passes(mean[1])
    # The final weights to their printed digits: the two phases, 1.3e-3 apart, cannot both pass; so a run judges
    # them within the span of its rounding variants (which reach both points of the cycle).
    final = documented("counting_rnn", "rmsprop_final_wx")
    assert final.passes(weights[-1][0]) != final.passes(weights[-2][0])
    assert final.within_envelope(min(weights[-2:, 0]), max(weights[-2:, 0]))
    with pytest.raises(ValueError, match="at least 2 updates"):
        final_cycle_mean(weights[:1])


def _runs():
    import dataclasses
    import functools

    from reproductions.counting_rnn import Run
    from tf_lstm.optimizers import ArticleRMSProp

    gd = Run("gd", "GradientDescent", functools.partial(keras.optimizers.SGD, 1e-5), 1e-5, "float32")
    rmsprop = Run("rmsprop", "RMSProp", functools.partial(ArticleRMSProp, 1e-3), 1e-3, "float32")
    return gd, rmsprop, dataclasses


def test_the_numpy_reference_is_the_same_algorithm_in_another_rounding_order():
    """GD is not sensitive: the NumPy reference and TensorFlow agree to float32 rounding over 500 updates, and both
    give every printed GD cost to its digits. RMSProp is: they agree over its first 10 updates, then their rounding
    differences grow to percents by epoch 200, which is why its printed figures there are judged within a span."""
    from reproductions.counting_rnn import printed_costs, reference_run

    gd, rmsprop, dataclasses = _runs()
    x, y, w_x, w_rec = counting_data()
    # A cost is 20 sums of 10 steps of 3 operations, then 20 squares summed: a few units in the last place
    # (float32: 1.2e-7) per update, not compounding while GD is smooth; 8 of them, where a 1% error is 1e-2.
    bound = 8 * np.finfo(np.float32).eps
    tf_costs, _ = train(gd.make_optimizer, x, y, w_x, w_rec, epochs=2001, dtype="float32")
    numpy_run = reference_run(gd, x, y, (w_x, w_rec), 2001)
    assert np.max(np.abs(tf_costs[:500] - numpy_run.costs[:500]) / numpy_run.costs[:500]) <= bound
    assert all(figure.passes(numpy_run.costs[epoch - 1]) for _, epoch, figure in printed_costs("gd"))
    # A planted mistake, the rate 1% off, shows far beyond the bound.
    off = reference_run(dataclasses.replace(gd, learning_rate=1.01e-5), x, y, (w_x, w_rec), 500)
    assert np.max(np.abs(tf_costs[:500] - off.costs) / off.costs) > 100 * bound

    tf_costs, _ = train(rmsprop.make_optimizer, x, y, w_x, w_rec, epochs=200, dtype="float32")
    numpy_costs = reference_run(rmsprop, x, y, (w_x, w_rec), 200).costs
    relative = np.abs(tf_costs - numpy_costs) / numpy_costs
    assert np.max(relative[:10]) <= bound and relative[199] > 1e-3


def test_a_nudge_of_one_unit_in_the_last_place_is_a_nudge():
    from reproductions.counting_rnn import reference_run

    gd, _, _ = _runs()
    x, y, w_x, w_rec = counting_data()
    base, nudged = (reference_run(gd, x, y, (w_x, w_rec), 1, nudge) for nudge in ((0, 0), (1, -1)))
    moved = nudged.weights[0] - base.weights[0]
    assert moved[0] > 0 > moved[1]  # each weight moved its own way, by about its float32 spacing
    assert abs(moved[0]) <= 2 * np.spacing(np.float32(w_x)) and abs(moved[1]) <= 2 * np.spacing(np.float32(w_rec))
