"""Streaming: a sequence fed in chunks through the exported ``stream`` signature gives the whole sequence's outputs."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.tolerance import float32_tolerance, lstm_terms
from tf_lstm import MaskedMean, MultiLayerLSTM, ScanLSTM, ScanRNN
from tf_lstm.context import Slot, calling, slot_of
from tf_lstm.export import export_saved_model
from tf_lstm.streaming import state_specs, stream_function

FEATURES, UNITS, STEPS, VOCABULARY = 3, 4, 9, 20
CHUNKS = [1, 4, 1, 3]  # uneven, summing to STEPS
MAGNITUDE = 2.5  # outputs of at most 3 stacked layers on inputs of size ~3 (see tests/test_export.py)
# Three recurrent layers of STEPS steps each, then a Dense of UNITS terms: the deepest model here.
TOLERANCE = float32_tolerance(lstm_terms(STEPS, FEATURES + UNITS, UNITS, layers=3) + UNITS + 1, MAGNITUDE)


def _per_step_model():
    """Masked float steps → ScanLSTM → ScanRNN → per-step Dense: outputs [batch, time, 2]."""
    inputs = keras.Input((None, FEATURES), name="x")
    h = ScanLSTM(UNITS, return_sequences=True, name="lstm")(keras.layers.Masking(0.0)(inputs))
    h = ScanRNN(UNITS, return_sequences=True, name="rnn")(h)
    return keras.Model(inputs, keras.layers.Dense(2)(h))


def _last_step_model():
    """MultiLayerLSTM (2 layers) → Dense on its last step → softmax: like MNIST's serving model."""
    inputs = keras.Input((STEPS, FEATURES), name="x")
    output, _ = MultiLayerLSTM(UNITS, num_layers=2, name="torch_like")(inputs)
    last = keras.layers.Lambda(lambda t: t[:, -1])(keras.layers.Dense(3)(output))
    return keras.Model(inputs, keras.layers.Softmax()(last))


def _token_model():
    """Token ids (0 = padding) → Embedding(mask_zero) → ScanLSTM → MaskedMean → Dense: like IMDB's."""
    tokens = keras.Input((None,), dtype="int64", name="x")
    embedded = keras.layers.Embedding(VOCABULARY, FEATURES, mask_zero=True)(tokens)
    pooled = MaskedMean(name="mean")(ScanLSTM(UNITS, return_sequences=True, name="lstm")(embedded))
    return keras.Model(tokens, keras.layers.Dense(2, activation="softmax")(pooled))


def _inputs(kind, batch, rng):
    if kind == "tokens":
        x = rng.integers(1, VOCABULARY, size=(batch, STEPS))
        x[0, 2] = 0  # padding inside a chunk and at the end: masked steps
        x[-1, 6:] = 0
        return x.astype("int64")
    x = rng.normal(size=(batch, STEPS, FEATURES)).astype("float32")
    x[0, 3] = 0.0  # masked by Masking(0.0) in the per-step model
    x[-1, 6:] = 0.0
    return x


MODELS = {
    "per_step": (_per_step_model, "float"),
    "last_step": (_last_step_model, "float"),
    "mean": (_token_model, "tokens"),
}

CLIENT = """
import json, sys
import numpy as np, tensorflow as tf
sys.modules["tf_lstm"] = None  # the client must not need tf_lstm
path, x_path, out_path, chunks = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
model = tf.saved_model.load(path)
x = np.load(x_path)
whole = model.signatures["serving_default"](x=tf.constant(x))
state = model.signatures["zero_state"](batch_size=tf.constant(len(x)))
outputs, start = [], 0
for size in chunks:
    result = model.signatures["stream"](x=tf.constant(x[:, start : start + size]), **state)
    state = {key: result[key] for key in state}
    outputs.append(result["outputs"].numpy())
    start += size
np.savez(out_path, whole=list(whole.values())[0].numpy(), *outputs)
"""


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("batch", [1, 3])
def test_chunks_through_the_loaded_signature_equal_the_whole_sequence(tmp_path, name, batch):
    make, kind = MODELS[name]
    model = make()
    x = _inputs(kind, batch, np.random.default_rng(batch))
    export_saved_model(model, tmp_path / "model", streaming=True)
    np.save(tmp_path / "x.npy", x)
    subprocess.run(
        [
            sys.executable,
            "-c",
            CLIENT,
            str(tmp_path / "model"),
            str(tmp_path / "x.npy"),
            str(tmp_path / "out.npz"),
            json.dumps(CHUNKS),
        ],
        check=True,
        cwd=tmp_path,
    )
    result = np.load(tmp_path / "out.npz")
    chunks = [result[f"arr_{k}"] for k in range(len(CHUNKS))]
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(result["whole"], expected, rtol=0, atol=TOLERANCE)
    if name == "per_step":
        np.testing.assert_allclose(np.concatenate(chunks, axis=1), expected, rtol=0, atol=TOLERANCE)
    else:
        np.testing.assert_allclose(chunks[-1], expected, rtol=0, atol=TOLERANCE)
    if name == "mean":  # the running prediction after each chunk is the model's on the prefix
        for k, end in enumerate(np.cumsum(CHUNKS)):
            np.testing.assert_allclose(chunks[k], model.predict(x[:, :end], verbose=0), rtol=0, atol=TOLERANCE)


def test_state_is_named_per_layer_and_starts_at_zero():
    model = _last_step_model()
    keys = [spec.key for spec in state_specs(model)]
    assert sorted(keys) == ["lstm_l0_c", "lstm_l0_h", "lstm_l1_c", "lstm_l1_h"]
    (stream, signature), (zero_state, _), _ = stream_function(model, [tf.TensorSpec([None, STEPS, FEATURES], name="x")])
    assert [spec.shape.as_list() for spec in signature] == [[None, None, FEATURES]] + [[None, UNITS]] * 4
    zeros = zero_state(tf.constant(2))
    assert sorted(zeros) == sorted(keys) and all(np.all(value.numpy() == 0) for value in zeros.values())
    assert all(tuple(value.shape) == (2, UNITS) for value in zeros.values())
    x = _inputs("float", 2, np.random.default_rng(0))
    result = stream(tf.constant(x), *zeros.values())
    np.testing.assert_allclose(result["outputs"], model.predict(x, verbose=0), rtol=0, atol=TOLERANCE)
    # Stream mode ends with the call: the layers run from zeros again.
    assert all(slot_of(spec.layer) is None for spec in state_specs(model))


def test_mean_counts_carry_over_chunks():
    model = _token_model()
    (stream, _), (zero_state, _), _ = stream_function(model, [tf.TensorSpec([None, None], tf.int64, name="x")])
    x = np.array([[3, 0, 5, 0]], "int64")
    state = zero_state(tf.constant(1))
    state = {key: value for key, value in stream(tf.constant(x[:, :2]), *state.values()).items() if key != "outputs"}
    assert float(state["mean_count"][0, 0]) == 1.0  # one real step, one padded
    state = {key: value for key, value in stream(tf.constant(x[:, 2:]), *state.values()).items() if key != "outputs"}
    assert float(state["mean_count"][0, 0]) == 2.0


def _bidirectional():
    inputs = keras.Input((STEPS, FEATURES))
    return keras.Model(inputs, keras.layers.Bidirectional(ScanLSTM(UNITS), name="both_ways")(inputs))


def _keras_lstm():
    inputs = keras.Input((STEPS, FEATURES))
    return keras.Model(inputs, keras.layers.LSTM(UNITS, name="keras_lstm")(inputs))


def _backwards():
    inputs = keras.Input((STEPS, FEATURES))
    return keras.Model(inputs, ScanLSTM(UNITS, go_backwards=True, name="backward")(inputs))


def _stateless():
    inputs = keras.Input((STEPS, FEATURES))
    return keras.Model(inputs, keras.layers.Dense(2)(inputs), name="dense_only")


@pytest.mark.parametrize(
    "make, message",
    [
        (_bidirectional, "'both_ways' is bidirectional"),
        (_keras_lstm, "'keras_lstm' is a keras.layers.LSTM"),
        (_backwards, "'backward' has go_backwards=True"),
        (_stateless, "'dense_only' has no layer that keeps state"),
    ],
)
def test_what_cannot_stream_is_refused_before_anything_is_written(tmp_path, make, message):
    with pytest.raises(ValueError, match=message):
        export_saved_model(make(), tmp_path / "model", streaming=True)
    assert list(tmp_path.iterdir()) == []


def test_streaming_must_be_a_bool(tmp_path):
    with pytest.raises(TypeError, match="streaming must be a bool, got streaming='yes'"):
        export_saved_model(_per_step_model(), tmp_path / "model", streaming="yes")
    assert list(tmp_path.iterdir()) == []


def test_a_streamed_layer_refuses_a_second_initial_state():
    lstm = ScanLSTM(UNITS, name="lstm")
    x = tf.zeros([1, 2, FEATURES])
    lstm(x)
    zeros = [tf.zeros([1, UNITS])] * 2
    slot = Slot(carry=tuple(zeros))
    with calling(slots=[(lstm, slot)]), pytest.raises(ValueError, match="'lstm' is streamed"):
        lstm(x, initial_state=zeros)
    assert slot.final is None
    with calling(slots=[(lstm, slot)]):
        lstm(x)
    assert [s.shape for s in slot.final] == [(1, UNITS)] * 2
    outside = lstm(x)  # outside the hook: from zeros again
    np.testing.assert_array_equal(outside, lstm(x, initial_state=zeros))


def test_imdb_serving_model_streams_word_by_word(tmp_path):
    """Raw text in chunks (the README's client): the running positive probability, the whole review's at the end."""
    from reproductions.imdb_sentiment import build_classifier, serving_model

    vocabulary = ["", "[UNK]", "the", "movie", "was", "great", "not", "bad", "a", "film"]
    classifier = build_classifier("scan", vocabulary_size=len(vocabulary), embedding_dim=6, units=UNITS, seed=0)
    model = serving_model(classifier, vocabulary, len(vocabulary))
    signature = [tf.TensorSpec([None], tf.string, name="review")]
    path = export_saved_model(model, tmp_path / "imdb", input_signature=signature, streaming=True)
    loaded = tf.saved_model.load(str(path))
    reviews = ["The movie was great, not bad!", "a film"]
    state = loaded.signatures["zero_state"](batch_size=tf.constant(1))
    running = []
    for word in reviews[0].split():
        result = loaded.signatures["stream"](review=tf.constant([word]), **state)
        state = {key: result[key] for key in state}
        running.append(float(result["outputs"][0]))
    for k in range(len(running)):
        prefix = " ".join(reviews[0].split()[: k + 1])
        np.testing.assert_allclose(running[k], model(tf.constant([prefix]))[0], rtol=0, atol=TOLERANCE)
    # Two streams of different lengths in one batch: the shorter one's padding is masked.
    whole = list(loaded.signatures["serving_default"](review=tf.constant(reviews)).values())[0].numpy()
    state = loaded.signatures["zero_state"](batch_size=tf.constant(2))
    result = loaded.signatures["stream"](review=tf.constant(reviews), **state)
    np.testing.assert_allclose(result["outputs"].numpy(), whole, rtol=0, atol=TOLERANCE)
    # No Lambda in it: Keras' safe mode (tf-lstm inspect's default) loads it, and it computes the same.
    import keras

    model.save(tmp_path / "serving.keras")
    again = keras.saving.load_model(tmp_path / "serving.keras")
    np.testing.assert_allclose(again(tf.constant(reviews)), whole, rtol=0, atol=TOLERANCE)
