"""`tf_lstm.export_onnx` on every model kind and knob: onnx.checker passes, onnxruntime runs the file, its
outputs equal the Keras model's within a derived float32 bound (printed beside the measured gap with -s), and
the fused LSTM nodes are counted, so a graph that silently fell back to a Scan fails."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

import tf_lstm
from tests.conftest import ROOT
from tests.tolerance import assert_within, float32_tolerance, lstm_terms, magnitude_of

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

STEPS, FEATURES, UNITS = 7, 5, 4


def session(proto):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])


def ops(graph) -> list[str]:
    """Every node's op type, inside If branches and Scan bodies too."""
    found = []
    for node in graph.node:
        found.append(node.op_type)
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                found += ops(attribute.g)
    return found


def exported(model, tmp_path, **options):
    path = tf_lstm.export_onnx(model, tmp_path / "model.onnx", **options)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    return proto


def run(proto, *inputs):
    runner = session(proto)
    return runner.run(None, {i.name: x for i, x in zip(runner.get_inputs(), inputs)})


def keras_outputs(model, *inputs):
    out = model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)
    return [np.asarray(o) for o in keras.tree.flatten(out)]


def bound(outputs, layers: int = 1) -> float:
    """Worst-case float32 rounding of a small LSTM then a Dense (gains <= 1 on values of this size)."""
    return float32_tolerance(lstm_terms(STEPS, FEATURES, UNITS, layers) + 2 * UNITS + 2, magnitude_of(*outputs))


def assert_equal_to_keras(model, proto, *inputs, layers: int = 1):
    got, want = run(proto, *inputs), keras_outputs(model, *inputs)
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, (k, g.shape, w.shape)
        assert_within(g, w, bound(want, layers), f"{model.name} output {k}: onnxruntime against Keras")


def randomize(model, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype(np.float32) * scale)
    return model


X = np.random.default_rng(1).normal(size=(3, STEPS, FEATURES)).astype(np.float32)

FUSED = [
    dict(),
    dict(gate_order="ijfo", forget_bias=1.0),
    dict(gate_order="ifco", recurrent_activation="hard_sigmoid"),
    dict(use_peepholes=True),
    dict(coupled=True),
    dict(cell_activation=None, gate_order="zifo", use_bias=False),
    dict(go_backwards=True, return_sequences=True),
    dict(return_sequences=True, return_state=True),
]
SCANNED = [
    dict(cell_clip=0.3),
    dict(proj_size=3, proj_clip=0.4),
    dict(layer_norm=True),
    dict(zoneout_h=0.3, zoneout_c=0.2),
]


@pytest.mark.parametrize("knobs", FUSED + SCANNED, ids=lambda k: ",".join(k) or "defaults")
def test_every_knob_exports_equal_to_the_layer(knobs, tmp_path):
    inputs = keras.Input((STEPS, FEATURES))
    outputs = tf_lstm.ScanLSTM(UNITS, **knobs)(inputs)
    head, states = (outputs[0], list(outputs[1:])) if isinstance(outputs, (list, tuple)) else (outputs, [])
    model = randomize(keras.Model(inputs, [keras.layers.Dense(2)(head), *states]))
    proto = exported(model, tmp_path)
    assert_equal_to_keras(model, proto, X)
    found = ops(proto.graph)
    fused = knobs in FUSED
    assert found.count("LSTM") == (1 if fused else 0) and found.count("Scan") == (0 if fused else 1), found


def test_a_planted_mistake_shows(tmp_path, monkeypatch):
    """A swapped gate block or a forgotten forget bias in the mapping: far beyond the bound."""
    from tf_lstm import onnx_graph

    model = randomize(
        keras.Sequential(
            [keras.Input((STEPS, FEATURES)), tf_lstm.ScanLSTM(UNITS, forget_bias=1.0), keras.layers.Dense(2)]
        )
    )
    want = keras_outputs(model, X)
    original = onnx_graph.lstm_parameters

    def swapped(graph, layer, reverse_of=None):
        parameters = original(graph, layer, reverse_of)
        for name in ("W", "R"):
            initializer = next(i for i in graph.initializers if i.name == parameters[name])
            array = onnx.numpy_helper.to_array(initializer).copy()
            array[:, :UNITS], array[:, UNITS : 2 * UNITS] = array[:, UNITS : 2 * UNITS].copy(), array[:, :UNITS].copy()
            initializer.CopyFrom(onnx.numpy_helper.from_array(array, initializer.name))
        return parameters

    monkeypatch.setattr(onnx_graph, "lstm_parameters", swapped)
    monkeypatch.setattr("tf_lstm.onnx_recurrent.lstm_parameters", swapped)
    gap = np.max(np.abs(run(exported(model, tmp_path), X)[0] - want[0]))
    assert gap > 1000 * bound(want)
    monkeypatch.undo()
    lstm = model.layers[0]
    lstm.cell.forget_bias = 0.0  # a file written without the forget bias ...
    proto = exported(model, tmp_path)
    lstm.cell.forget_bias = 1.0  # ... against the layer with it
    assert np.max(np.abs(run(proto, X)[0] - want[0])) > 1000 * bound(want)


def models():
    """Every model kind: Sequential, functional, nested, Bidirectional, stacked, the linear RNN."""
    inputs = keras.Input((STEPS, FEATURES))
    functional = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(tf_lstm.ScanLSTM(UNITS)(inputs)))
    inner = keras.Sequential([keras.Input((STEPS, FEATURES)), tf_lstm.ScanLSTM(UNITS, return_sequences=True)])
    outer_in = keras.Input((STEPS, FEATURES))
    nested = keras.Model(outer_in, keras.layers.Dense(2)(tf_lstm.ScanLSTM(3)(inner(outer_in))))
    return {
        "sequential": (
            keras.Sequential([keras.Input((STEPS, FEATURES)), tf_lstm.ScanLSTM(UNITS), keras.layers.Dense(2)]),
            1,
            1,
        ),
        "functional": (functional, 1, 1),
        "nested": (nested, 2, 2),
        "bidirectional": (
            keras.Sequential(
                [
                    keras.Input((STEPS, FEATURES)),
                    keras.layers.Bidirectional(tf_lstm.ScanLSTM(UNITS)),
                    keras.layers.Dense(2),
                ]
            ),
            1,
            1,
        ),
        "bidirectional_sum": (
            keras.Sequential(
                [
                    keras.Input((STEPS, FEATURES)),
                    keras.layers.Bidirectional(tf_lstm.ScanLSTM(UNITS, return_sequences=True), merge_mode="sum"),
                ]
            ),
            1,
            1,
        ),
        "multilayer": (
            keras.Sequential(
                [keras.Input((STEPS, FEATURES)), tf_lstm.MultiLayerLSTM(UNITS, num_layers=2, bidirectional=True)]
            ),
            2,
            2,
        ),
        "mean_without_mask": (
            keras.Sequential(
                [
                    keras.Input((STEPS, FEATURES)),
                    tf_lstm.ScanLSTM(UNITS, return_sequences=True),
                    tf_lstm.MaskedMean(),
                    keras.layers.Dense(2),
                ]
            ),
            1,
            1,
        ),
        "linear_rnn": (
            keras.Sequential([keras.Input((STEPS, FEATURES)), tf_lstm.ScanRNN(UNITS), keras.layers.Dense(1)]),
            0,
            1,
        ),
    }


@pytest.mark.parametrize("kind", list(models()))
def test_every_model_kind_exports_equal_to_the_model(kind, tmp_path):
    model, fused_lstms, layers = models()[kind]
    randomize(model)
    proto = exported(model, tmp_path)
    assert_equal_to_keras(model, proto, X, layers=layers)
    found = ops(proto.graph)
    assert found.count("LSTM") == fused_lstms and "Scan" not in found, found
    if kind == "linear_rnn":
        assert found.count("RNN") == 1


def masked_text_model():
    tokens = keras.Input((None,), dtype="int64")
    embedded = keras.layers.Embedding(20, FEATURES, mask_zero=True)(tokens)
    pooled = tf_lstm.MaskedMean()(tf_lstm.ScanLSTM(UNITS, return_sequences=True)(embedded))
    return randomize(
        keras.Model(tokens, keras.layers.Dense(2, activation="softmax")(keras.layers.Dropout(0.5)(pooled)))
    )


def test_a_masked_model_runs_the_fused_node_on_right_padding_and_the_step_on_gaps(tmp_path):
    model = masked_text_model()
    proto = exported(model, tmp_path)
    found = ops(proto.graph)
    assert found.count("If") == 1 and found.count("LSTM") == 1 and found.count("Scan") == 1
    right = np.array([[3, 5, 7, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7], [9, 0, 0, 0, 0, 0, 0]], np.int64)
    gaps = np.array([[3, 0, 7, 0, 2, 0, 0], [0, 0, 3, 4, 5, 6, 7], [9, 0, 0, 0, 0, 0, 1]], np.int64)
    for ids in (right, gaps):
        assert_equal_to_keras(model, proto, ids)


def test_masking_layer_and_every_step_output_past_the_end(tmp_path):
    x = X.copy()
    x[0, 4:] = 0.0  # right padding
    x[1, 2] = 0.0  # a gap
    inputs = keras.Input((STEPS, FEATURES))
    hidden = tf_lstm.ScanLSTM(UNITS, return_sequences=True)(keras.layers.Masking(0.0)(inputs))
    model = randomize(keras.Model(inputs, keras.layers.Dense(2)(hidden)))
    proto = exported(model, tmp_path)
    assert_equal_to_keras(model, proto, x)
    assert_equal_to_keras(model, proto, np.where(np.arange(STEPS)[None, :, None] < 5, X, 0.0).astype(np.float32))


def test_streaming_chunk_by_chunk_equals_the_whole_sequence(tmp_path):
    model = randomize(
        keras.Sequential([keras.Input((None, FEATURES)), tf_lstm.ScanLSTM(UNITS, name="lstm"), keras.layers.Dense(2)])
    )
    runner = session(exported(model, tmp_path, streaming=True))
    names = [i.name for i in runner.get_inputs()]
    assert names[1:] == ["lstm/h", "lstm/c"]
    outputs = [o.name for o in runner.get_outputs()]
    assert outputs[1:] == ["lstm/h_out", "lstm/c_out"]
    h = c = np.zeros((3, UNITS), np.float32)
    for chunk in (X[:, :3], X[:, 3:5], X[:, 5:]):
        last, h, c = runner.run(None, {names[0]: chunk, "lstm/h": h, "lstm/c": c})
    want = keras_outputs(model, X)
    assert_within(last, want[0], bound(want), "streamed in three chunks against the whole sequence")


def test_what_nothing_can_express_is_refused_with_one_line_naming_it(tmp_path):
    lam = keras.Sequential(
        [keras.Input((STEPS, FEATURES)), tf_lstm.ScanLSTM(UNITS), keras.layers.Lambda(lambda t: t * 2, name="double")]
    )
    with pytest.raises(ValueError, match="Lambda layer 'double'"):
        tf_lstm.export_onnx(lam, tmp_path / "model.onnx")

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.lstm = tf_lstm.ScanLSTM(UNITS)

        def call(self, x):
            return self.lstm(x)

    sub = Subclassed()
    sub(X)
    with pytest.raises(ValueError, match="subclassed model Subclassed"):
        tf_lstm.export_onnx(sub, tmp_path / "model.onnx")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_a_file_it_did_not_write_is_never_replaced(tmp_path):
    model = keras.Sequential([keras.Input((STEPS, FEATURES)), tf_lstm.ScanLSTM(UNITS)])
    theirs = tmp_path / "theirs.onnx"
    theirs.write_bytes(b"someone else's")
    with pytest.raises(ValueError, match="was not written by tf_lstm.export_onnx"):
        tf_lstm.export_onnx(model, theirs)
    assert theirs.read_bytes() == b"someone else's"
    for bad, message in ((tmp_path / "model.txt", "must end in .onnx"), (tmp_path / "no" / "m.onnx", "does not exist")):
        with pytest.raises(ValueError, match=message):
            tf_lstm.export_onnx(model, bad)
    ours = tf_lstm.export_onnx(model, tmp_path / "ours.onnx")
    assert tf_lstm.export_onnx(model, ours) == ours  # its own file: replaced


def test_a_fresh_process_serves_the_file_without_tensorflow(tmp_path):
    model = masked_text_model()
    path = tf_lstm.export_onnx(model, tmp_path / "text.onnx")
    ids = np.array([[3, 5, 7, 0], [1, 2, 0, 0]], np.int64)
    script = (
        "import sys, json, numpy as np, onnxruntime as ort\n"
        f"s = ort.InferenceSession({str(path)!r}, providers=['CPUExecutionProvider'])\n"
        f"out = s.run(None, {{s.get_inputs()[0].name: np.array({ids.tolist()}, np.int64)}})[0]\n"
        "assert 'tensorflow' not in sys.modules\n"
        "print(json.dumps(out.tolist()))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    want = keras_outputs(model, ids)[0]
    assert_within(np.array(json.loads(result.stdout)), want, bound([want]), "a fresh onnxruntime process")
