"""The chunked hand-written backward pass (`tf_lstm.manual_backward`) against autodiff through `tf.scan`."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.tolerance import (
    assert_close_f32,
    assert_within,
    float32_tolerance,
    lstm_terms,
    magnitude_of,
    statistical_tolerance,
)
from tf_lstm import ScanLSTM, manual_backward

BATCH, STEPS, FEATURES, UNITS = 3, 10, 5, 4
# The loss sums BATCH × (STEPS + 2) × UNITS terms (sin out, h², 0.3·c) of size and slope <= |c| <= 1 + STEPS
# (c starts from N(0, 1)), each off by the rounding of the STEPS steps behind it, on values <= |x|·|W| < 2.5.
# Their worst case (0.08) would hold a 1% error of the loss; six standard deviations of their sum do not.
LOSS_TOLERANCE = statistical_tolerance(
    BATCH * (STEPS + 2) * UNITS * (lstm_terms(STEPS, FEATURES, UNITS) + 2), 2.5 * (1 + STEPS)
)
# A gradient sums, over BATCH × STEPS, as many backward operations as the forward's, twice.
GRADIENT_TERMS = BATCH * STEPS * 2 * lstm_terms(STEPS, FEATURES, UNITS)


def assert_same_loss_and_gradients(got_loss, loss, got, expected):
    assert_within(got_loss, loss, LOSS_TOLERANCE, "the loss, chunked backward pass against autodiff")
    for g, e in zip(got, expected):
        assert_close_f32(g, e, GRADIENT_TERMS)


@pytest.mark.parametrize("error", [0.01, -0.01])
def test_the_loss_tolerance_catches_a_one_percent_error(error):
    _, loss, _ = _loss_and_grads("scan", *_data())
    with pytest.raises(AssertionError):
        assert_within(loss * (1 + error), loss, LOSS_TOLERANCE, f"the loss with {error:+.0%} planted")


def _data(steps=STEPS, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH, steps, FEATURES)).astype("float32")
    mask = np.ones((BATCH, steps), bool)
    mask[0, 2:5] = False
    mask[1, steps - 3 :] = False
    h0, c0 = rng.normal(size=(2, BATCH, UNITS)).astype("float32")
    return x, mask[:, :steps], h0, c0


def _loss_and_grads(
    method, x, mask, h0, c0, weights=None, *, use_bias=True, tanh=True, wrap=None, return_sequences=True, **kwargs
):
    # Seeded weights: with random ones the loss, a sum of terms near 1, now and
    # then cancels to near 0, where its relative tolerance means nothing.
    keras.utils.set_random_seed(0)
    layer = ScanLSTM(
        UNITS,
        method=method,
        return_sequences=return_sequences,
        return_state=True,
        use_bias=use_bias,
        bias_initializer="random_normal",
        gate_order="zifo",
        forget_bias=0.5,
        cell_activation="tanh" if tanh else None,
        seed=5,
        **kwargs,
    )
    layer.build((None, None, FEATURES))
    if weights is not None:
        layer.set_weights(weights)

    def run(x, mask, h0, c0):
        with tf.GradientTape() as tape:
            tape.watch([x, h0, c0])
            out, h, c = layer(x, mask=mask, initial_state=[h0, c0], training=True)
            loss = tf.reduce_sum(tf.sin(out)) + tf.reduce_sum(h**2) + tf.reduce_sum(c * 0.3)
        return loss, tape.gradient(loss, [x, h0, c0, *layer.trainable_variables])

    run = run if wrap is None else wrap(run)
    loss, grads = run(*(tf.constant(a) for a in (x, mask, h0, c0)))
    return layer.get_weights(), float(loss), [g.numpy() for g in grads]


def _chunked(monkeypatch, chunk_steps):
    """Chunks of `chunk_steps` steps; None: the short sequence's Python loop with z kept
    (`manual_backward._Options.unroll`), which runs under XLA, here without it."""
    if chunk_steps is None:
        monkeypatch.setattr(manual_backward, "in_xla_context", lambda: True)
    else:
        monkeypatch.setattr(manual_backward, "CHUNK_ROWS", chunk_steps * BATCH)


@pytest.mark.parametrize("chunk_steps", [1, 3, 4, 10, 32, None])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("tanh", [True, False])
def test_every_chunking_gives_autodiff_gradients(monkeypatch, chunk_steps, go_backwards, tanh):
    _chunked(monkeypatch, chunk_steps)
    data = _data()
    weights, loss, expected = _loss_and_grads(
        "scan", *data, go_backwards=go_backwards, tanh=tanh, recurrent_dropout=0.25
    )
    _, got_loss, got = _loss_and_grads(
        "manual_backward", *data, weights, go_backwards=go_backwards, tanh=tanh, recurrent_dropout=0.25
    )
    # x, h0, c0, kernel, recurrent kernel, bias
    assert len(got) == 6
    assert_same_loss_and_gradients(got_loss, loss, got, expected)


@pytest.mark.parametrize("chunk_steps", [3, None])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_last_state_only(monkeypatch, go_backwards, chunk_steps):
    # Without return_sequences the outputs are not a result of the custom gradient.
    _chunked(monkeypatch, chunk_steps)
    data = _data()
    weights, loss, expected = _loss_and_grads("scan", *data, return_sequences=False, go_backwards=go_backwards)
    _, got_loss, got = _loss_and_grads(
        "manual_backward", *data, weights, return_sequences=False, go_backwards=go_backwards, wrap=tf.function
    )
    assert_same_loss_and_gradients(got_loss, loss, got, expected)


@pytest.mark.parametrize("jit", [False, True])
def test_unknown_length_graph_and_xla_without_bias(monkeypatch, jit):
    monkeypatch.setattr(
        manual_backward, "CHUNK_ROWS", 4 * BATCH
    )  # with an unknown batch: chunks of 4 steps, known at run time
    data = _data(steps=9)
    spec = [
        tf.TensorSpec([None, None, FEATURES]),
        tf.TensorSpec([None, None], tf.bool),
        tf.TensorSpec([None, UNITS]),
        tf.TensorSpec([None, UNITS]),
    ]
    wrap = (lambda f: tf.function(f, jit_compile=True)) if jit else (lambda f: tf.function(f, input_signature=spec))
    weights, loss, expected = _loss_and_grads("scan", *data, use_bias=False)
    _, got_loss, got = _loss_and_grads("manual_backward", *data, weights, use_bias=False, wrap=wrap)
    assert_same_loss_and_gradients(got_loss, loss, got, expected)


@pytest.mark.parametrize("jit", [False, True])
def test_under_xla_a_short_sequence_runs_as_straight_line_code(jit):
    # Known length <= UNROLL_MAX_STEPS under XLA: no loop forward or backward, and the backward pass reads the
    # kept z instead of recomputing it: of its matmuls only the STEPS per-step ones and the chunk's three remain.
    # Without XLA: the memory-lean loop, which recomputes z with two more matmuls.
    data = _data()
    weights, loss, expected = _loss_and_grads("scan", *data)
    graphs = []

    def wrap(run):
        def traced(*args):
            graphs.append(tf.compat.v1.get_default_graph())
            return run(*args)

        return tf.function(traced, jit_compile=jit)

    _, got_loss, got = _loss_and_grads("manual_backward", *data, weights, wrap=wrap)
    assert_same_loss_and_gradients(got_loss, loss, got, expected)
    ops = [op.type for op in graphs[0].get_operations()]
    loops = {"While", "StatelessWhile"} & set(ops)
    if jit:
        assert not loops
        # Forward: one projection and STEPS recurrent matmuls; backward: STEPS for dh, then dx, dW_x and dW_h.
        assert ops.count("MatMul") == (1 + STEPS) + (STEPS + 3)
    else:
        assert loops


def test_empty_sequence_passes_the_state_gradient_through():
    x, mask, h0, c0 = _data(steps=0)
    spec = [
        tf.TensorSpec([None, None, FEATURES]),
        tf.TensorSpec([None, None], tf.bool),
        tf.TensorSpec([None, UNITS]),
        tf.TensorSpec([None, UNITS]),
    ]
    _, loss, (dx, dh0, dc0, d_kernel, d_recurrent, d_bias) = _loss_and_grads(
        "manual_backward", x, mask, h0, c0, wrap=lambda f: tf.function(f, input_signature=spec)
    )
    # Two sums of BATCH × UNITS terms of size <= h0², |c0|.
    sums = float32_tolerance(2 * BATCH * UNITS + 2, magnitude_of(h0**2, c0))
    assert loss == pytest.approx(float(np.sum(h0.astype(float) ** 2) + np.sum(c0 * 0.3)), rel=0, abs=sums)
    assert dx.shape == (BATCH, 0, FEATURES)
    np.testing.assert_allclose(dh0, 2 * h0, rtol=0, atol=float32_tolerance(1, magnitude_of(2 * h0)))
    np.testing.assert_allclose(dc0, np.full_like(c0, 0.3), rtol=0, atol=float32_tolerance(1, 0.3))
    for g in (d_kernel, d_recurrent, d_bias):
        np.testing.assert_array_equal(g, np.zeros_like(g))


def test_chunk_steps_must_be_a_positive_integer():
    x = tf.zeros([2, 1, 3])
    zeros = tf.zeros([1, 2])
    with pytest.raises(ValueError, match="chunk_steps must be a positive integer, got chunk_steps=0"):
        manual_backward.lstm_sequence(
            x,
            None,
            (zeros, zeros),
            kernel=tf.zeros([3, 8]),
            bias=None,
            recurrent_kernel=tf.zeros([2, 8]),
            gate_positions=dict(i=0, f=1, g=2, o=3),
            chunk_steps=0,
        )
