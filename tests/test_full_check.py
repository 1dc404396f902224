"""The README's full check, `python -m reproductions --require_all`, on the real data: every article PASSes.

One run of all five reproductions (about 20 minutes on 2 cores), then what
each one wrote: its report, its plot, and its SavedModel, which a fresh
process that never imports tf_lstm loads and serves.
"""

import json
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT, require_torch
from tests.tolerance import float32_tolerance, lstm_terms, statistical_tolerance

# The float TFLite file's probabilities against the SavedModel's: logits of up to ~30 through 28 steps of 128
# units, then the softmax (gain <= 1). Six standard deviations of the rounding; the worst case would hold a
# 1% error of a probability near 1.
FLOAT_FILE_BOUND = statistical_tolerance(lstm_terms(28, 28, 128) + 139, 30)


@pytest.mark.parametrize("probability", [0.5, 0.99])
def test_the_float_file_bound_catches_a_one_percent_error(probability):
    assert 0.01 * probability > FLOAT_FILE_BOUND


def _serve(script):
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, numpy as np, tensorflow as tf, gzip\n" + script + "assert 'tf_lstm' not in sys.modules\n",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    return loaded.stdout.split()


@pytest.mark.slow
def test_full_check_passes_and_every_export_serves(data_dir, tmp_path, chromium):
    require_torch()
    runs, models = tmp_path / "runs", tmp_path / "models"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reproductions",
            "--require_all",
            f"--mnist_dir={data_dir / 'mnist'}",
            f"--imdb_path={data_dir / 'imdb' / 'aclImdb_v1_labeled.tar.gz'}",
            f"--output_dir={runs}",
            f"--export_dir={models}",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=4000,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "5 ran: 5 passed, 0 did not; 0 skipped; exit status 0"
    summary = json.loads((runs / "summary.json").read_text())
    assert [(row["reproduction"], row["status"], row["protocol_changes"]) for row in summary] == [
        (name, "PASS", [])
        for name in ("counting_rnn", "digits_lstm", "mnist_lstm", "torch_equations", "imdb_sentiment")
    ]
    report = {
        row["reproduction"]: json.loads((runs / row["reproduction"] / "report.json").read_text()) for row in summary
    }
    # Every picture listed and written; the TensorBoard logs of the four training reproductions; the one page.
    pictures = {
        "counting_rnn": {"loss_curves.png", "state_trajectories.png"},
        "digits_lstm": {"accuracy.png", "inside_gates.png", "inside_saturation.png"},
        "mnist_lstm": {"answers_of_n_steps.png", "experiments.png", "inside_gates.png", "inside_saturation.png"},
        "torch_equations": {"per_gate_difference.png"},
        "imdb_sentiment": {"accuracy.png", "inside_reading.png", "inside_units.png"},
    }
    for name, expected in pictures.items():
        assert set(report[name]["plots"]) == expected, name
        assert all((runs / name / picture).stat().st_size > 10_000 for picture in expected), name
        has_log = name != "torch_equations"
        assert any((runs / name / "tensorboard").glob("events.out.tfevents.*")) == has_log, name
    page = (runs / "index.html").read_text()
    assert all(f"{name}/{picture}" in page for name, expected in pictures.items() for picture in expected)

    # B: every figure the article prints, judged once each (float32, the article's floatX), every one a PASS.
    from reproductions.documented import DOCUMENTED

    judged = [figure for figure in DOCUMENTED["counting_rnn"].values() if figure.kind != "info"]
    assert len([row for row in report["counting_rnn"]["figures"] if row["result"] == "PASS"]) == len(judged)
    assert (runs / "counting_rnn" / "loss_curves.png").stat().st_size > 10_000

    # C: three seeds at or above the target, the two-curve plot, the export.
    assert report["digits_lstm"]["results"]["test_accuracy_spread"]["mean"] >= 0.98
    assert (runs / "digits_lstm" / "accuracy.png").stat().st_size > 10_000
    assert (models / "digits_lstm" / "tf_lstm_export.json").is_file()

    # A: the article's log figures beside the run, the answers of n_steps, and the export's test accuracy.
    assert "Iter 99840, training image 0" in result.stdout  # the Iter's training image decoded, as the article
    rows = {row["key"]: row for row in report["mnist_lstm"]["figures"]}
    for key in ("minibatch_loss_iter_1280", "minibatch_accuracy_iter_8960", "final_minibatch_loss"):
        assert rows[key]["result"] == "-" and isinstance(rows[key]["reproduced"], float)
    mnist = data_dir / "mnist"
    accuracy = _serve(
        f"raw = gzip.open({str(mnist / 't10k-images-idx3-ubyte.gz')!r}).read()\n"
        "x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28).astype('float32') / 255\n"
        f"y = np.frombuffer(gzip.open({str(mnist / 't10k-labels-idx1-ubyte.gz')!r}).read(), np.uint8, offset=8)\n"
        f"serve = tf.saved_model.load({str(models / 'mnist_lstm')!r}).signatures['serving_default']\n"
        "p = np.concatenate([list(serve(tf.constant(x[i:i + 1000])).values())[0].numpy()\n"
        "                    for i in range(0, 10000, 1000)])\n"
        "print((p.argmax(1) == y).mean())\n"
    )
    expected = report["mnist_lstm"]["results"]["per_seed"][0]["test_accuracy"]
    assert abs(float(accuracy[-1]) - expected) <= 1 / 10_000  # one image may sit on a rounding tie

    # The TFLite files beside both SavedModels, their accuracies on the real test sets.
    for name in ("mnist_lstm", "digits_lstm"):
        shipped = report[name]["results"]["tflite"]
        files = {"SavedModel", "model.tflite", "model_dynamic.tflite", "model_int8.tflite", "model.onnx"}
        files.add("model_dynamic.onnx")
        assert set(shipped) == files, name
        assert shipped["model.onnx"]["examples_differing"] <= 1, name  # onnxruntime answers as the SavedModel
        assert all((models / name / file).stat().st_size == shipped[file]["bytes"] for file in list(shipped)[1:])
        reference = shipped["SavedModel"]["accuracy"]
        assert abs(shipped["model.tflite"]["accuracy"] - reference) <= 1 / 10_000, name  # a rounding tie at most
        bound = FLOAT_FILE_BOUND
        print(
            f"{name}: model.tflite against the SavedModel {shipped['model.tflite']['max_abs_difference']:.1e}"
            f", bound {bound:.1e}"
        )
        assert shipped["model.tflite"]["max_abs_difference"] <= bound, name
        for file in ("model_dynamic.tflite", "model_int8.tflite", "model_dynamic.onnx"):  # quantized: a point at most
            assert shipped[file]["accuracy"] >= reference - 0.01, (name, file)

    # D: every quantity of every setting, exported back to PyTorch included.
    grid = report["torch_equations"]["results"]["grid"]
    assert len(grid) == 48 and all(row["exported_h_n"] < 1e-5 for row in grid)  # biases, projections on and off
    assert {row["bias"] for row in grid} == {True, False} and {row["proj_size"] for row in grid} == {0, 8}

    # E: all 25,000 test reviews, and the raw-string export.
    assert report["imdb_sentiment"]["results"]["data"]["test_reviews"] == 25_000
    assert report["imdb_sentiment"]["config"]["maxlen"] == 100
    reading = report["imdb_sentiment"]["results"]["inside"]["reading"]
    assert ["a positive review" in r["label"] for r in reading] == [True, False]
    assert ["a negative review" in r["label"] for r in reading] == [False, True]
    positive, negative = (
        float(v)
        for v in _serve(
            f"serve = tf.saved_model.load({str(models / 'imdb_sentiment')!r}).signatures['serving_default']\n"
            "p = list(serve(tf.constant(['a wonderful, moving film', 'a dull waste of two hours'])).values())[0]\n"
            "print(float(p[0]), float(p[1]))\n"
        )
    )
    assert positive > 0.5 > negative
    # The streaming signature, word by word (the README's client), ends where the whole review does.
    streamed, whole = (
        float(v)
        for v in _serve(
            f"model = tf.saved_model.load({str(models / 'imdb_sentiment')!r})\n"
            "review = 'a wonderful, moving film with a dull ending'\n"
            "state = model.signatures['zero_state'](batch_size=tf.constant(1))\n"
            "for word in review.split():\n"
            "    result = model.signatures['stream'](review=tf.constant([word]), **state)\n"
            "    state = {key: result[key] for key in state}\n"
            "whole = list(model.signatures['serving_default'](review=tf.constant([review])).values())[0]\n"
            "print(float(result['outputs'][0]), float(whole[0]))\n"
        )
    )
    assert abs(streamed - whole) <= float32_tolerance(lstm_terms(9, 128, 128) + 129, 1.0)

    # Every run's inside page, linked from the index; IMDB's holds 1,000 test reviews, and its selection and
    # matching in the browser follow the NumPy rules over all of them.
    from tests.test_inside_page import _compare_rules, open_page, rule_cases
    from tf_lstm.inside import read_inside_page

    sequences = {"counting_rnn": 20, "digits_lstm": 360, "mnist_lstm": 1000, "torch_equations": 16}
    for name in pictures:
        held = report[name]["results"]["inside_page"]
        assert held["sequences"] == sequences.get(name, 1000) and f"{name}/inside.html" in page, name
    held = read_inside_page(runs / "imdb_sentiment" / "inside.html")
    # Every token a word of the vocabulary: none drawn as "#<id>" (a lone "#" is one of the tutorial's tokens).
    assert held["bits"] == 8 and not [token for token in held["input"]["tokens"] if re.fullmatch(r"#\d+", token)]
    imdb = open_page(chromium, runs / "imdb_sentiment" / "inside.html")
    try:
        assert imdb.requests == [(runs / "imdb_sentiment" / "inside.html").as_uri()] and imdb.errors == []
        assert _compare_rules(imdb, held, rule_cases(held, count=12)) == []
    finally:
        imdb.close()
