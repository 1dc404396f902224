"""ship_tflite: the TFLite files and the ONNX file beside a reproduction's SavedModel, each measured on the test
set, the ONNX file's answers judged."""

import json

import keras
import numpy as np

from reproductions.report import Report
from reproductions.shipping import VARIANTS, ship_tflite
from tests.tolerance import float32_tolerance, lstm_terms
from tf_lstm import ScanLSTM
from tf_lstm.data import load_digits
from tf_lstm.export import export_saved_model

# A quantized file may change the answer on inputs near a decision boundary: at most this share of the test
# set more errors than the float file (measured on this model, 0.853 float: dynamic 0.853, int8 0.858), so a
# quantization that broke the model (a wrong scale: chance, 0.1) fails by far.
QUANTIZED_ALLOWANCE = 0.02


def test_every_variant_is_written_and_measured(tmp_path, capsys):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(ScanLSTM(16)(inputs)))
    x_train, y_train, x, y = load_digits()
    model.compile("adam", "categorical_crossentropy")
    model.fit(x_train / 16.0, y_train, epochs=15, batch_size=32, verbose=0)
    x, labels = (x / 16.0).astype("float32"), y.argmax(-1)  # the 360 test images and their true labels
    report = Report("digits_lstm", tmp_path / "run")
    exported = export_saved_model(model, tmp_path / "model")
    rows = ship_tflite(report, model, exported, x, labels, calibration=x_train[:200] / 16.0)
    assert list(rows) == ["SavedModel", *VARIANTS, "model.onnx", "model_dynamic.onnx"]
    assert sorted(p.name for p in exported.glob("*.tflite")) == sorted(VARIANTS)
    float_accuracy = rows["SavedModel"]["accuracy"]
    assert float_accuracy > 0.8  # trained: far above chance (0.1), so a broken file shows
    assert rows["model.tflite"]["accuracy"] == float_accuracy  # float32 in another order: the same answers
    for name in ("model_dynamic.tflite", "model_int8.tflite", "model_dynamic.onnx"):
        print(f"{name}: accuracy {rows[name]['accuracy']:.4f} against the float file's {float_accuracy:.4f}")
        assert rows[name]["accuracy"] >= float_accuracy - QUANTIZED_ALLOWANCE, name
    # probabilities after 8 steps of 16 units and a Dense over them
    assert rows["model.tflite"]["max_abs_difference"] <= float32_tolerance(lstm_terms(8, 8, 16) + 17, 1.0)
    for name, row in rows.items():
        assert row["bytes"] > 0 and row["batch1_ms"] > 0 and row["batch1024_ms"] > 0, name
        assert 0.0 <= row["accuracy"] <= 1.0 and np.isfinite(row["max_abs_difference"]), name
    assert rows["model_int8.tflite"]["quantize"] == "int8"
    # onnxruntime's fused LSTM: the SavedModel's answers, probabilities to float32 rounding.
    assert rows["model.onnx"]["examples_differing"] == 0 and rows["model.onnx"]["accuracy"] == float_accuracy
    assert rows["model.onnx"]["max_abs_difference"] <= float32_tolerance(lstm_terms(8, 8, 16) + 17, 1.0)
    assert [(row["key"], row["result"]) for row in report.rows] == [("onnx_examples_differing", "PASS")]
    printed = capsys.readouterr().out
    assert all(name in printed for name in rows) and "export (360 test inputs)" in printed
    report.finish()
    assert json.loads((tmp_path / "run" / "report.json").read_text())["results"]["tflite"] == rows
