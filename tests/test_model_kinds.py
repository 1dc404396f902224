"""Every kind of user model through every public entry point: each pair works (checked against the model's own
outputs) or is refused in one line naming the model and what to do.

Model kinds: Sequential with an Input, Sequential built by a call, functional, functional holding a nested
Sequential, subclassed (called once), Embedding(mask_zero=True), keras.layers.Masking, stacked
return_sequences layers, Bidirectional, MultiLayerLSTM, and a functional model saved to .keras and loaded.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tf_lstm
from tests.tolerance import float32_tolerance, lstm_terms

T, F, U, V = 6, 3, 5, 20  # steps, features, units, vocabulary
BATCH = 4


class Subclassed(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lstm = tf_lstm.ScanLSTM(U)
        self.head = keras.layers.Dense(2)

    def call(self, x):
        return self.head(self.lstm(x))


def _floats():
    x = np.random.default_rng(0).normal(size=(BATCH, T, F)).astype("float32")
    x[1, 4:] = 0.0  # padding that keras.layers.Masking masks
    return x


def _tokens():
    x = np.random.default_rng(1).integers(1, V, size=(BATCH, T)).astype("int32")
    x[0, 4:] = 0  # padding that the Embedding masks
    return x


def _functional(body, tokens=False):
    inputs = keras.Input((T,), dtype="int32") if tokens else keras.Input((T, F))
    return keras.Model(inputs, keras.layers.Dense(2)(body(inputs)))


def build(kind):
    """A fresh model of `kind`, called once, and its inputs."""
    tf_lstm_layer = lambda **kw: tf_lstm.ScanLSTM(U, **kw)  # noqa: E731
    x = _tokens() if kind == "embedding_mask_zero" else _floats()
    if kind == "sequential_input":
        model = keras.Sequential([keras.Input((T, F)), tf_lstm_layer(), keras.layers.Dense(2)])
    elif kind == "sequential_called":
        model = keras.Sequential([tf_lstm_layer(), keras.layers.Dense(2)])
    elif kind == "functional":
        model = _functional(lambda h: tf_lstm_layer()(h))
    elif kind == "nested_sequential":
        model = _functional(lambda h: keras.Sequential([tf_lstm_layer(return_sequences=True), tf_lstm_layer()])(h))
    elif kind == "subclassed":
        model = Subclassed()
    elif kind == "embedding_mask_zero":
        model = _functional(lambda h: tf_lstm_layer()(keras.layers.Embedding(V, F, mask_zero=True)(h)), tokens=True)
    elif kind == "masking":
        model = _functional(lambda h: tf_lstm_layer()(keras.layers.Masking(0.0)(h)))
    elif kind == "stacked":
        model = _functional(lambda h: tf_lstm_layer()(tf_lstm_layer(return_sequences=True)(h)))
    elif kind == "bidirectional":
        model = _functional(lambda h: keras.layers.Bidirectional(tf_lstm_layer())(h))
    elif kind == "multilayer":
        model = _functional(lambda h: tf_lstm.MultiLayerLSTM(U, num_layers=2)(h)[0][:, -1])
    else:
        raise AssertionError(kind)
    model(x)
    return model, x


KINDS = [
    "sequential_input",
    "sequential_called",
    "functional",
    "nested_sequential",
    "subclassed",
    "embedding_mask_zero",
    "masking",
    "stacked",
    "bidirectional",
    "multilayer",
    "keras_file",
]
STREAMS = [kind for kind in KINDS if kind != "bidirectional"]
# Two LSTM layers (the most any kind stacks) of T steps, then a Dense of up to 2·U inputs.
TOLERANCE = float32_tolerance(lstm_terms(T, F, U, layers=2) + 2 * U + 2)


@pytest.fixture(params=KINDS)
def kind_model(request, tmp_path):
    kind = request.param
    if kind == "keras_file":
        model, x = build("functional")
        model.save(tmp_path / "model.keras")
        model = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    else:
        model, x = build(kind)
    return kind, model, x


def test_export_saved_model_serves_the_models_outputs(kind_model, tmp_path):
    kind, model, x = kind_model
    path = tf_lstm.export_saved_model(model, tmp_path / "export")
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    served = next(iter(serve(tf.constant(x)).values())).numpy()
    np.testing.assert_allclose(served, model(x), rtol=0, atol=TOLERANCE, err_msg=kind)
    # Any batch size: the signature's batch dimension is free, even for a model built by a call on 4.
    one = next(iter(serve(tf.constant(x[:1])).values())).numpy()
    np.testing.assert_allclose(one, model(x[:1]), rtol=0, atol=TOLERANCE, err_msg=kind)


def test_streaming_in_chunks_equals_the_whole_sequence_or_is_refused_by_name(kind_model, tmp_path):
    kind, model, x = kind_model
    if kind == "bidirectional":
        with pytest.raises(ValueError, match=r"is bidirectional: its backward direction needs the sequence's last"):
            tf_lstm.export_saved_model(model, tmp_path / "export", streaming=True)
        assert not (tmp_path / "export").exists()
        return
    path = tf_lstm.export_saved_model(model, tmp_path / "export", streaming=True)
    loaded = tf.saved_model.load(str(path))
    state = loaded.signatures["zero_state"](batch_size=tf.constant(BATCH))
    stream = loaded.signatures["stream"]
    input_name = stream.structured_input_signature[1].keys() - state.keys()
    (input_name,) = input_name
    for chunk in (x[:, :2], x[:, 2:3], x[:, 3:]):
        result = stream(**{input_name: tf.constant(chunk)}, **state)
        state = {key: result[key] for key in state}
    np.testing.assert_allclose(result["outputs"], model(x), rtol=0, atol=TOLERANCE, err_msg=kind)


def test_tflite_float_whole_sequence_equals_the_model(kind_model, tmp_path):
    kind, model, x = kind_model
    path = tf_lstm.export_tflite(model, tmp_path / "model.tflite")
    np.testing.assert_allclose(tf_lstm.TFLiteModel(path)(x), model(x), rtol=0, atol=TOLERANCE, err_msg=kind)


@pytest.mark.slow
@pytest.mark.parametrize("quantize", [None, "dynamic", "float16", "int8"])
@pytest.mark.parametrize("streaming", [False, True], ids=["whole", "streaming"])
def test_tflite_every_quantization_whole_and_streaming(kind_model, tmp_path, quantize, streaming):
    kind, model, x = kind_model
    data = np.concatenate([x] * 10)
    kwargs = dict(quantize=quantize, streaming=streaming, representative_data=data if quantize == "int8" else None)
    if streaming and kind == "bidirectional":
        with pytest.raises(ValueError, match="is bidirectional"):
            tf_lstm.export_tflite(model, tmp_path / "model.tflite", **kwargs)
        return
    path = tf_lstm.export_tflite(model, tmp_path / "model.tflite", **kwargs)
    assert tf_lstm.tflite.metadata_of(path)["quantize"] == quantize
    assert all(not op.startswith("CUSTOM") for op in tf_lstm.tflite.tflite_ops(path))
    outputs = tf_lstm.TFLiteModel(path)(x) if not streaming else _stream_through(path, model, x)
    assert outputs.shape == (BATCH, 2) and np.all(np.isfinite(outputs))
    if quantize is None:  # the float file computes the model (the quantized ones are judged in test_tflite)
        np.testing.assert_allclose(outputs, model(x), rtol=0, atol=TOLERANCE, err_msg=kind)


def _stream_through(path, model, x):
    """The last step's outputs of a streaming TFLite file fed `x` one step at a time from zero states."""
    stream = tf_lstm.tflite.interpreter(path, delegate=False).get_signature_runner("stream")
    specs = tf_lstm.streaming.state_specs(model)
    state = {spec.key: np.zeros([len(x), spec.size], np.float32) for spec in specs}
    (x_name,) = set(stream.get_input_details()) - set(state)
    for t in range(x.shape[1]):
        result = stream(**{x_name: x[:, t : t + 1]}, **state)
        state = {key: result[key] for key in state}
    return result["outputs"][:, -1] if result["outputs"].ndim == 3 else result["outputs"]


def test_trace_of_the_model_is_the_trace_of_its_first_lstm_on_what_reaches_it(kind_model):
    kind, model, x = kind_model
    traced = tf_lstm.trace(model, x)
    if kind == "bidirectional":
        assert set(traced) == {"forward", "backward"}
        traced = traced["forward"]
    elif kind == "multilayer":
        assert set(traced) == {"layer_0", "layer_1"}
        traced = traced["layer_0"]["forward"]
    assert traced["h"].shape == (BATCH, T, U) and traced["f"].shape == (BATCH, T, U)
    if kind in ("embedding_mask_zero", "masking"):  # the mask the model makes reaches the trace
        expected = (x != 0) if kind == "embedding_mask_zero" else np.any(x != 0, axis=-1)
        np.testing.assert_array_equal(traced["mask"], expected)
    if kind in ("sequential_input", "functional", "subclassed", "keras_file"):  # h of the last step is the output
        lstm = next(layer for layer in model._flatten_layers() if isinstance(layer, tf_lstm.ScanLSTM))
        np.testing.assert_allclose(traced["h"][:, -1], lstm(x), rtol=0, atol=TOLERANCE)
    shares = tf_lstm.saturation(traced)
    assert shares["f"]["high"].shape == (U,) and np.all((shares["f"]["high"] >= 0) & (shares["f"]["high"] <= 1))


def test_gradients_through_time_for_every_kind(kind_model):
    kind, model, x = kind_model
    y = np.zeros((BATCH, 2), "float32")
    result = tf_lstm.gradients_through_time(model, x, y, "mse")
    assert result["h"].shape == (BATCH, T) and result["x"].shape == (BATCH, T)
    assert np.all(np.isfinite(result["x"])) and result["loss"] > 0
    if kind == "embedding_mask_zero":
        assert result["saliency_at"].startswith("the output of embedding layer")
        assert np.all(result["x"][0, 4:] == 0.0)  # padded tokens are masked: the loss does not hear them
    else:
        assert result["saliency_at"] == "the inputs"


def test_a_model_with_no_tf_lstm_layer_is_refused_naming_it_and_the_converter():
    model = keras.Sequential([keras.Input((T, F)), keras.layers.LSTM(U), keras.layers.Dense(2)], name="mine")
    with pytest.raises(ValueError, match=r"model 'mine' \(Sequential\) has no tf_lstm layer to trace.*from_keras"):
        tf_lstm.trace(model, _floats())
