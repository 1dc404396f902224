"""The scan driver (`tf_lstm.scan`): every method against a hand-stepped loop, and the choice of method."""

import numpy as np
import pytest
import tensorflow as tf

from tests.tolerance import EPS64
from tf_lstm.scan import UNROLL_MAX_STEPS, choose_method, scan_rnn

BATCH, STEPS, UNITS = 3, 6, 2
rng = np.random.default_rng(0)
X = rng.normal(size=(BATCH, STEPS, UNITS))
H0 = rng.normal(size=(BATCH, UNITS))
MASK = np.ones((BATCH, STEPS), bool)
MASK[0, 2:4] = False
MASK[2, 4:] = False


def step(carry, x_t):
    """A two-state recurrence with a per-step value: h' = tanh(x + a), a' = h + a, value d = x − h."""
    h, a = carry
    return (tf.tanh(x_t + a), h + a), {"d": x_t - h}


def by_hand(mask, go_backwards):
    """The same recurrence as a Python loop in NumPy: what every method must give."""
    h, a = H0, np.zeros_like(H0)
    outputs, a_seen, d_seen = [], [], []
    order = range(STEPS - 1, -1, -1) if go_backwards else range(STEPS)
    for t in order:
        keep = np.ones((BATCH, 1), bool) if mask is None else mask[:, t : t + 1]
        d_seen.append(X[:, t] - h)
        h, a = np.where(keep, np.tanh(X[:, t] + a), h), np.where(keep, h + a, a)
        outputs.append(h)
        a_seen.append(a)
    return np.stack(outputs, 1), (h, a), np.stack(a_seen, 1), np.stack(d_seen, 1)


@pytest.mark.parametrize("method", ["scan", "while", "unroll"])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("compiled", [False, True])
def test_every_method_equals_a_hand_stepped_loop(method, masked, go_backwards, compiled):
    mask = MASK if masked else None

    def run(x, h0, mask):
        return scan_rnn(
            step,
            x,
            (h0, tf.zeros_like(h0)),
            mask=mask,
            go_backwards=go_backwards,
            method=method,
            collect={"a": 1, "d": "d"},
        )

    run = tf.function(run, jit_compile=True) if compiled else run
    outputs, final, collected = run(tf.constant(X), tf.constant(H0), None if mask is None else tf.constant(mask))
    expected_outputs, expected_final, a_seen, d_seen = by_hand(mask, go_backwards)
    # float64, STEPS steps of three operations on values below 1 + STEPS.
    tolerance = EPS64 * (1 + STEPS) * 3 * STEPS
    np.testing.assert_allclose(outputs, expected_outputs, rtol=0, atol=tolerance)
    for got, expected in zip(final, expected_final):
        np.testing.assert_allclose(got, expected, rtol=0, atol=tolerance)
    np.testing.assert_allclose(collected["a"], a_seen, rtol=0, atol=tolerance)
    np.testing.assert_allclose(collected["d"], d_seen, rtol=0, atol=tolerance)


@pytest.mark.parametrize("method", ["scan", "while", "unroll"])
def test_time_major_layout_and_last_state_only(method):
    outputs, final, collected = scan_rnn(
        step,
        tf.constant(X.transpose(1, 0, 2)),
        (tf.constant(H0), tf.zeros(H0.shape, tf.float64)),
        time_major=True,
        return_sequences=False,
        method=method,
    )
    assert outputs is None and collected == {}
    np.testing.assert_allclose(final[0], by_hand(None, False)[1][0], rtol=0, atol=EPS64 * 3 * STEPS * (1 + STEPS))


@pytest.mark.parametrize("method", ["scan", "while", "unroll"])
def test_zero_steps_give_the_initial_state_and_empty_sequences(method):
    empty = tf.zeros([BATCH, 0, UNITS], tf.float64)
    outputs, final, collected = scan_rnn(
        step, empty, (tf.constant(H0), tf.zeros(H0.shape, tf.float64)), method=method, collect={"d": "d"}
    )
    assert outputs.shape == (BATCH, 0, UNITS) and collected["d"].shape[:2] == (BATCH, 0)
    np.testing.assert_array_equal(final[0], H0)


def test_zero_output_for_mask_zeroes_only_the_masked_outputs():
    outputs, _, _ = scan_rnn(
        step,
        tf.constant(X),
        (tf.constant(H0), tf.zeros(H0.shape, tf.float64)),
        mask=tf.constant(MASK),
        zero_output_for_mask=True,
        method="while",
    )
    assert not np.asarray(outputs)[~MASK].any()
    np.testing.assert_allclose(
        np.asarray(outputs)[MASK], by_hand(MASK, False)[0][MASK], rtol=0, atol=EPS64 * (1 + STEPS) * 3 * STEPS
    )


def test_bad_method_and_manual_backward_without_runner_or_with_collect():
    carry = (tf.constant(H0), tf.zeros(H0.shape, tf.float64))
    with pytest.raises(ValueError, match="method='fast'"):
        scan_rnn(step, tf.constant(X), carry, method="fast")
    with pytest.raises(ValueError, match="needs a runner"):
        scan_rnn(step, tf.constant(X), carry, method="manual_backward")
    with pytest.raises(ValueError, match="cannot collect"):
        scan_rnn(step, tf.constant(X), carry, method="manual_backward", runner=lambda *a, **k: None, collect={"d": "d"})


# (method, steps known, training, under XLA, the cell has a runner) -> (method run, projection hoisted)
CHOICES = [
    (("auto", 28, True, False, True), ("unroll", False)),
    (("auto", UNROLL_MAX_STEPS, False, False, True), ("unroll", True)),
    (("auto", UNROLL_MAX_STEPS + 1, True, False, True), ("manual_backward", False)),
    (("auto", None, True, False, True), ("manual_backward", False)),
    (("auto", None, True, False, False), ("while", True)),
    (("auto", None, False, False, True), ("while", True)),
    (("auto", 28, True, True, True), ("manual_backward", False)),
    (("auto", UNROLL_MAX_STEPS + 1, True, True, True), ("while", True)),
    (("auto", None, True, True, True), ("while", True)),
    (("auto", 28, True, True, False), ("while", True)),
    (("auto", 28, False, True, True), ("while", False)),
    (("auto", 500, False, True, False), ("while", False)),
    (("manual_backward", 28, True, False, True), ("manual_backward", False)),
    (("manual_backward", 28, False, False, True), ("while", True)),
    (("manual_backward", None, True, True, True), ("manual_backward", False)),
    (("scan", 28, True, True, True), ("scan", True)),
    (("while", None, False, False, False), ("while", True)),
    (("unroll", 500, True, False, True), ("unroll", True)),
    # Collecting per-step values or probing the state (the last field): the runner gives neither.
    (("manual_backward", 28, True, False, True, True), ("while", True)),
    (("manual_backward", None, True, True, True, True), ("while", True)),
    (("auto", None, True, False, True, True), ("while", True)),
    (("auto", 28, True, True, True, True), ("while", True)),
    (("auto", 28, True, False, True, True), ("unroll", False)),
]


@pytest.mark.parametrize(("situation", "expected"), CHOICES)
def test_choose_method_table(situation, expected):
    method, steps, training, xla, has_runner, *per_step = situation
    situation_keywords = {"steps": steps, "training": training, "xla": xla, "has_runner": has_runner}
    assert choose_method(method, **situation_keywords, per_step=any(per_step)) == expected
