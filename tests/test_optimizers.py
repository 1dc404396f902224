import numpy as np
import pytest
import tensorflow as tf

from tests.tolerance import EPS32, EPS64, magnitude_of
from tf_lstm.optimizers import ArticleRMSProp
from tf_lstm.reference import article_rmsprop_reference


@pytest.mark.parametrize("scale", [0.1, 30.0])  # below and above the rescaling threshold
def test_update_equals_numpy_rule_for_50_steps(scale):
    rng = np.random.default_rng(0)
    params = [rng.normal(size=(3,)), rng.normal(size=(2, 2))]
    variables = [tf.Variable(p, dtype=tf.float64) for p in params]
    optimizer = ArticleRMSProp(learning_rate=0.01, momentum=0.5)
    state = None
    for _ in range(50):
        grads = [rng.normal(size=p.shape) * scale for p in params]
        optimizer.apply_gradients(zip([tf.constant(g) for g in grads], variables))
        # Keras keeps the learning rate as a float32 variable: give NumPy the same number.
        params, state = article_rmsprop_reference(
            params, grads, state, learning_rate=float(np.float32(0.01)), momentum=0.5
        )
        for variable, expected in zip(variables, params):
            # float64 on both sides: about 20 rounded operations per update, over at most 50 updates.
            np.testing.assert_allclose(
                variable.numpy(), expected, rtol=0, atol=EPS64 * 20 * 50 * magnitude_of(expected)
            )


def test_first_step_uses_the_old_velocity():
    # One step from zero state: E[g²] = 0.1 g², E[g] = 0.1 g, r = 0.3|g|, θ moves by −(1+μ)·lr/0.3·sign(g).
    variable = tf.Variable([1.0, 2.0], dtype=tf.float64)
    ArticleRMSProp(learning_rate=0.01, rescale=1e9).apply_gradients([(tf.constant([1.0, -2.0], tf.float64), variable)])
    # The learning rate is a float32 variable: float32(0.01) is off by eps32/2 of itself, so the step of
    # 0.05 is too; the rest is float64 (a dozen operations on values <= 2).
    np.testing.assert_allclose(
        variable.numpy(), [1.0 - 0.05, 2.0 + 0.05], rtol=0, atol=0.05 * EPS32 / 2 + EPS64 * 12 * 2
    )


def test_config_round_trip():
    optimizer = ArticleRMSProp(learning_rate=0.002, rho=0.8, momentum=0.3, min_rms=1e-3, rescale=4.0)
    config = ArticleRMSProp.from_config(optimizer.get_config()).get_config()
    assert {k: config[k] for k in ("rho", "momentum", "min_rms", "rescale")} == dict(
        rho=0.8, momentum=0.3, min_rms=1e-3, rescale=4.0
    )


def test_bad_rho():
    with pytest.raises(ValueError, match="rho=1.5"):
        ArticleRMSProp(rho=1.5)
