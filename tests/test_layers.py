"""The layers (`tf_lstm.layers`): ScanLSTM and ScanRNN against the NumPy reference, Keras, every method."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layer_checks import assert_gradients_match_finite_differences, check_layer, scan_lstm_reference
from tests.tolerance import (
    EPS16,
    EPS32,
    assert_close_f32,
    assert_within,
    float32_tolerance,
    lstm_terms,
    magnitude_of,
    statistical_tolerance,
)
from tf_lstm import MaskedMean, MultiLayerLSTM, ScanLSTM, ScanRNN
from tf_lstm.interop import load_keras_lstm_weights
from tf_lstm.reference import linear_rnn_reference, lstm_reference

BATCH, STEPS, FEATURES, UNITS = 3, 7, 5, 4
# One output, float32 against the float64 reference or against another float32 program: the operations of
# STEPS steps on values of size <= |x|·|W| (N(0, 1) inputs, |x| < 4 here; Glorot-uniform weights <= 0.6): 2.5.
MAGNITUDE = 2.5
OUTPUT_TOLERANCE = float32_tolerance(lstm_terms(STEPS, FEATURES, UNITS), MAGNITUDE)
# A weight's gradient sums, over BATCH × STEPS, backward operations as many as the forward's.
GRADIENT_TERMS = BATCH * STEPS * 2 * lstm_terms(STEPS, FEATURES, UNITS)


@pytest.fixture
def x():
    return np.random.default_rng(0).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")


def padding_mask(kind):
    mask = np.ones((BATCH, STEPS), bool)
    if kind == "end":
        mask[0, 4:] = False
        mask[2, 1:] = False
    elif kind == "middle":
        mask[0, 2:4] = False
        mask[1, 3] = False
    return mask


def make_layer(**kwargs):
    return ScanLSTM(
        UNITS,
        return_sequences=True,
        return_state=True,
        bias_initializer="random_normal",
        **kwargs,
    )


def reference_of(layer, x, **kwargs):
    kernel, recurrent, bias = (w.numpy() for w in layer.weights)
    return lstm_reference(
        x,
        kernel,
        recurrent,
        bias,
        gate_order=layer.gate_order,
        forget_bias=layer.forget_bias,
        cell_activation=layer.cell_activation is not None,
        **kwargs,
    )


@pytest.mark.parametrize("gate_order", ["ifgo", "ifco", "ijfo", "zifo", "ifoc", "gofi"])
@pytest.mark.parametrize("cell_activation", ["tanh", None])
@pytest.mark.parametrize("mask_kind", [None, "middle", "end"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_equals_numpy_reference(x, gate_order, cell_activation, mask_kind, go_backwards):
    layer = make_layer(
        gate_order=gate_order, forget_bias=0.7, cell_activation=cell_activation, go_backwards=go_backwards
    )
    mask = None if mask_kind is None else padding_mask(mask_kind)
    out, h, c = layer(x, mask=mask)
    ref_out, ref_h, ref_c = reference_of(layer, x, mask=mask, go_backwards=go_backwards)
    np.testing.assert_allclose(out, ref_out, rtol=0, atol=OUTPUT_TOLERANCE)
    np.testing.assert_allclose(h, ref_h, rtol=0, atol=OUTPUT_TOLERANCE)
    np.testing.assert_allclose(c, ref_c, rtol=0, atol=OUTPUT_TOLERANCE)


def test_masked_steps_carry_state_exactly(x):
    # Padding at the end must leave the final state that of the last real step.
    layer = make_layer()
    mask = padding_mask("end")
    _, h, c = layer(x, mask=mask)
    _, h_short, c_short = layer(x[:1, :4])
    np.testing.assert_allclose(h[0], h_short[0], rtol=0, atol=OUTPUT_TOLERANCE)
    np.testing.assert_allclose(c[0], c_short[0], rtol=0, atol=OUTPUT_TOLERANCE)


def test_time_major_matches_batch_major(x):
    batch_major = make_layer()
    time_major = make_layer(time_major=True)
    batch_major(x)
    time_major(np.transpose(x, (1, 0, 2)))
    time_major.set_weights(batch_major.get_weights())
    out_b, h_b, _ = batch_major(x, mask=padding_mask("middle"))
    out_t, h_t, _ = time_major(np.transpose(x, (1, 0, 2)), mask=padding_mask("middle").T)
    np.testing.assert_allclose(np.transpose(out_t, (1, 0, 2)), out_b, rtol=0, atol=OUTPUT_TOLERANCE)
    np.testing.assert_allclose(h_t, h_b, rtol=0, atol=OUTPUT_TOLERANCE)


def test_initial_state_is_used(x):
    layer = make_layer()
    layer(x)
    rng = np.random.default_rng(1)
    h0, c0 = rng.normal(size=(2, BATCH, UNITS)).astype("float32")
    out, h, c = layer(x, initial_state=[h0, c0])
    ref_out, ref_h, ref_c = reference_of(layer, x, initial_state=(h0, c0))
    np.testing.assert_allclose(out, ref_out, rtol=0, atol=OUTPUT_TOLERANCE)
    np.testing.assert_allclose(c, ref_c, rtol=0, atol=OUTPUT_TOLERANCE)


def test_return_shapes(x):
    assert ScanLSTM(UNITS)(x).shape == (BATCH, UNITS)
    assert ScanLSTM(UNITS, return_sequences=True)(x).shape == (BATCH, STEPS, UNITS)
    outputs = ScanLSTM(UNITS, return_state=True)(x)
    assert [tuple(t.shape) for t in outputs] == [(BATCH, UNITS)] * 3


def test_zero_length_sequence_gives_initial_state():
    layer = make_layer()
    empty = np.zeros((2, 0, FEATURES), "float32")
    out, h, c = layer(empty)
    assert out.shape == (2, 0, UNITS)
    np.testing.assert_array_equal(h, np.zeros((2, UNITS)))
    np.testing.assert_array_equal(c, np.zeros((2, UNITS)))


def test_nan_inputs_propagate(x):
    x = x.copy()
    x[1, 3, 0] = np.nan
    out, h, _ = make_layer()(x)
    assert np.isnan(out[1, 3:]).all() and np.isnan(h[1]).all()
    assert not np.isnan(out[0]).any() and not np.isnan(out[1, :3]).any()


@pytest.mark.parametrize("go_backwards", [False, True])
def test_equals_keras_lstm_given_its_weights(x, go_backwards):
    keras_lstm = keras.layers.LSTM(
        UNITS, return_sequences=True, return_state=True, go_backwards=go_backwards, bias_initializer="random_normal"
    )
    expected = keras_lstm(x, mask=padding_mask("end"))
    layer = ScanLSTM(UNITS, gate_order="ijfo", return_sequences=True, return_state=True, go_backwards=go_backwards)
    load_keras_lstm_weights(layer, keras_lstm)
    got = layer(x, mask=padding_mask("end"))
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=0, atol=OUTPUT_TOLERANCE)


@pytest.mark.parametrize("method", ["scan", "manual_backward"])
@pytest.mark.parametrize("cell_activation", ["tanh", None])
def test_gradients_match_finite_differences(method, cell_activation):
    rng = np.random.default_rng(3)
    x = tf.constant(rng.normal(size=(2, 4, 2)), tf.float64)
    mask = tf.constant([[True, True, False, True], [True, True, True, False]])
    layer = ScanLSTM(
        3,
        gate_order="zifo",
        forget_bias=0.5,
        return_sequences=True,
        dtype="float64",
        bias_initializer="random_normal",
        method=method,
        cell_activation=cell_activation,
    )
    layer(x)
    target = tf.constant(rng.normal(size=(2, 4, 3)), tf.float64)

    def loss():
        return tf.reduce_sum((layer(x, mask=mask) - target) ** 2)

    assert_gradients_match_finite_differences(layer, loss)


def test_bidirectional_wrapper_matches_reference(x):
    bidirectional = keras.layers.Bidirectional(make_layer(gate_order="ijfo", forget_bias=1.0))
    mask = padding_mask("end")
    out, h_f, c_f, h_b, c_b = bidirectional(x, mask=mask)
    forward, backward = bidirectional.forward_layer, bidirectional.backward_layer
    ref_f = reference_of(forward, x, mask=mask)
    ref_b = reference_of(backward, x, mask=mask, go_backwards=True)
    # Bidirectional zeroes masked outputs and flips the backward ones back.
    expected = np.concatenate([ref_f[0], ref_b[0][:, ::-1]], axis=-1) * mask[:, :, None]
    np.testing.assert_allclose(out, expected, rtol=0, atol=OUTPUT_TOLERANCE)
    np.testing.assert_allclose(h_b, ref_b[1], rtol=0, atol=OUTPUT_TOLERANCE)


def test_keras_mask_from_embedding_is_honoured():
    tokens = np.array([[3, 5, 2, 0, 0], [4, 0, 0, 0, 0]])
    embedding = keras.layers.Embedding(10, 6, mask_zero=True)
    layer = ScanLSTM(UNITS, gate_order="ifoc", return_sequences=True)
    model = keras.Sequential([embedding, layer])
    out = model(tokens)
    embedded = embedding(tokens).numpy()
    ref = reference_of(layer, embedded, mask=tokens != 0)[0]
    np.testing.assert_allclose(out, ref, rtol=0, atol=OUTPUT_TOLERANCE)


def _classifier(**lstm_kwargs):
    inputs = keras.Input((STEPS, FEATURES))
    hidden = ScanLSTM(UNITS, **lstm_kwargs)(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(hidden))


@pytest.mark.parametrize("jit_compile", [False, True])
def test_fit_reduces_loss(jit_compile):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, STEPS, FEATURES)).astype("float32")
    y = (x[:, :, 0].sum(axis=1) > 0).astype("int32")
    keras.utils.set_random_seed(0)
    model = _classifier(dropout=0.1, recurrent_dropout=0.1)
    model.compile(
        optimizer=keras.optimizers.Adam(0.02),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]


def test_jit_compile_equals_eager(x):
    layer = make_layer(gate_order="ijfo", forget_bias=1.0)
    eager = layer(x, mask=padding_mask("middle"))
    compiled = tf.function(lambda a, m: layer(a, mask=m), jit_compile=True)(x, padding_mask("middle"))
    for a, b in zip(eager, compiled):
        np.testing.assert_allclose(a, b, rtol=0, atol=OUTPUT_TOLERANCE)


def float16_error_std(gates, x, kernel, recurrent_kernel, bias):
    """Each output's rounding error in float16, as a standard deviation, propagated through the step's equations.

    Every rounded value v is off by up to eps16/2·|v|, uniformly (variance
    eps16²/12·v²); the gaps behind an output add as variances, each scaled
    by the slope that carries it to the output. A pre-activation z rounds
    x, W, each product and each partial sum: features + units + 3
    roundings of at most the sum of its terms' sizes. Through c an error
    passes to the next step times f; through h, times W_h and a gate's slope.
    """
    i, f, g, o, c, h = (np.asarray(gates[k], np.float64) for k in "ifgoch")
    x, kernel, recurrent_kernel, bias = (np.abs(np.asarray(a, np.float64)) for a in (x, kernel, recurrent_kernel, bias))
    r = EPS16**2 / 12
    roundings = x.shape[-1] + recurrent_kernel.shape[0] + 3
    squared = np.split(recurrent_kernel**2, 4, axis=1)  # the blocks in the test's ifgo order
    var_c = var_h = np.zeros_like(c[:, 0])
    std = np.zeros_like(h)
    for t in range(h.shape[1]):
        c_prev, h_prev = (a[:, t - 1] if t else np.zeros_like(a[:, 0]) for a in (c, h))
        sizes = np.split(x[:, t] @ kernel + np.abs(h_prev) @ recurrent_kernel + bias, 4, axis=1)
        it, ft, gt, ot, ct, tc = i[:, t], f[:, t], g[:, t], o[:, t], c[:, t], np.tanh(c[:, t])
        slopes = (it * (1 - it), ft * (1 - ft), 1 - gt**2, ot * (1 - ot))
        var_gate = {
            k: slope**2 * (r * roundings * size**2 + var_h @ w2) + r * value**2
            for k, slope, size, w2, value in zip("ifgo", slopes, sizes, squared, (it, ft, gt, ot))
        }
        var_c = (
            ft**2 * var_c
            + c_prev**2 * var_gate["f"]
            + gt**2 * var_gate["i"]
            + it**2 * var_gate["g"]
            + r * ((ft * c_prev) ** 2 + (it * gt) ** 2 + ct**2)
        )
        var_h = (ot * (1 - tc**2)) ** 2 * var_c + tc**2 * var_gate["o"] + r * (tc**2 + h[:, t] ** 2)
        std[:, t] = np.sqrt(var_h)
    return std


@pytest.mark.parametrize("error", [0.0, 0.01, -0.01])
def test_mixed_precision_runs_in_float16_with_float32_weights(x, error):
    layer = ScanLSTM(UNITS, return_sequences=True, dtype="mixed_float16", bias_initializer="random_normal")
    out = layer(x)
    assert out.dtype == tf.float16
    assert layer.kernel.dtype == "float32"
    assert layer.gate_order == "ifgo"
    ref, _, _, gates = reference_of(layer, x, return_gates=True)
    # Six standard deviations of each output's own rounding error: a bound per output, as wide as float16 makes
    # it and no wider (the worst case over every step would hold a 1% error).
    bound = 6 * float16_error_std(gates, x, *(w.numpy() for w in layer.weights))
    got = out.numpy().astype("float64") * (1.0 + error)
    gap = np.abs(got - ref)
    print(f"mixed precision, {error:+.0%} planted: largest gap / bound {np.max(gap / bound):.2f}")
    assert (np.max(gap / bound) > 1) == bool(error)


# -- serialization ------------------------------------------------------------

OPTIONS = dict(
    gate_order="zifo",
    forget_bias=1.0,
    cell_activation=None,
    use_bias=False,
    return_sequences=True,
    return_state=False,
    go_backwards=True,
    dropout=0.25,
    recurrent_dropout=0.125,
    kernel_initializer="zeros",
    recurrent_initializer="ones",
    seed=7,
)


def test_get_config_round_trips_every_option():
    layer = ScanLSTM(UNITS, **OPTIONS)
    clone = ScanLSTM.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    for key, value in OPTIONS.items():
        if key.endswith("initializer"):
            continue
        assert getattr(clone, key) == value, key
    assert clone.cell_activation is None


def test_keras_file_round_trip(tmp_path, x):
    model = _classifier(
        **{
            k: v
            for k, v in OPTIONS.items()
            if k not in ("return_sequences", "kernel_initializer", "recurrent_initializer")
        }
    )
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)  # no arbitrary code on load
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=0, atol=OUTPUT_TOLERANCE)
    assert loaded.layers[1].get_config() == model.layers[1].get_config()


@pytest.mark.parametrize("method", ["auto", "while", "unroll", "manual_backward"])
@pytest.mark.parametrize("mask_kind", [None, "middle", "end"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_every_method_equals_the_reference(x, method, mask_kind, go_backwards, return_sequences):
    layer = ScanLSTM(
        UNITS,
        gate_order="ijfo",
        forget_bias=1.0,
        return_sequences=return_sequences,
        return_state=True,
        go_backwards=go_backwards,
        method=method,
        bias_initializer="random_normal",
    )
    mask = None if mask_kind is None else padding_mask(mask_kind)
    out, h, c = layer(x, mask=mask)
    ref_out, ref_h, ref_c = reference_of(layer, x, mask=mask, go_backwards=go_backwards)
    np.testing.assert_allclose(out, ref_out if return_sequences else ref_h, rtol=0, atol=OUTPUT_TOLERANCE)
    np.testing.assert_allclose(c, ref_c, rtol=0, atol=OUTPUT_TOLERANCE)


@pytest.mark.parametrize("method", ["auto", "scan", "while", "unroll", "manual_backward"])
def test_every_method_under_xla_with_gradients(x, method):
    layer = ScanLSTM(UNITS, method=method, return_sequences=True)
    layer(x)
    reference = ScanLSTM(UNITS, method="scan", return_sequences=True)
    reference(x)
    reference.set_weights(layer.get_weights())

    def loss_and_grads(lstm):
        @tf.function(jit_compile=True)
        def run(a, m):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(lstm(a, mask=m) ** 2)
            return loss, tape.gradient(loss, lstm.trainable_variables)

        return run(x, padding_mask("middle"))

    loss, grads = loss_and_grads(layer)
    expected_loss, expected_grads = loss_and_grads(reference)
    # The loss sums BATCH × STEPS × UNITS squares of outputs (<= 1), each off by OUTPUT_TOLERANCE at most.
    outputs = BATCH * STEPS * UNITS
    np.testing.assert_allclose(loss, expected_loss, rtol=0, atol=outputs * (2 * OUTPUT_TOLERANCE + EPS32))
    for g, e in zip(grads, expected_grads):
        assert_close_f32(g, e, GRADIENT_TERMS)


def test_while_handles_unknown_lengths_and_unroll_refuses_them(x):
    spec = tf.TensorSpec([None, None, FEATURES], tf.float32)
    layer = ScanLSTM(UNITS, method="while")
    layer(x)
    expected, _, _ = scan_lstm_reference(layer, x)  # the NumPy equations, not the layer against itself
    got = tf.function(layer, input_signature=[spec])(x)
    np.testing.assert_allclose(got, expected[:, -1], rtol=0, atol=OUTPUT_TOLERANCE)
    unrolled = ScanLSTM(UNITS, method="unroll")
    unrolled(x)
    with pytest.raises(ValueError, match="method='unroll' needs the number of time steps"):
        tf.function(unrolled, input_signature=[spec]).get_concrete_function()


@pytest.mark.parametrize("go_backwards", [False, True])
def test_manual_backward_gradients_equal_autodiff_with_state_dropout_and_mask(x, go_backwards):
    h0, c0 = (tf.constant(a) for a in np.random.default_rng(2).normal(size=(2, BATCH, UNITS)).astype("float32"))
    results = []
    for method in ("scan", "manual_backward"):
        layer = ScanLSTM(
            UNITS,
            method=method,
            return_sequences=True,
            return_state=True,
            go_backwards=go_backwards,
            recurrent_dropout=0.3,
            seed=11,
            gate_order="ifoc",
            forget_bias=1.0,
        )
        layer(x)
        if results:
            layer.set_weights(results[0][0])
        with tf.GradientTape() as tape:
            tape.watch([h0, c0])
            out, h, c = layer(x, mask=padding_mask("middle"), initial_state=[h0, c0], training=True)
            loss = tf.reduce_sum(out**2) + tf.reduce_sum(tf.sin(h)) + tf.reduce_sum(c**3)
        grads = tape.gradient(loss, [*layer.trainable_variables, h0, c0])
        results.append((layer.get_weights(), float(loss), [g.numpy() for g in grads]))
    # The loss sums BATCH × (STEPS + 2) × UNITS terms (out², sin h, c³), each of size and slope <= 3·c_max³
    # and off by the outputs' rounding.
    c_max = 1.0 + max(float(np.max(np.abs(r[2][-1]))) for r in results)
    loss_tolerance = BATCH * (STEPS + 2) * UNITS * 3 * c_max**3 * (OUTPUT_TOLERANCE + EPS32)
    assert results[0][1] == pytest.approx(results[1][1], rel=0, abs=loss_tolerance)
    for expected, got in zip(results[0][2], results[1][2]):
        assert_close_f32(got, expected, GRADIENT_TERMS)


@pytest.mark.parametrize("steps", [8, 100])
@pytest.mark.parametrize("cell_activation", ["tanh", "relu"])
def test_auto_picks_a_method_that_works(steps, cell_activation):
    x = np.random.default_rng(0).normal(size=(2, steps, 3)).astype("float32")
    auto = ScanLSTM(4, cell_activation=cell_activation, return_sequences=True)
    scan = ScanLSTM(4, cell_activation=cell_activation, return_sequences=True, method="scan")
    auto(x)
    scan(x)
    scan.set_weights(auto.get_weights())
    with tf.GradientTape(persistent=True) as tape:
        a, b = auto(x), scan(x)
        la, lb = tf.reduce_sum(a**2), tf.reduce_sum(b**2)
    tolerance = float32_tolerance(lstm_terms(steps, 3, 4), MAGNITUDE)
    np.testing.assert_allclose(a, b, rtol=0, atol=tolerance)
    # Gradients add 2·steps·2 backward terms per forward term; the worst case (0.53 on gradients <= 7.4 at 100
    # steps) is hundreds of times the gaps measured, so the statistical bound judges them (1e-3 there).
    gradient_terms = 2 * steps * 2 * lstm_terms(steps, 3, 4)
    expected_grads = tape.gradient(lb, scan.trainable_variables)
    for ga, gb in zip(tape.gradient(la, auto.trainable_variables), expected_grads):
        assert_gradient_within(ga, gb, gradient_terms, "auto against scan")
    xla = tf.function(lambda t: auto(t), jit_compile=True)(x)
    np.testing.assert_allclose(xla, b, rtol=0, atol=tolerance)

    @tf.function(jit_compile=True)  # training under XLA: the hand-written backward pass, unrolled when short
    def xla_gradients(t):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(auto(t, training=True) ** 2)
        return tape.gradient(loss, auto.trainable_variables)

    for ga, gb in zip(xla_gradients(x), expected_grads):
        assert_gradient_within(ga, gb, gradient_terms, "XLA against scan")


def assert_gradient_within(got, expected, terms, what):
    """Two float32 programs' gradients agree to six standard deviations of their rounding (`terms` operations)."""
    assert_within(got, expected, statistical_tolerance(terms, magnitude_of(expected)), what)


@pytest.mark.parametrize("error", [0.01, -0.01])
def test_the_gradient_tolerance_catches_a_one_percent_error(error):
    steps = 100  # the longest sequence judged above: the widest bound
    x = np.random.default_rng(0).normal(size=(2, steps, 3)).astype("float32")
    layer = ScanLSTM(4, return_sequences=True, method="scan")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    for gradient in tape.gradient(loss, layer.trainable_variables):
        with pytest.raises(AssertionError):
            g = gradient.numpy()
            assert_gradient_within(g * (1 + error), g, 2 * steps * 2 * lstm_terms(steps, 3, 4), f"{error:+.0%} planted")


@pytest.mark.parametrize(("units", "layer_norm", "matmuls"), [(10, False, 1), (10, True, 2), (UNITS, False, 2)])
def test_xla_inference_runs_one_matmul_a_step_over_narrow_inputs_and_h(x, units, layer_norm, matmuls):
    # Not hoisted (inference under XLA), the step multiplies [x_t, h] by [W_x; W_h] at once, the articles' fused
    # form, when the inputs are at most half as wide as h (FEATURES = 5: 10 units, not 4); layer norm
    # normalises x·W_x and h·W_h apart, so it keeps the two matmuls.
    layer = ScanLSTM(units, return_sequences=True, bias_initializer="random_normal", layer_norm=layer_norm)
    layer(x)
    function = tf.function(lambda t: layer(t, training=False), jit_compile=True)
    graph = function.get_concrete_function(x).graph.as_graph_def()
    (body,) = [f for f in graph.library.function if "while_body" in f.signature.name]
    assert [node.op for node in body.node_def].count("MatMul") == matmuls
    if not layer_norm:  # (layer norm's numbers under XLA: tests/test_variants.py)
        tolerance = float32_tolerance(lstm_terms(STEPS, FEATURES, units), MAGNITUDE)
        np.testing.assert_allclose(function(x), scan_lstm_reference(layer, x)[0], rtol=0, atol=tolerance)


@pytest.mark.parametrize(("training", "matmuls"), [(True, 2 * STEPS), (False, 1 + STEPS)])
def test_without_xla_a_short_sequence_projects_each_step_in_training_and_the_whole_sequence_in_inference(
    x, training, matmuls
):
    # Unrolled without XLA: training multiplies x_t·W_x and h·W_h apart every step (never fused, never
    # hoisted), inference projects every step's input in one matmul before the steps. Narrow inputs (5
    # features, 10 units) that inference under XLA would fuse.
    layer = ScanLSTM(10, return_sequences=True, bias_initializer="random_normal")
    layer(x)
    function = tf.function(lambda t: layer(t, training=training))
    graph = function.get_concrete_function(x).graph
    assert [op.type for op in graph.get_operations()].count("MatMul") == matmuls
    tolerance = float32_tolerance(lstm_terms(STEPS, FEATURES, 10), MAGNITUDE)
    np.testing.assert_allclose(function(x), scan_lstm_reference(layer, x)[0], rtol=0, atol=tolerance)


# -- ScanRNN ------------------------------------------------------------------------


def test_linear_rnn_equals_reference():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(6, 10)).astype("float32")
    layer = ScanRNN(1)
    s = layer(x[:, :, None])
    w_x, w_rec = (float(w.numpy().squeeze()) for w in layer.weights)
    expected = linear_rnn_reference(x, w_x, w_rec)
    # 10 steps of two products and a sum, on values of the size of the state.
    np.testing.assert_allclose(
        s.numpy()[:, 0], expected, rtol=0, atol=float32_tolerance(10 * 3, magnitude_of(expected))
    )


def test_counting_weights_count():
    # With w_x = w_rec = 1 the state is the running sum: the article's solution.
    x = np.array([[0, 1, 0, 0, 0, 0, 0, 0, 0, 1], [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]], "float32")
    layer = ScanRNN(1, return_sequences=True, kernel_initializer="ones", recurrent_initializer="ones")
    s = layer(x[:, :, None]).numpy()[:, :, 0]
    np.testing.assert_array_equal(s, np.cumsum(x, axis=1))


def test_elman_options():
    x = np.random.default_rng(1).normal(size=(3, 4, 2)).astype("float32")
    layer = ScanRNN(5, activation="tanh", use_bias=True, bias_initializer="random_normal", return_state=True)
    out, state = layer(x)
    w_x, w_rec, b = (w.numpy() for w in layer.weights)
    s = np.zeros((3, 5))
    for t in range(4):
        s = np.tanh(x[:, t] @ w_x + b + s @ w_rec)
    # 4 steps of 2 + 5 products, the bias and tanh, on values <= |x|·|w| < 4 × 0.8.
    tolerance = float32_tolerance(4 * (2 + 5 + 2), 3.2)
    np.testing.assert_allclose(out, s, rtol=0, atol=tolerance)
    np.testing.assert_allclose(state, s, rtol=0, atol=tolerance)
    assert len(layer.weights) == 3


def test_scan_rnn_config_round_trip():
    layer = ScanRNN(3, activation="relu", use_bias=True, go_backwards=True, return_sequences=True)
    clone = ScanRNN.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_scan_rnn_mask_carries_state():
    x = np.ones((1, 5, 1), "float32")
    mask = np.array([[True, False, True, False, False]])
    layer = ScanRNN(1, return_sequences=True, kernel_initializer="ones", recurrent_initializer="ones")
    s = layer(x, mask=mask).numpy()[0, :, 0]
    np.testing.assert_array_equal(s, [1, 1, 2, 2, 2])


# -- every layer is a whole Keras layer ----------------------------------------------


@pytest.mark.parametrize(
    ("make", "shapes", "weights"),
    [
        (
            lambda: ScanLSTM(UNITS, return_sequences=True, return_state=True, gate_order="ijfo"),
            [(BATCH, STEPS, UNITS), (BATCH, UNITS), (BATCH, UNITS)],
            3,
        ),
        (lambda: ScanLSTM(UNITS, go_backwards=True, method="scan"), [(BATCH, UNITS)], 3),
        (lambda: ScanRNN(UNITS, activation="tanh", use_bias=True, return_sequences=True), [(BATCH, STEPS, UNITS)], 3),
        (
            lambda: MultiLayerLSTM(UNITS, num_layers=2, bidirectional=True, seed=0),
            [(BATCH, STEPS, 2 * UNITS), (4, BATCH, UNITS), (4, BATCH, UNITS)],
            12,
        ),
    ],
    ids=["ScanLSTM", "ScanLSTM-backwards-scan", "ScanRNN", "MultiLayerLSTM"],
)
def test_every_layer_passes_check_layer(make, shapes, weights, x, tmp_path):
    check_layer(
        make, x, shapes, tmp_path, weights=weights, terms=lstm_terms(STEPS, 2 * UNITS + FEATURES, UNITS, layers=2)
    )


@pytest.mark.parametrize("make", [ScanLSTM, ScanRNN], ids=["ScanLSTM", "ScanRNN"])
def test_a_stateful_layer_passes_check_layer(make, x, tmp_path):
    states = 2 if make is ScanLSTM else 1
    check_layer(
        lambda: make(UNITS, stateful=True, return_sequences=True),
        x,
        [(BATCH, STEPS, UNITS)],
        tmp_path,
        weights=3 if make is ScanLSTM else 2,
        non_trainable=states,
        terms=lstm_terms(STEPS, FEATURES, UNITS),
    )


def test_masked_mean_passes_check_layer(x, tmp_path):
    check_layer(MaskedMean, x, [(BATCH, FEATURES)], tmp_path, weights=0, terms=STEPS + 1)
