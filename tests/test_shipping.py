"""ship_tflite: the TFLite files beside a reproduction's SavedModel, each measured on the test set."""

import json

import keras
import numpy as np

from reproductions.report import Report
from reproductions.shipping import VARIANTS, ship_tflite
from tests.tolerance import float32_tolerance, lstm_terms
from tf_lstm import ScanLSTM
from tf_lstm.export import export_saved_model


def test_every_variant_is_written_and_measured(tmp_path, capsys):
    inputs = keras.Input((8, 8))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(ScanLSTM(16)(inputs)))
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 16, size=(40, 8, 8)).astype("float32")
    labels = model.predict(x, verbose=0).argmax(-1)  # the float model is right on every example
    report = Report("digits_lstm", tmp_path / "run")
    exported = export_saved_model(model, tmp_path / "model")
    rows = ship_tflite(report, model, exported, x, labels, calibration=x)
    assert list(rows) == ["SavedModel", *VARIANTS]
    assert sorted(p.name for p in exported.glob("*.tflite")) == sorted(VARIANTS)
    assert rows["SavedModel"]["accuracy"] == 1.0 and rows["model.tflite"]["accuracy"] == 1.0
    # probabilities after 8 steps of 16 units and a Dense over them
    assert rows["model.tflite"]["max_abs_difference"] <= float32_tolerance(lstm_terms(8, 8, 16) + 17, 1.0)
    for name, row in rows.items():
        assert row["bytes"] > 0 and row["batch1_ms"] > 0 and row["batch1024_ms"] > 0, name
        assert 0.0 <= row["accuracy"] <= 1.0 and np.isfinite(row["max_abs_difference"]), name
    assert rows["model_int8.tflite"]["quantize"] == "int8"
    printed = capsys.readouterr().out
    assert all(name in printed for name in rows) and "export (40 test inputs)" in printed
    report.finish()
    assert json.loads((tmp_path / "run" / "report.json").read_text())["results"]["tflite"] == rows
