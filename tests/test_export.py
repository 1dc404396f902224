"""export_saved_model replaces only its own exports; everything else is refused before any work."""

import os
import subprocess
import sys
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.tolerance import float32_tolerance, lstm_terms
from tf_lstm import ScanLSTM
from tf_lstm.export import MARKER, check_export_path, export_saved_model


def _model():
    inputs = keras.Input((3, 2))
    return keras.Model(inputs, keras.layers.Dense(1)(ScanLSTM(2)(inputs)))


def _tree(root):
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


def test_export_is_marked_and_replaces_only_its_own_export(tmp_path):
    x = np.random.default_rng(0).normal(size=(4, 3, 2)).astype(np.float32)
    first, second = _model(), _model()  # two models, two draws of the weights
    path = export_saved_model(first, tmp_path / "model")
    assert (path / MARKER).is_file() and (path / "saved_model.pb").is_file()
    export_saved_model(second, tmp_path / "model")  # ours: replaced
    assert _tree(tmp_path)[0] == "model" and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    served = list(tf.saved_model.load(str(path)).signatures["serving_default"](tf.constant(x)).values())[0]
    # The second model is served, not the first: their outputs differ by far more than rounding.
    tolerance = float32_tolerance(lstm_terms(3, 2, 2) + 3)
    np.testing.assert_allclose(served, second(x), rtol=0, atol=tolerance)
    assert np.max(np.abs(np.asarray(first(x)) - np.asarray(second(x)))) > 100 * tolerance


def test_an_empty_folder_may_be_filled(tmp_path):
    (tmp_path / "empty").mkdir()
    export_saved_model(_model(), tmp_path / "empty")
    assert (tmp_path / "empty" / MARKER).is_file()


@pytest.mark.parametrize(
    "target",
    [
        "user_folder",
        "parent",
        "file",
        "inside_file",
        "cwd",
        "dot",
        "root",
        "parent_of_cwd",
        "our_export_without_marker",
    ],
)
def test_anything_else_is_refused_and_untouched(tmp_path, monkeypatch, target):
    project = tmp_path / "project"
    (project / "notes").mkdir(parents=True)
    (project / "notes" / "thesis.txt").write_text("years of work")
    (project / "data.csv").write_text("1,2\n")
    (project / "old_model").mkdir()
    (project / "old_model" / "saved_model.pb").write_bytes(b"not ours: no marker")
    monkeypatch.chdir(project / "notes")
    path = {
        "user_folder": project / "notes",
        "parent": project,
        "file": project / "data.csv",
        "inside_file": project / "data.csv" / "model",
        "cwd": os.getcwd(),
        "dot": ".",
        "root": "/",
        "parent_of_cwd": "..",
        "our_export_without_marker": project / "old_model",
    }[target]
    before = _tree(project)
    with pytest.raises(ValueError, match="export path") as error:
        export_saved_model(_model(), path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)
    assert _tree(project) == before
    assert (project / "notes" / "thesis.txt").read_text() == "years of work"


def test_a_replace_killed_midway_is_restored_then_finished(tmp_path):
    model = _model()
    path = export_saved_model(model, tmp_path / "model")
    # Killed after moving the old export aside, before the new one took its place.
    retired = tempfile.mkdtemp(prefix=".model.old.", dir=tmp_path)
    path.rename(os.path.join(retired, "model"))
    assert not path.exists()
    check_export_path(path)  # a missing path is fine
    export_saved_model(model, path)
    assert (path / MARKER).is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_leftover_old_export_beside_a_new_one_is_deleted(tmp_path):
    model = _model()
    path = export_saved_model(model, tmp_path / "model")
    retired = tempfile.mkdtemp(prefix=".model.old.", dir=tmp_path)
    export_saved_model(model, os.path.join(retired, "model"))
    stranger = tmp_path / ".model.old.notmine"
    stranger.mkdir()
    (stranger / "keep.txt").write_text("not an export")
    export_saved_model(model, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.old.notmine", "model"]
    assert (stranger / "keep.txt").read_text() == "not an export"


# -- what a model of the layers exports ---------------------------------------------

BATCH, STEPS, FEATURES, UNITS = 3, 7, 5, 4
MAGNITUDE = 2.5  # outputs of STEPS steps on values <= |x|·|W| (see tests/test_layers.py)
# A reload computes the model (STEPS LSTM steps, then Dense(2) over UNITS values) with other kernels.
OUTPUT_TOLERANCE = float32_tolerance(lstm_terms(STEPS, FEATURES, UNITS) + UNITS + 1, MAGNITUDE)


@pytest.fixture
def x():
    return np.random.default_rng(0).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")


def _classifier(**options):
    inputs = keras.Input((STEPS, FEATURES))
    return keras.Model(inputs, keras.layers.Dense(2)(ScanLSTM(UNITS, **options)(inputs)))


def test_saved_model_reloads_in_a_fresh_process_without_tf_lstm(tmp_path, x):
    model = _classifier(gate_order="ijfo", forget_bias=1.0)
    expected = model.predict(x, verbose=0)
    export_saved_model(model, tmp_path / "exported")
    np.save(tmp_path / "x.npy", x)
    script = (
        "import sys, numpy as np, tensorflow as tf\n"
        f"serve = tf.saved_model.load({str(tmp_path / 'exported')!r}).signatures['serving_default']\n"
        f"out = list(serve(tf.constant(np.load({str(tmp_path / 'x.npy')!r}))).values())[0]\n"
        f"np.save({str(tmp_path / 'y.npy')!r}, out.numpy())\n"
        "assert 'tf_lstm' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path)
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), expected, rtol=0, atol=OUTPUT_TOLERANCE)


def test_failed_export_leaves_nothing(tmp_path):
    model = _classifier()
    with pytest.raises(ValueError, match="99"):
        # A signature that does not fit the model fails while tracing.
        export_saved_model(model, tmp_path / "broken", input_signature=[tf.TensorSpec([None, STEPS, 99])])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("method", ["auto", "manual_backward"])
def test_saved_model_of_a_long_sequence_model(tmp_path, method):
    # Unknown length at export: auto must not put the BPTT gradient into the SavedModel.
    inputs = keras.Input((None, FEATURES))
    model = keras.Model(inputs, keras.layers.Dense(2)(ScanLSTM(UNITS, method=method)(inputs)))
    x = np.random.default_rng(0).normal(size=(2, 100, FEATURES)).astype("float32")
    model.compile("adam", "mse")
    model.fit(x, np.zeros((2, 2), "float32"), verbose=0)
    export_saved_model(model, tmp_path / "m", input_signature=[tf.TensorSpec([None, None, FEATURES], tf.float32)])
    serve = tf.saved_model.load(str(tmp_path / "m")).signatures["serving_default"]
    # 100 steps, then Dense(2) over UNITS values.
    tolerance = float32_tolerance(lstm_terms(100, FEATURES, UNITS) + UNITS + 1, MAGNITUDE)
    np.testing.assert_allclose(
        list(serve(tf.constant(x)).values())[0], model.predict(x, verbose=0), rtol=0, atol=tolerance
    )
