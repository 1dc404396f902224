"""`tf-lstm inspect` on a Keras LSTM trained here and on a reproduction's export: pictures, gradients, TensorBoard,
a page, a streaming SavedModel and a builtin-only TFLite file equal to the model; safe mode; bad input."""

import dataclasses
import json
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import tf_lstm
from tests.conftest import ROOT
from tests.tolerance import float32_tolerance, lstm_terms

T, F, U = 12, 3, 8
TF_NOTICE = re.compile(r"^[IWE]\d{4} |absl::InitializeLog|oneDNN|cuda|cpu_feature_guard")


def inspect(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "reproductions.tf_lstm_command", "inspect", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def error_line(stderr):
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr[-3000:]
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A keras.layers.LSTM classifier trained a little here, saved as .keras, and inputs with labels."""
    folder = tmp_path_factory.mktemp("trained")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, T, F)).astype("float32")
    y = (x[:, :, 0].sum(axis=1) > 0).astype("int32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((T, F)), keras.layers.LSTM(U), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=3, verbose=0)
    model.save(folder / "model.keras")
    np.savez(folder / "data.npz", x=x[:16], y=y[:16])
    return folder, model, x[:16]


def test_a_trained_keras_lstm_goes_to_pictures_a_streaming_savedmodel_and_tflite_with_equal_outputs(trained, tmp_path):
    folder, model, x = trained
    out = tmp_path / "look"
    result = inspect(
        folder / "model.keras",
        f"--inputs={folder / 'data.npz'}",
        f"--output_dir={out}",
        "--saved_model",
        "--tflite",
        "--onnx",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # The command starts quietly: none of TensorFlow's C++ start-up notices (absl log lines, CUDA probing, oneDNN).
    assert not [line for line in result.stderr.splitlines() if TF_NOTICE.search(line)], result.stderr[-3000:]
    for name in ("gates.png", "saturation.png", "gradients.png", "gradients.json", "index.html", "model.tflite"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    gradients = json.loads((out / "gradients.json").read_text())
    assert len(gradients["h"]) == T and gradients["saliency_at"] == "the inputs" and gradients["loss"] > 0
    page = (out / "index.html").read_text()
    assert all(f'src="{name}"' in page for name in ("gates.png", "saturation.png", "gradients.png"))
    expected = model(x).numpy()
    atol = float32_tolerance(lstm_terms(T, F, U) + U + 2)
    served = tf.saved_model.load(str(out / "saved_model"))
    np.testing.assert_allclose(
        next(iter(served.signatures["serving_default"](tf.constant(x)).values())), expected, atol=atol
    )
    assert {"stream", "zero_state"} <= set(served.signatures)
    np.testing.assert_allclose(tf_lstm.TFLiteModel(out / "model.tflite")(x), expected, rtol=0, atol=atol)
    assert all(not op.startswith("CUSTOM") for op in tf_lstm.tflite.tflite_ops(out / "model.tflite"))
    # The keras.layers.LSTM, come over as a ScanLSTM, is one fused LSTM node in the ONNX file.
    import onnx
    import onnxruntime

    assert [node.op_type for node in onnx.load(str(out / "model.onnx")).graph.node].count("LSTM") == 1
    runner = onnxruntime.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(runner.run(None, {runner.get_inputs()[0].name: x})[0], expected, rtol=0, atol=atol)


def test_a_model_file_that_runs_code_is_refused_unless_unsafe(trained, tmp_path):
    folder, _, _ = trained
    model = keras.Sequential([keras.Input((T, F)), keras.layers.LSTM(U), keras.layers.Lambda(lambda t: t * 2.0)])
    model.save(tmp_path / "lambda.keras")
    refused = inspect(tmp_path / "lambda.keras", f"--inputs={folder / 'data.npz'}", f"--output_dir={tmp_path / 'a'}")
    assert refused.returncode == 2
    line = error_line(refused.stderr)
    assert "needs unsafe loading" in line and "Lambda" in line and "--unsafe" in line, line
    assert not (tmp_path / "a").exists()
    np.save(tmp_path / "x.npy", np.load(folder / "data.npz")["x"])  # inputs alone: no labels, no gradients
    allowed = inspect(
        tmp_path / "lambda.keras", f"--inputs={tmp_path / 'x.npy'}", f"--output_dir={tmp_path / 'b'}", "--unsafe"
    )
    assert allowed.returncode == 0, allowed.stderr[-3000:]
    assert (tmp_path / "b" / "gates.png").is_file() and not (tmp_path / "b" / "gradients.json").exists()
    # In a process of its own, --unsafe lifts safe mode for that load alone, not for whatever runs next.
    from keras.src.saving import serialization_lib

    from tf_lstm.inspect import load_model

    loaded = load_model(tmp_path / "lambda.keras", unsafe=True)
    assert any(isinstance(layer, keras.layers.Lambda) for layer in loaded.layers)
    assert serialization_lib.in_safe_mode() is not False
    with pytest.raises(ValueError, match="safe_mode"):
        keras.saving.load_model(tmp_path / "lambda.keras")


def test_a_reproductions_export_is_inspected(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "reproductions.digits_lstm",
            "--digits_epochs=2",
            "--seeds=1",
            "--notensorboard",
            f"--output_dir={tmp_path / 'runs'}",
            f"--export_dir={tmp_path / 'export'}",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert run.returncode in (0, 1), run.stderr[-3000:]  # two epochs miss the article's figure
    from tf_lstm.data import load_digits

    _, _, x_test, y_test = load_digits()
    np.save(tmp_path / "x.npy", x_test[:8].astype("float32"))
    np.save(tmp_path / "y.npy", y_test[:8])
    result = inspect(
        tmp_path / "export",
        f"--inputs={tmp_path / 'x.npy'}",
        f"--labels={tmp_path / 'y.npy'}",
        f"--output_dir={tmp_path / 'look'}",
        "--loss=categorical_crossentropy",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    gradients = json.loads((tmp_path / "look" / "gradients.json").read_text())
    assert len(gradients["h"]) == 8 and len(gradients["c"]) == 8  # the digits are read in 8 rows


@pytest.mark.parametrize(
    "case",
    [
        "no model",
        "no inputs",
        "no --inputs",
        "two models",
        "folder not ours",
        "labels of another length",
        "not a model",
        "unknown flag",
        "bad input_kind",
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(trained, tmp_path, case):
    folder, _, _ = trained
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "notes.txt").write_text("mine")
    (tmp_path / "short.npy").write_bytes(b"")
    np.save(tmp_path / "short.npy", np.zeros(3))
    (tmp_path / "text.keras").write_text("not a zip")
    model, inputs, out = folder / "model.keras", folder / "data.npz", tmp_path / "out"
    args, expected = {
        "no model": (
            [tmp_path / "nope.keras", f"--inputs={inputs}", f"--output_dir={out}"],
            "nope.keras: no such file",
        ),
        "no inputs": ([model, f"--inputs={tmp_path / 'x.npy'}", f"--output_dir={out}"], "--inputs="),
        "folder not ours": (
            [model, f"--inputs={inputs}", f"--output_dir={tmp_path / 'theirs'}"],
            "is not an empty folder",
        ),
        "labels of another length": (
            [model, f"--inputs={inputs}", f"--labels={tmp_path / 'short.npy'}", f"--output_dir={out}"],
            "--labels: 3 labels for 16 inputs",
        ),
        "not a model": ([tmp_path / "text.keras", f"--inputs={inputs}", f"--output_dir={out}"], "cannot be loaded"),
        "no --inputs": ([model, f"--output_dir={out}"], "--inputs: required"),
        "two models": ([model, model, f"--inputs={inputs}", f"--output_dir={out}"], "expected one MODEL, got 2"),
        "bad input_kind": ([model, f"--inputs={inputs}", "--input_kind=sound"], "--input_kind=sound: value should be"),
        "unknown flag": ([model, f"--inputs={inputs}", "--colour=red"], "Unknown command line flag 'colour'"),
    }[case]
    result = inspect(*args)
    assert result.returncode == 2
    assert expected in error_line(result.stderr)
    assert not out.exists() and (tmp_path / "theirs" / "notes.txt").read_text() == "mine"


def test_the_commands_flags_are_the_fields_of_the_librarys_inspection():
    """The command names the input kinds without importing TensorFlow; they are the library's."""
    from reproductions import tf_lstm_command
    from tf_lstm import inspect as library
    from tf_lstm.inside import INPUT_KINDS

    assert tf_lstm_command.INPUT_KINDS == library.INPUT_KINDS == INPUT_KINDS
    fields = {field.name for field in dataclasses.fields(library.Inspection)}
    assert fields - {"model"} == set(tf_lstm_command.FLAGS) - {"verbose"}  # MODEL is the one positional
