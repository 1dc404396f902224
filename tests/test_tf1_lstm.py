"""TF1's LSTMCell options (peepholes, cell clip, projection) against its equations, and its checkpoints imported."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layer_checks import assert_gradients_match_finite_differences, check_layer, scan_lstm_reference
from tests.tolerance import assert_close_f32, lstm_terms
from tf_lstm import ScanLSTM, load_tf1_lstm_checkpoint
from tf_lstm.reference import lstm_reference

BATCH, STEPS, FEATURES, UNITS, PROJ = 3, 7, 4, 5, 3
# A projection adds UNITS terms to each step's h.
TERMS = lstm_terms(STEPS, FEATURES + UNITS, UNITS)


@pytest.fixture
def x():
    return (2.0 * np.random.default_rng(0).normal(size=(BATCH, STEPS, FEATURES))).astype("float32")


def _mask():
    mask = np.ones((BATCH, STEPS), bool)
    mask[0, 5:] = False
    mask[2, 1] = False
    return mask


OPTIONS = [
    dict(use_peepholes=True),
    dict(cell_clip=0.3),
    dict(proj_size=PROJ),
    dict(use_peepholes=True, cell_clip=0.5, proj_size=2, proj_clip=0.2),
]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("method", ["auto", "scan", "while", "unroll"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_equals_the_tf1_equations(x, options, method, go_backwards):
    layer = ScanLSTM(
        UNITS,
        gate_order="ijfo",
        forget_bias=1.0,
        return_sequences=True,
        return_state=True,
        bias_initializer="random_normal",
        method=method,
        go_backwards=go_backwards,
        **options,
    )
    got = layer(x, mask=_mask())
    expected = scan_lstm_reference(layer, x, mask=_mask(), go_backwards=go_backwards)
    h_size = options.get("proj_size", UNITS)
    assert [tuple(t.shape) for t in got] == [(BATCH, STEPS, h_size), (BATCH, h_size), (BATCH, UNITS)]
    for a, b in zip(got, expected):
        assert_close_f32(a, b, TERMS)
    if "cell_clip" in options:
        assert np.max(np.abs(got[2])) <= options["cell_clip"]


def test_gradients_through_peepholes_and_projection_match_finite_differences():
    rng = np.random.default_rng(3)
    x = tf.constant(rng.normal(size=(2, 4, 2)), tf.float64)
    layer = ScanLSTM(
        4, use_peepholes=True, proj_size=2, return_sequences=True, dtype="float64", bias_initializer="random_normal"
    )
    layer(x)
    target = tf.constant(rng.normal(size=(2, 4, 2)), tf.float64)

    def loss():
        return tf.reduce_sum((layer(x) - target) ** 2)

    assert {w.name for w in layer.trainable_variables} >= {"w_i_diag", "w_f_diag", "w_o_diag", "projection_kernel"}
    assert_gradients_match_finite_differences(layer, loss)


def test_the_new_weights_save_load_and_export(tmp_path, x):
    def make():
        return ScanLSTM(UNITS, use_peepholes=True, cell_clip=3.0, proj_size=PROJ, return_sequences=True)

    check_layer(make, x, [(BATCH, STEPS, PROJ)], tmp_path, weights=7, terms=TERMS)


def test_streams_with_a_projected_state(x, tmp_path):
    import tensorflow as tf

    from tf_lstm import export_saved_model
    from tf_lstm.streaming import state_specs

    inputs = keras.Input((None, FEATURES))
    model = keras.Model(inputs, ScanLSTM(UNITS, proj_size=PROJ, return_sequences=True, name="lstmp")(inputs))
    assert [(spec.key, spec.size) for spec in state_specs(model)] == [("lstmp_h", PROJ), ("lstmp_c", UNITS)]
    loaded = tf.saved_model.load(str(export_saved_model(model, tmp_path / "m", streaming=True)))
    state = loaded.signatures["zero_state"](batch_size=tf.constant(BATCH))
    chunks = []
    for chunk in (x[:, :3], x[:, 3:]):  # two chunks, the projected h and the full c carried between them
        result = loaded.signatures["stream"](**{model.inputs[0].name: tf.constant(chunk)}, **state)
        state = {key: result[key] for key in state}
        chunks.append(result["outputs"])
    assert_close_f32(np.concatenate(chunks, axis=1), model(x), TERMS)


def test_stateful_keeps_a_projected_state(x):
    inputs = keras.Input((None, FEATURES), batch_size=BATCH)
    layer = ScanLSTM(UNITS, proj_size=PROJ, stateful=True, return_sequences=True)
    layer(inputs)
    assert [tuple(s.shape) for s in layer.states] == [(BATCH, PROJ), (BATCH, UNITS)]
    first, second = layer(x[:, :3]), layer(x[:, 3:])  # the second call starts from the first's final state
    whole = ScanLSTM(UNITS, proj_size=PROJ, return_sequences=True)
    whole.build(x.shape)
    whole.set_weights([w.numpy() for w in layer.trainable_weights])  # not the two state variables
    assert_close_f32(np.concatenate([first, second], axis=1), whole(x), TERMS)


def test_manual_backward_says_why_it_cannot_take_them():
    with pytest.raises(ValueError, match="without use_peepholes, proj_size"):
        ScanLSTM(UNITS, use_peepholes=True, proj_size=2, method="manual_backward")


@pytest.mark.parametrize(
    "options, error, message",
    [
        (dict(cell_clip=-1.0), ValueError, "cell_clip must be positive"),
        (dict(cell_clip="big"), TypeError, "cell_clip"),
        (dict(proj_size=UNITS), ValueError, "proj_size must be smaller than units"),
        (dict(proj_size=0), ValueError, "proj_size"),
        (dict(proj_clip=1.0), ValueError, "proj_clip=1.0 clips the projection, but proj_size=None"),
        (dict(proj_size=2, proj_clip=0.0), ValueError, "proj_clip must be positive"),
        (dict(use_peepholes="yes"), TypeError, "use_peepholes"),
    ],
)
def test_bad_values_are_refused_by_name(options, error, message):
    with pytest.raises(error, match=message):
        ScanLSTM(UNITS, **options)


# -- TF1 checkpoints -------------------------------------------------------------------


def _write_tf1_checkpoint(path, variables):
    """A checkpoint in TF1's layout (tf.compat.v1.train.Saver over variables of those exact names)."""
    with tf.Graph().as_default():
        saved = {name: tf.compat.v1.Variable(value, name=name) for name, value in variables.items()}
        saver = tf.compat.v1.train.Saver(saved)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            return saver.save(session, str(path))


def _tf1_variables(scope, peepholes, num_proj, rng):
    h = num_proj or UNITS
    variables = {
        f"{scope}/kernel": rng.normal(size=(FEATURES + h, 4 * UNITS)).astype("float32") * 0.5,
        f"{scope}/bias": rng.normal(size=(4 * UNITS,)).astype("float32"),
    }
    if peepholes:
        for name in ("w_i_diag", "w_f_diag", "w_o_diag"):
            variables[f"{scope}/{name}"] = rng.normal(size=(UNITS,)).astype("float32")
    if num_proj:
        variables[f"{scope}/projection/kernel"] = rng.normal(size=(UNITS, num_proj)).astype("float32") * 0.5
    return variables


@pytest.mark.parametrize(
    "scope, options",
    [
        ("rnn/basic_lstm_cell", dict()),
        ("rnn/lstm_cell", dict(use_peepholes=True, cell_clip=1.5)),
        ("rnn/lstm_cell", dict(use_peepholes=True, proj_size=PROJ, proj_clip=0.8)),
    ],
)
@pytest.mark.parametrize("gate_order", ["ijfo", "ifgo"])
def test_a_tf1_checkpoint_loads_and_computes_the_tf1_equations(tmp_path, x, scope, options, gate_order):
    rng = np.random.default_rng(7)
    variables = _tf1_variables(scope, options.get("use_peepholes"), options.get("proj_size"), rng)
    prefix = _write_tf1_checkpoint(tmp_path / "model.ckpt", variables)
    layer = ScanLSTM(UNITS, gate_order=gate_order, forget_bias=1.0, return_sequences=True, **options)
    load_tf1_lstm_checkpoint(layer, prefix, scope=scope)
    # TF1's equations on the checkpoint's own arrays, in its own layout: [x, h]·kernel + bias, blocks i, j, f, o.
    h = options.get("proj_size", UNITS)
    kernel = variables[f"{scope}/kernel"]
    expected, _, _ = lstm_reference(
        x,
        kernel[:FEATURES],
        kernel[FEATURES:],
        variables[f"{scope}/bias"],
        gate_order="ijfo",
        forget_bias=1.0,
        peepholes=tuple(variables[f"{scope}/{n}"] for n in ("w_i_diag", "w_f_diag", "w_o_diag"))
        if options.get("use_peepholes")
        else None,
        cell_clip=options.get("cell_clip"),
        projection=variables.get(f"{scope}/projection/kernel"),
        proj_clip=options.get("proj_clip"),
    )
    got = layer(x)
    assert got.shape == (BATCH, STEPS, h)
    assert_close_f32(got, expected, TERMS)
    layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    load_tf1_lstm_checkpoint(layer, str(tmp_path), scope=scope)  # the folder works too
    assert_close_f32(layer(x), expected, TERMS)


def test_a_checkpoint_that_does_not_fit_is_refused_by_name(tmp_path):
    rng = np.random.default_rng(0)
    prefix = _write_tf1_checkpoint(tmp_path / "model.ckpt", _tf1_variables("rnn/lstm_cell", True, None, rng))
    with pytest.raises(ValueError, match=r"holds \['bias', 'kernel', 'w_f_diag', 'w_i_diag', 'w_o_diag'\].*needs"):
        load_tf1_lstm_checkpoint(ScanLSTM(UNITS), prefix)
    with pytest.raises(ValueError, match="holds \\[\\]"):
        load_tf1_lstm_checkpoint(ScanLSTM(UNITS, use_peepholes=True), prefix, scope="rnn/other")
    with pytest.raises(ValueError, match="cannot be read"):
        load_tf1_lstm_checkpoint(ScanLSTM(UNITS), str(tmp_path / "missing.ckpt"))
    built = ScanLSTM(UNITS, use_peepholes=True)
    built.build((None, None, FEATURES + 1))
    with pytest.raises(ValueError, match=f"has {FEATURES} input rows, but the layer was built for {FEATURES + 1}"):
        load_tf1_lstm_checkpoint(built, prefix)
