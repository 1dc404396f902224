"""TensorBoard logs (`reproductions.runlog`): read back from the event files, tags and steps."""

import collections

import tensorflow as tf

from reproductions.digits_lstm import DigitsConfig, reproduce
from reproductions.options import RunOptions
from reproductions.runlog import RunLog


def read_events(directory):
    """``{(tag, plugin): [steps]}`` of every summary in the event files under `directory`."""
    found = collections.defaultdict(list)
    for path in sorted(directory.glob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                found[(value.tag, value.metadata.plugin_data.plugin_name)].append(event.step)
    return found


def read_values(directory, tag):
    """``{step: value}`` of one tag: a scalar as a float, a histogram as its [buckets, 3] array, an image as bytes."""
    values = {}
    for path in sorted(directory.glob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.tag == tag:
                    values[event.step] = tf.make_ndarray(value.tensor)
    return values


def test_the_logged_values_are_the_runs(tmp_path):
    import numpy as np

    report = reproduce(DigitsConfig(epochs=2, batches=2), RunOptions(seeds=1, run_dir=tmp_path, tensorboard=True))
    report.finish()
    logs = tmp_path / "tensorboard"
    # A scalar: each epoch's test accuracy, as the report's history holds it.
    accuracy = read_values(logs, "seed_0/test_accuracy")
    np.testing.assert_allclose([accuracy[1], accuracy[2]], report.results["history_seed_0"]["val_acc"], rtol=1e-7)
    # A histogram: the kernel after training; its buckets count every weight, within the weights' range.
    histogram = read_values(logs, "seed_0/weights/scratch_lstm/kernel")[2]  # [buckets, (left, right, count)]
    assert histogram[:, 2].sum() == 8 * 4 * 50  # 8 features, 4 gate blocks of 50 units
    assert histogram[0, 0] >= -1.0 and histogram[-1, 1] <= 1.0 and histogram[0, 0] < histogram[-1, 1]
    # An image: the PNG written beside the report, as it is on disk.
    (png,) = read_values(logs, "pictures/accuracy").values()
    logged = tf.image.decode_png(png[2], channels=4).numpy()  # [width, height, encoded image]
    on_disk = tf.image.decode_png(tf.io.read_file(str(tmp_path / "accuracy.png")), channels=4).numpy()
    np.testing.assert_array_equal(logged, on_disk)


def test_a_training_reproduction_logs_scalars_histograms_settings_and_pictures(tmp_path):
    report = reproduce(DigitsConfig(epochs=2, batches=2), RunOptions(seeds=1, run_dir=tmp_path, tensorboard=True))
    report.finish()
    events = read_events(tmp_path / "tensorboard")
    for name in ("last_batch_loss", "test_accuracy", "learning_rate", "examples_per_second"):
        assert events[(f"seed_0/{name}", "scalars")] == [1, 2], name
    assert events[("seed_0/weights/scratch_lstm/kernel", "histograms")] == [0, 2]  # before and after training
    assert events[("seed_0/gates/f", "histograms")] == [0, 2]
    assert {tag for tag, plugin in events if plugin == "images"} == {f"pictures/{name[:-4]}" for name in report.plots}
    assert ("_hparams_/session_start_info", "hparams") in events
    assert report.results["tensorboard"] == "tensorboard"  # relative to the run folder


def test_without_tensorboard_nothing_is_written(tmp_path):
    log = RunLog(tmp_path, enabled=False)
    log.scalars(1, "x", loss=1.0)
    log.histograms(1, "x", {"w": [1.0, 2.0]})
    log.hparams({"epochs": 2})
    log.close()
    assert not log.enabled and list(tmp_path.iterdir()) == []


def test_the_log_folder_appears_only_with_the_first_summary(tmp_path):
    log = RunLog(tmp_path, enabled=True)
    assert list(tmp_path.iterdir()) == []  # a run stopped by bad input before any figure leaves nothing
    log.scalars(1, "x", loss=1.0)
    log.close()
    assert [p.name for p in tmp_path.iterdir()] == ["tensorboard"]
