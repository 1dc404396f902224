"""Keras' knobs on ScanLSTM, each against keras.layers.LSTM given the same weights: outputs and gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layer_checks import check_layer
from tests.tolerance import assert_close_f32, float32_tolerance, lstm_terms
from tf_lstm import ScanLSTM, load_keras_lstm_weights

BATCH, STEPS, FEATURES, UNITS = 3, 6, 4, 5
TERMS = lstm_terms(STEPS, FEATURES, UNITS)
# A gradient sums every step's and every example's contribution, and the backward pass doubles the operations.
GRADIENT_TERMS = 2 * BATCH * TERMS


@pytest.fixture
def x():
    return np.random.default_rng(0).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")


def _mask():
    mask = np.ones((BATCH, STEPS), bool)
    mask[0, 4:] = False
    mask[1, 2] = False
    return tf.constant(mask)


def _pair(x, **options):
    """A Keras LSTM and a ScanLSTM (Keras' gate order) with its weights, both with `options`."""
    common = dict(return_sequences=True, return_state=True, **options)
    keras_options = {key: value for key, value in common.items() if key not in ("method",)}
    keras_lstm = keras.layers.LSTM(UNITS, bias_initializer="random_normal", **keras_options)
    keras_lstm(x)
    ours = ScanLSTM(UNITS, gate_order="ifco", **common)
    load_keras_lstm_weights(ours, keras_lstm)
    return keras_lstm, ours


def _outputs_and_gradients(layer, variables, x, mask):
    target = tf.constant(np.random.default_rng(1).normal(size=(BATCH, STEPS, UNITS)), tf.float32)
    with tf.GradientTape() as tape:
        outputs = layer(x, mask=mask, training=True)
        loss = tf.reduce_sum(outputs[0] * target) + tf.reduce_sum(outputs[2])
    return [o.numpy() for o in outputs], [g.numpy() for g in tape.gradient(loss, variables)]


@pytest.mark.parametrize(
    "options",
    [
        dict(recurrent_activation="hard_sigmoid"),
        dict(activation="relu", recurrent_activation="hard_sigmoid"),
        dict(activation="softsign"),
        dict(zero_output_for_mask=True),
        dict(zero_output_for_mask=True, go_backwards=True),
        dict(unit_forget_bias=True, recurrent_activation="hard_sigmoid"),
    ],
    ids=lambda options: ",".join(f"{k}={v}" for k, v in options.items()),
)
@pytest.mark.parametrize("method", ["auto", "scan", "while", "unroll"])
def test_outputs_and_gradients_equal_keras(x, options, method):
    keras_lstm, ours = _pair(x, method=method, **options)
    expected, expected_grads = _outputs_and_gradients(keras_lstm, keras_lstm.trainable_variables, x, _mask())
    got, grads = _outputs_and_gradients(ours, [ours.kernel, ours.recurrent_kernel, ours.bias], x, _mask())
    for a, b in zip(got, expected):
        assert_close_f32(a, b, TERMS)
    for a, b in zip(grads, expected_grads):
        assert_close_f32(a, b, GRADIENT_TERMS)


def test_unit_forget_bias_initialises_the_forget_block_to_one_like_keras(x):
    keras_lstm = keras.layers.LSTM(UNITS)  # unit_forget_bias=True is Keras' default
    keras_lstm(x)
    for order in ("ifco", "ifgo", "ijfo"):
        ours = ScanLSTM(UNITS, gate_order=order, unit_forget_bias=True)
        ours(x)
        bias = ours.bias.numpy().reshape(4, UNITS)
        forget = ours.gate_positions["f"]
        np.testing.assert_array_equal(bias[forget], np.ones(UNITS))
        np.testing.assert_array_equal(np.delete(bias, forget, axis=0), np.zeros((3, UNITS)))
    load_keras_lstm_weights(ours, keras_lstm)  # Keras' own initial bias, permuted: the same blocks
    np.testing.assert_array_equal(
        ours.bias.numpy(), ScanLSTM(UNITS, gate_order="ijfo", unit_forget_bias=True).initial_bias((4 * UNITS,)).numpy()
    )


def test_regularizer_losses_equal_keras(x):
    options = dict(
        kernel_regularizer=keras.regularizers.L2(0.1),
        recurrent_regularizer=keras.regularizers.L1(0.01),
        bias_regularizer=keras.regularizers.L1L2(0.02, 0.2),
        activity_regularizer=keras.regularizers.L2(0.3),
    )
    keras_lstm = keras.layers.LSTM(UNITS, bias_initializer="random_normal", **options)
    keras_lstm(x)
    ours = ScanLSTM(UNITS, gate_order="ifco", **options)
    load_keras_lstm_weights(ours, keras_lstm)
    keras_lstm(x)
    ours(x)
    assert len(ours.losses) == len(keras_lstm.losses) == 4
    # A loss sums every weight (or output) once: terms = its size.
    assert_close_f32(sum(ours.losses), sum(keras_lstm.losses), terms=4 * UNITS * (FEATURES + UNITS + 1))


def test_constraints_hold_after_an_optimizer_step_like_keras(x):
    options = dict(
        kernel_constraint=keras.constraints.MaxNorm(0.5),
        recurrent_constraint=keras.constraints.UnitNorm(),
        bias_constraint=keras.constraints.NonNeg(),
    )
    keras_lstm = keras.layers.LSTM(UNITS, bias_initializer="random_normal", **options)
    keras_lstm(x)
    ours = ScanLSTM(UNITS, gate_order="ifco", **options)
    load_keras_lstm_weights(ours, keras_lstm)
    for layer in (keras_lstm, ours):
        optimizer = keras.optimizers.SGD(0.5)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x) ** 2)
        variables = layer.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    assert np.all(ours.bias.numpy() >= 0)
    assert np.all(np.linalg.norm(ours.kernel.numpy(), axis=0) <= 0.5 + 1e-6)
    for a, b in zip(ours.trainable_variables, keras_lstm.trainable_variables):
        assert_close_f32(a.numpy(), b.numpy(), GRADIENT_TERMS)


def test_bidirectional_with_knobs_equals_keras(x):
    options = dict(recurrent_activation="hard_sigmoid", return_sequences=True)
    keras_both = keras.layers.Bidirectional(keras.layers.LSTM(UNITS, bias_initializer="random_normal", **options))
    expected = keras_both(x, mask=_mask())
    ours = keras.layers.Bidirectional(ScanLSTM(UNITS, gate_order="ifco", **options))
    ours(x)
    load_keras_lstm_weights(ours.forward_layer, keras_both.forward_layer)
    load_keras_lstm_weights(ours.backward_layer, keras_both.backward_layer)
    assert_close_f32(ours(x, mask=_mask()), expected, TERMS)


def test_every_knob_saves_loads_and_exports(tmp_path, x):
    def make():
        return ScanLSTM(
            UNITS,
            activation="relu",
            recurrent_activation="hard_sigmoid",
            unit_forget_bias=True,
            kernel_regularizer="l2",
            recurrent_constraint="non_neg",
            activity_regularizer=keras.regularizers.L1(0.01),
            zero_output_for_mask=True,
            return_sequences=True,
        )

    check_layer(make, x, [(BATCH, STEPS, UNITS)], tmp_path, weights=3, terms=TERMS)
    config = make().get_config()
    assert config["recurrent_activation"] == "hard_sigmoid" and config["unit_forget_bias"] is True
    assert config["zero_output_for_mask"] is True and config["kernel_regularizer"]["class_name"] == "L2"


def test_knobs_under_xla_equal_eager(x):
    layer = ScanLSTM(UNITS, activation="relu", recurrent_activation="hard_sigmoid", return_sequences=True)
    eager = layer(x, mask=_mask())
    compiled = tf.function(lambda x, m: layer(x, mask=m), jit_compile=True)(tf.constant(x), _mask())
    assert_close_f32(compiled, eager, TERMS)


def test_manual_backward_states_why_it_cannot_take_other_activations():
    with pytest.raises(ValueError, match="recurrent_activation='hard_sigmoid'"):
        ScanLSTM(UNITS, recurrent_activation="hard_sigmoid", method="manual_backward")
    assert ScanLSTM(UNITS).cell.missing_sequence_runner() is None


# -- stateful ------------------------------------------------------------------------


def _stateful(batch=BATCH, **options):
    inputs = keras.Input((None, FEATURES), batch_size=batch)
    layer = ScanLSTM(UNITS, stateful=True, return_sequences=True, bias_initializer="random_normal", **options)
    layer(inputs)
    return layer


def test_stateful_carries_the_state_across_calls_and_resets(x):
    layer = _stateful()
    whole = ScanLSTM(UNITS, return_sequences=True)
    whole.build(x.shape)
    whole.set_weights(layer.get_weights()[:3])
    expected = whole(x, mask=_mask())
    first = layer(x[:, :2], mask=_mask()[:, :2])
    second = layer(x[:, 2:], mask=_mask()[:, 2:])
    assert_close_f32(np.concatenate([first, second], axis=1), expected, TERMS)
    layer.reset_state()
    assert all(np.all(state.numpy() == 0) for state in layer.states)
    assert_close_f32(layer(x[:, :2], mask=_mask()[:, :2]), first, TERMS)


def test_stateful_equals_keras_stateful(x):
    inputs = keras.Input((None, FEATURES), batch_size=BATCH)
    keras_lstm = keras.layers.LSTM(UNITS, stateful=True, return_sequences=True, bias_initializer="random_normal")
    keras_lstm(inputs)
    ours = _stateful(gate_order="ifco")
    load_keras_lstm_weights(ours, keras_lstm)
    for chunk in (x[:, :3], x[:, 3:], x[:, :1]):
        assert_close_f32(ours(chunk), keras_lstm(chunk), TERMS)


def test_stateful_training_is_truncated_backpropagation(x):
    layer = _stateful()
    layer(x[:, :3])
    kept = [tf.identity(state) for state in layer.states]
    variables = [layer.kernel, layer.recurrent_kernel, layer.bias]
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x[:, 3:]) ** 2)
    truncated = tape.gradient(loss, variables)
    plain = ScanLSTM(UNITS, return_sequences=True)
    plain.build(x.shape)
    plain.set_weights(layer.get_weights()[:3])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(plain(x[:, 3:], initial_state=[tf.stop_gradient(k) for k in kept]) ** 2)
    stopped = tape.gradient(loss, plain.trainable_variables)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(plain(x)[:, 3:] ** 2)
    through = tape.gradient(loss, plain.trainable_variables)
    for a, b, c in zip(truncated, stopped, through):
        assert_close_f32(a, b, GRADIENT_TERMS)
        assert np.max(np.abs(a.numpy() - c.numpy())) > 1e-3  # the full gradient differs: the boundary stops it


def test_stateful_refuses_another_batch_size(x):
    layer = _stateful()
    with pytest.raises(ValueError, match=r"keeps the state of 3 sequences.*\(2 sequences\)"):
        layer(x[:2])


def test_stateful_needs_the_batch_size_when_built():
    with pytest.raises(ValueError, match="stateful=True needs the batch size"):
        ScanLSTM(UNITS, stateful=True)(keras.Input((None, FEATURES)))


def test_reset_state_of_a_layer_without_state_is_an_error():
    with pytest.raises(ValueError, match="is not stateful"):
        ScanLSTM(UNITS).reset_state()


@pytest.mark.parametrize(
    "options, error, message",
    [
        (dict(recurrent_activation=None), ValueError, "recurrent_activation must be a Keras activation"),
        (dict(activation="no_such"), ValueError, "activation must be None or a Keras activation"),
        (dict(stateful="yes"), TypeError, "stateful"),
        (dict(zero_output_for_mask=1), TypeError, "zero_output_for_mask"),
        (dict(unit_forget_bias="yes"), TypeError, "unit_forget_bias"),
        (dict(kernel_regularizer="no_such"), ValueError, "no_such"),
    ],
)
def test_bad_knobs_are_refused_by_name(options, error, message):
    with pytest.raises(error, match=message):
        ScanLSTM(UNITS, **options)


@pytest.mark.parametrize("rate", [0.3, 0.7])
@pytest.mark.parametrize("which", ["dropout", "recurrent_dropout"])
def test_dropout_drops_its_rate_of_units_and_scales_the_rest_by_one_over_one_minus_rate(rate, which):
    """The share of dropped units is the rate, within 5 binomial standard deviations; kept ones are x / (1 − rate)."""
    from tf_lstm import ScanRNN

    batch, units = 8, 400
    layer = ScanRNN(units, return_sequences=True, seed=2, **{which: rate})
    layer.build((None, 1, units))
    # s_1 = (x ⊙ m)·I, or (s_0 ⊙ m)·I: each unit shows its mask, scaled.
    layer.kernel.assign(tf.eye(units) if which == "dropout" else tf.zeros([units, units]))
    layer.recurrent_kernel.assign(tf.zeros([units, units]) if which == "dropout" else tf.eye(units))
    x = tf.ones([batch, 1, units]) if which == "dropout" else tf.zeros([batch, 1, units])
    state = None if which == "dropout" else [tf.ones([batch, units])]
    out = layer(x, initial_state=state, training=True).numpy()[:, 0]
    dropped = out == 0.0
    n = dropped.size
    print(f"{which}={rate}: dropped share {dropped.mean():.4f} (bound ±{5 * np.sqrt(rate * (1 - rate) / n):.4f})")
    assert abs(dropped.mean() - rate) <= 5 * np.sqrt(rate * (1 - rate) / n)
    np.testing.assert_allclose(out[~dropped], 1.0 / (1.0 - rate), rtol=float32_tolerance(2), atol=0)
    inference = layer(x, initial_state=state, training=False).numpy()[:, 0]
    np.testing.assert_array_equal(inference, np.ones_like(inference))  # no dropout outside training


def test_dropout_draws_one_mask_for_every_step():
    """Gal & Ghahramani's variational dropout: a unit dropped at one step is dropped at every step."""
    from tf_lstm import ScanRNN

    steps, units = 6, 40
    inputs_only = ScanRNN(units, return_sequences=True, dropout=0.5, kernel_initializer="identity", seed=1)
    inputs_only.build((None, steps, units))
    inputs_only.recurrent_kernel.assign(tf.zeros([units, units]))
    out = inputs_only(tf.ones([2, steps, units]), training=True).numpy()  # s_t = x_t ⊙ mask / (1 − rate)
    assert np.all(out == out[:, :1]) and 0 < np.mean(out == 0) < 1
    state_only = ScanRNN(units, return_sequences=True, recurrent_dropout=0.5, seed=1)
    state_only.build((None, steps, units))
    state_only.kernel.assign(tf.zeros([units, units]))
    state_only.recurrent_kernel.assign(tf.eye(units))
    out = state_only(tf.zeros([2, steps, units]), initial_state=[tf.ones([2, units])], training=True).numpy()
    dropped = out == 0  # s_t = s_{t−1} ⊙ mask / (1 − rate): zero from the first step on, at the same units
    assert np.all(dropped == dropped[:, :1]) and 0 < np.mean(dropped) < 1
