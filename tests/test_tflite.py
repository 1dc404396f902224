"""TFLite export: builtin ops only, run in TFLite's interpreter, equal to the Keras model; bad input refused."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.tolerance import lstm_terms, statistical_tolerance
from tf_lstm import ScanLSTM
from tf_lstm.tflite import TFLiteModel, export_tflite, metadata_of, tflite_ops

# The unrolled LSTM in TFLite: the same arithmetic in another order, one op per gate and step.
REQUIRED_OPS = {"FULLY_CONNECTED", "LOGISTIC", "TANH", "MUL", "ADD"}


def _mnist_shaped():
    """The MNIST reproduction's network: 28 rows of 28 pixels, 128 units, ijfo with forget bias 1, per-step Dense."""
    inputs = keras.Input((28, 28), name="image_rows")
    h = ScanLSTM(128, gate_order="ijfo", forget_bias=1.0, return_sequences=True, name="lstm")(inputs)
    return keras.Model(inputs, keras.layers.Dense(10)(h), name="mnist_shaped")


def _digits_shaped():
    """The digits reproduction's network: 8 rows of 8, 50 units, zifo without the cell's tanh, tanh Dense."""
    inputs = keras.Input((8, 8), name="digits")
    h = ScanLSTM(50, gate_order="zifo", cell_activation=None, name="lstm")(inputs)
    return keras.Model(inputs, keras.layers.Dense(10, activation="tanh")(h), name="digits_shaped")


SHAPES = {"mnist": (_mnist_shaped, 28, 28, 128, 10), "digits": (_digits_shaped, 8, 8, 50, 10)}


def _x(steps, features, batch=4, seed=0):
    return np.random.default_rng(seed).uniform(0.0, 1.0, size=(batch, steps, features)).astype("float32")


def _tolerance(steps, features, units, magnitude=1.0):
    """The rounding gap of two float32 programs computing the same outputs in another order, as a statistical bound.

    Each of the `terms` rounded operations behind an output is off by up to
    eps/2 of `magnitude`, uniformly, with random sign (standard deviation
    eps/(2·sqrt(3))): their sum has the standard deviation
    eps/(2·sqrt(3))·sqrt(terms), and 6 of those are not reached by rounding,
    while a 1% error of outputs of size `magnitude` is far beyond it (for
    MNIST's shape: 1.4e-5 against 1e-2). The worst case, eps × magnitude ×
    terms, is 400× wider than the gaps measured (1.8e-7 on MNIST's shape).
    """
    return statistical_tolerance(lstm_terms(steps, features, units) + units + 1, magnitude)


def _magnitude(outputs):
    """The size of the values the output's last operations handle: its largest |value|, at least 1."""
    return max(1.0, float(np.max(np.abs(outputs))))


@pytest.mark.parametrize("shape", SHAPES)
def test_float_export_equals_the_keras_model_with_builtin_ops_only(tmp_path, shape):
    make, steps, features, units, _ = SHAPES[shape]
    model = make()
    path = export_tflite(model, tmp_path / "model.tflite")
    ops = tflite_ops(path)
    assert not [op for op in ops if op.startswith("CUSTOM")] and set(ops) >= REQUIRED_OPS
    assert "WHILE" not in ops  # unrolled: no loop, no TensorList
    assert metadata_of(path)["quantize"] is None and metadata_of(path)["inputs"][0][1] == [None, steps, features]
    for batch in (1, 5):  # the batch axis stays free
        x = _x(steps, features, batch)
        expected = model.predict(x, verbose=0)
        got = TFLiteModel(path)(x)
        bound = _tolerance(steps, features, units, _magnitude(expected))
        print(f"{shape}, batch {batch}: largest difference {np.max(np.abs(got - expected)):.2e}, bound {bound:.2e}")
        np.testing.assert_allclose(got, expected, rtol=0, atol=bound)


@pytest.mark.parametrize("error", [0.01, -0.01])
def test_the_float_tolerance_catches_a_one_percent_error(error):
    model = _mnist_shaped()
    x = _x(28, 28, 5)
    expected = model.predict(x, verbose=0)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(
            expected * (1 + error), expected, rtol=0, atol=_tolerance(28, 28, 128, _magnitude(expected))
        )


def test_float16_file_computes_the_model_with_its_weights_rounded_to_float16(tmp_path):
    model = _digits_shaped()
    path = export_tflite(model, tmp_path / "model.tflite", quantize="float16")
    x = _x(8, 8)
    # The file stores float16 weights and computes in float32: the same model with its weights rounded to
    # float16 (an independent reference, made here) gives its outputs to float32 rounding.
    rounded = _digits_shaped()
    rounded.set_weights([w.astype(np.float16).astype(np.float32) for w in model.get_weights()])
    expected = rounded.predict(x, verbose=0)
    got = TFLiteModel(path)(x)
    bound = _tolerance(8, 8, 50, _magnitude(expected))
    print(f"float16: largest difference {np.max(np.abs(got - expected)):.2e}, bound {bound:.2e}")
    np.testing.assert_allclose(got, expected, rtol=0, atol=bound)
    # And the rounding shows: the float32 model's outputs differ from the file's by more than that.
    assert np.max(np.abs(model.predict(x, verbose=0) - got)) > bound


def _weight_types(path):
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    parsed = flatbuffer_utils.read_model(str(path))
    names = {code: name for name, code in vars(schema.TensorType).items() if not name.startswith("_")}
    return {names[tensor.type] for graph in parsed.subgraphs for tensor in graph.tensors}


def test_quantized_exports_store_int8_and_run(tmp_path):
    model = _mnist_shaped()
    x = _x(28, 28, 64)
    float_size = export_tflite(model, tmp_path / "float.tflite").stat().st_size
    dynamic = export_tflite(model, tmp_path / "dynamic.tflite", quantize="dynamic")
    int8 = export_tflite(model, tmp_path / "int8.tflite", quantize="int8", representative_data=x)
    assert "INT8" in _weight_types(dynamic) and "INT8" in _weight_types(int8)
    # int8 weights: the LSTM's 4·128·(28+128) weights take a quarter of their float32 bytes
    assert dynamic.stat().st_size < 0.6 * float_size and int8.stat().st_size < 0.7 * float_size
    for path in (dynamic, int8):
        outputs = TFLiteModel(path)(x[:3])
        assert outputs.shape == (3, 28, 10) and np.all(np.isfinite(outputs))
    assert metadata_of(int8)["quantize"] == "int8"


def test_streaming_step_model_equals_the_whole_sequence(tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    model = _mnist_shaped()
    path = export_tflite(model, tmp_path / "stream.tflite", streaming=True)
    interpreter = Interpreter(model_path=str(path))
    signature = interpreter.get_signature_list()["stream"]
    assert sorted(signature["inputs"]) == ["image_rows", "lstm_c", "lstm_h"]
    assert sorted(signature["outputs"]) == ["lstm_c", "lstm_h", "outputs"]
    stream = interpreter.get_signature_runner("stream")
    x = _x(28, 28, 2)
    state = {"lstm_h": np.zeros((2, 128), np.float32), "lstm_c": np.zeros((2, 128), np.float32)}
    outputs = []
    for t in range(28):
        result = stream(image_rows=x[:, t : t + 1], **state)
        state = {key: result[key] for key in state}
        outputs.append(result["outputs"])
    np.testing.assert_allclose(
        np.concatenate(outputs, axis=1),
        expected := model.predict(x, verbose=0),
        rtol=0,
        atol=_tolerance(28, 28, 128, _magnitude(expected)),
    )


def test_replaces_only_its_own_file(tmp_path):
    model = _digits_shaped()
    path = export_tflite(model, tmp_path / "model.tflite")
    export_tflite(model, path, quantize="dynamic")  # ours: replaced
    assert metadata_of(path)["quantize"] == "dynamic"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.tflite"]  # no staging file left


def _unknown_length():
    inputs = keras.Input((None, 3), name="tokens")
    return keras.Model(inputs, ScanLSTM(4)(inputs))


def _keras_lstm():
    inputs = keras.Input((5, 3))
    return keras.Model(inputs, keras.layers.LSTM(4)(inputs), name="keras_lstm")


@pytest.mark.parametrize(
    "case, error, message",
    [
        ("unknown_length", ValueError, r"'tokens' has shape \(None, None, 3\)"),
        ("int8_without_data", ValueError, "representative_data is needed by quantize='int8'"),
        ("data_without_int8", ValueError, "quantize=None with representative_data given"),
        ("wrong_data_shape", ValueError, r"\[examples, 8, 8\].*shape \(3, 8, 7\)"),
        ("nan_data", ValueError, "NaN"),
        ("bad_quantize", ValueError, "quantize.*'int4'"),
        ("not_ours", ValueError, "not a tf_lstm TFLite export"),
        ("no_suffix", ValueError, "must end in .tflite"),
        ("keras_lstm", ValueError, "'keras_lstm' does not convert to TFLite builtin ops"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(tmp_path, case, error, message):
    target = tmp_path / "model.tflite"
    options = {}
    model = _digits_shaped()
    if case == "unknown_length":
        model = _unknown_length()
    elif case == "int8_without_data":
        options = dict(quantize="int8")
    elif case == "data_without_int8":
        options = dict(representative_data=_x(8, 8))
    elif case == "wrong_data_shape":
        options = dict(quantize="int8", representative_data=_x(8, 7, 3))
    elif case == "nan_data":
        options = dict(quantize="int8", representative_data=np.full((2, 8, 8), np.nan, "float32"))
    elif case == "bad_quantize":
        options = dict(quantize="int4")
    elif case == "not_ours":
        target.write_text("somebody's notes")
    elif case == "no_suffix":
        target = tmp_path / "model.bin"
    elif case == "keras_lstm":
        model = _keras_lstm()
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(error, match=message):
        export_tflite(model, target, **options)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    if case == "not_ours":
        assert target.read_text() == "somebody's notes"


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        TFLiteModel(tmp_path / "missing.tflite")


def test_predict_runs_in_batches(tmp_path):
    model = _digits_shaped()
    path = export_tflite(model, tmp_path / "model.tflite")
    x = _x(8, 8, 7)
    expected = model.predict(x, verbose=0)  # the model, not the file against itself
    np.testing.assert_allclose(
        TFLiteModel(path).predict(x, batch_size=3), expected, rtol=0, atol=_tolerance(8, 8, 50, _magnitude(expected))
    )
    with pytest.raises(ValueError, match="batch_size"):
        TFLiteModel(path).predict(x, batch_size=0)


def test_signature_given_for_a_model_of_unknown_length(tmp_path):
    model = _unknown_length()
    path = export_tflite(model, tmp_path / "m.tflite", input_signature=[tf.TensorSpec([None, 6, 3], name="tokens")])
    x = _x(6, 3, 2)
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(TFLiteModel(path)(x), expected, rtol=0, atol=_tolerance(6, 3, 4, _magnitude(expected)))
