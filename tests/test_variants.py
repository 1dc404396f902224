"""The classic variants as options of the one LSTM step: the coupled gate (CIFG) and the layer-normalised LSTM."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layer_checks import assert_gradients_match_finite_differences, check_layer, scan_lstm_reference
from tests.tolerance import assert_close_f32, lstm_terms
from tf_lstm import ScanLSTM

BATCH, STEPS, FEATURES, UNITS = 3, 7, 4, 5
# Layer norm adds a mean, a variance and a division over 4·UNITS values to each step.
TERMS = lstm_terms(STEPS, FEATURES + 3 * 4 * UNITS, UNITS)


@pytest.fixture
def x():
    return (2.0 * np.random.default_rng(0).normal(size=(BATCH, STEPS, FEATURES))).astype("float32")


def _mask():
    mask = np.ones((BATCH, STEPS), bool)
    mask[0, 5:] = False
    mask[2, 1] = False
    return mask


def _randomise_norms(layer, rng):
    for name, weight in layer.cell_weights.items():
        if name.startswith("ln_"):
            weight.assign(rng.normal(1.0 if name.endswith("gamma") else 0.0, 0.3, size=weight.shape))


VARIANTS = [dict(coupled=True), dict(layer_norm=True), dict(coupled=True, layer_norm=True, forget_bias=1.0)]


@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("method", ["auto", "scan", "while", "unroll"])
@pytest.mark.parametrize("gate_order", ["ifgo", "zifo"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_equals_the_papers_equations(x, options, method, gate_order, go_backwards):
    layer = ScanLSTM(
        UNITS,
        gate_order=gate_order,
        return_sequences=True,
        return_state=True,
        bias_initializer="random_normal",
        method=method,
        go_backwards=go_backwards,
        **options,
    )
    layer(x)
    _randomise_norms(layer, np.random.default_rng(1))
    blocks = 3 if options.get("coupled") else 4
    assert tuple(layer.kernel.shape) == (FEATURES, blocks * UNITS)
    got = layer(x, mask=_mask())
    for a, b in zip(got, scan_lstm_reference(layer, x, mask=_mask(), go_backwards=go_backwards)):
        assert_close_f32(a, b, TERMS)


def test_coupled_input_gate_is_one_minus_forget(x):
    from tf_lstm import trace

    layer = ScanLSTM(UNITS, coupled=True, bias_initializer="random_normal")
    layer(x)
    steps = trace(layer, x)
    *_, gates = scan_lstm_reference(layer, x, return_gates=True)  # the NumPy equations, not the same trace
    np.testing.assert_allclose(gates["i"], 1.0 - gates["f"], rtol=0, atol=1e-15)
    for name in ("i", "f"):
        assert_close_f32(steps[name], gates[name], TERMS, magnitude=1.0)


@pytest.mark.parametrize("options", VARIANTS[:2], ids=["coupled", "layer_norm"])
def test_gradients_match_finite_differences(options):
    rng = np.random.default_rng(3)
    x = tf.constant(rng.normal(size=(2, 4, 2)), tf.float64)
    layer = ScanLSTM(3, return_sequences=True, dtype="float64", bias_initializer="random_normal", **options)
    layer(x)
    _randomise_norms(layer, rng)
    target = tf.constant(rng.normal(size=(2, 4, 3)), tf.float64)

    def loss():
        return tf.reduce_sum((layer(x) - target) ** 2)

    assert_gradients_match_finite_differences(layer, loss)


def test_variants_save_load_and_export(tmp_path, x):
    # Seeded weights: float16's error through layer norm grows as a gate's spread shrinks, which the mixed-precision
    # bound does not model; an unseeded draw crossed it once in CI (0.076 against 0.039; seeds 0-19 stay inside).
    keras.utils.set_random_seed(0)

    def make():
        return ScanLSTM(UNITS, coupled=True, layer_norm=True, return_sequences=True)

    # kernel, recurrent kernel, bias and six gains and shifts
    check_layer(make, x, [(BATCH, STEPS, UNITS)], tmp_path, weights=9, terms=TERMS)


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(coupled=True, use_peepholes=True), "coupled=True has no input gate"),
        (dict(layer_norm=True, method="manual_backward"), "without layer_norm"),
        (dict(coupled=True, method="manual_backward"), "without coupled"),
        (dict(layer_norm_epsilon=0.0), "layer_norm_epsilon must be positive"),
    ],
)
def test_bad_combinations_are_refused_by_name(options, message):
    with pytest.raises(ValueError, match=message):
        ScanLSTM(UNITS, **options)


# -- zoneout ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["scan", "while", "unroll"])
def test_zoneout_in_inference_is_the_expectation(x, method):
    layer = ScanLSTM(
        UNITS,
        zoneout_h=0.3,
        zoneout_c=0.6,
        return_sequences=True,
        return_state=True,
        method=method,
        bias_initializer="random_normal",
    )
    got = layer(x, mask=_mask(), training=False)
    for a, b in zip(got, scan_lstm_reference(layer, x, mask=_mask())):
        assert_close_f32(a, b, TERMS)


@pytest.mark.parametrize("method", ["auto", "scan", "unroll"])
def test_zoneout_in_training_keeps_each_unit_with_its_rate_drawn_every_step(method):
    units, steps, batch = 40, 12, 8
    x = np.random.default_rng(2).normal(size=(batch, steps, 3)).astype("float32")
    layer = ScanLSTM(
        units, zoneout_h=0.3, zoneout_c=0.6, return_sequences=True, method=method, bias_initializer="random_normal"
    )
    layer(x)
    h = layer(x, training=True).numpy()
    kept_h = h[:, 1:] == h[:, :-1]  # a zoned-out unit equals its previous value exactly; a fresh one never does
    draws = kept_h.size
    # Binomial(draws, rate): 5 standard deviations either side.
    assert abs(kept_h.mean() - 0.3) < 5 * np.sqrt(0.3 * 0.7 / draws)
    # Fresh draws every step: whether a unit was kept at one step says nothing of the next.
    both = np.mean(kept_h[:, 1:] & kept_h[:, :-1])
    assert abs(both - 0.09) < 5 * np.sqrt(0.09 * 0.91 / kept_h[:, 1:].size)
    assert not np.allclose(h, layer(x, training=False).numpy())


def test_zoneout_rates_are_checked():
    with pytest.raises(ValueError, match="zoneout_h must be a float in \\[0, 1\\), got zoneout_h=1.0"):
        ScanLSTM(UNITS, zoneout_h=1.0)
    with pytest.raises(ValueError, match="without .*zoneout"):
        ScanLSTM(UNITS, zoneout_c=0.1, method="manual_backward")


EVERY_OPTION = [
    dict(use_peepholes=True, cell_clip=2.0),
    dict(proj_size=3, proj_clip=1.0),
    dict(coupled=True),
    dict(layer_norm=True),
    dict(zoneout_h=0.2, zoneout_c=0.1),
    dict(recurrent_activation="hard_sigmoid", activation="softsign"),
]


@pytest.mark.parametrize("options", EVERY_OPTION, ids=lambda o: ",".join(o))
def test_every_option_under_xla_and_in_bidirectional(x, options):
    import keras

    layer = ScanLSTM(UNITS, return_sequences=True, bias_initializer="random_normal", **options)
    eager = layer(x, mask=_mask())
    compiled = tf.function(lambda x, m: layer(x, mask=m), jit_compile=True)(tf.constant(x), tf.constant(_mask()))
    assert_close_f32(compiled, eager, TERMS)
    both = keras.layers.Bidirectional(ScanLSTM(UNITS, return_sequences=True, **options))
    out = both(x, mask=_mask()).numpy()
    forward = both.forward_layer(x, mask=_mask())
    backward = np.flip(both.backward_layer(x, mask=_mask()).numpy(), axis=1)  # Keras re-reverses it
    assert_close_f32(out, np.concatenate([forward, backward], axis=-1), TERMS)


@pytest.mark.parametrize("options", EVERY_OPTION, ids=lambda o: ",".join(o))
def test_every_option_saves_loads_and_exports(tmp_path, x, options):
    keras.utils.set_random_seed(0)  # an unseeded layer_norm draw once failed check_layer's loss-lowering SGD step
    size = options.get("proj_size", UNITS)
    weights = len(ScanLSTM(UNITS, **options).cell.extra_weights(UNITS)) + 3
    check_layer(
        lambda: ScanLSTM(UNITS, return_sequences=True, **options),
        x,
        [(BATCH, STEPS, size)],
        tmp_path,
        weights=weights,
        terms=TERMS,
    )


def test_the_converters_refuse_a_coupled_layer_by_name(tmp_path):
    import keras

    from tf_lstm import load_keras_lstm_weights, load_tf1_lstm_checkpoint

    keras_lstm = keras.layers.LSTM(UNITS)
    keras_lstm(np.zeros((1, 2, FEATURES), "float32"))
    with pytest.raises(ValueError, match="has coupled=True: three gate blocks .* Keras stores four"):
        load_keras_lstm_weights(ScanLSTM(UNITS, coupled=True, name="cifg"), keras_lstm)
    with pytest.raises(ValueError, match="has coupled=True: three gate blocks .* TF1 stores four"):
        load_tf1_lstm_checkpoint(ScanLSTM(UNITS, coupled=True), str(tmp_path / "none.ckpt"))
