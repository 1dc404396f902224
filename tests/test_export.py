"""export_saved_model replaces only its own exports; everything else is refused before any work."""

import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_lstm import ScanLSTM
from tf_lstm.export import MARKER, check_export_path, export_saved_model


def _model():
    inputs = keras.Input((3, 2))
    return keras.Model(inputs, keras.layers.Dense(1)(ScanLSTM(2)(inputs)))


def _tree(root):
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


def test_export_is_marked_and_replaces_only_its_own_export(tmp_path):
    model = _model()
    path = export_saved_model(model, tmp_path / "model")
    assert (path / MARKER).is_file() and (path / "saved_model.pb").is_file()
    first = (path / "saved_model.pb").stat().st_mtime_ns
    export_saved_model(model, tmp_path / "model")  # ours: replaced
    assert (path / "saved_model.pb").stat().st_mtime_ns >= first
    assert _tree(tmp_path)[0] == "model" and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    x = np.zeros((1, 3, 2), np.float32)
    served = tf.saved_model.load(str(path)).signatures["serving_default"](tf.constant(x))
    np.testing.assert_array_equal(list(served.values())[0], model(x))


def test_an_empty_folder_may_be_filled(tmp_path):
    (tmp_path / "empty").mkdir()
    export_saved_model(_model(), tmp_path / "empty")
    assert (tmp_path / "empty" / MARKER).is_file()


@pytest.mark.parametrize("target", ["user_folder", "parent", "file", "inside_file", "cwd", "dot", "root",
                                    "parent_of_cwd", "our_export_without_marker"])
def test_anything_else_is_refused_and_untouched(tmp_path, monkeypatch, target):
    project = tmp_path / "project"
    (project / "notes").mkdir(parents=True)
    (project / "notes" / "thesis.txt").write_text("years of work")
    (project / "data.csv").write_text("1,2\n")
    (project / "old_model").mkdir()
    (project / "old_model" / "saved_model.pb").write_bytes(b"not ours: no marker")
    monkeypatch.chdir(project / "notes")
    path = {
        "user_folder": project / "notes", "parent": project, "file": project / "data.csv",
        "inside_file": project / "data.csv" / "model", "cwd": os.getcwd(), "dot": ".", "root": "/",
        "parent_of_cwd": "..", "our_export_without_marker": project / "old_model",
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
