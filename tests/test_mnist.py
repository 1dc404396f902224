import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.tolerance import float32_tolerance, lstm_terms
from tf_lstm.data import black_out_rows, load_mnist, rotate90
from tf_lstm.data.mnist import write_idx


def write_mnist(directory, n_train=6, n_test=4, gzipped=True):
    rng = np.random.default_rng(0)
    suffix = ".gz" if gzipped else ""
    arrays = {}
    for stem, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=(n,), dtype=np.uint8)
        write_idx(directory / f"{stem}-images-idx3-ubyte{suffix}", images)
        write_idx(directory / f"{stem}-labels-idx1-ubyte{suffix}", labels)
        arrays[stem] = (images, labels)
    return arrays


@pytest.mark.parametrize("gzipped", [True, False])
def test_reads_idx_files(tmp_path, gzipped):
    arrays = write_mnist(tmp_path, gzipped=gzipped)
    x, y = load_mnist("test", path=tmp_path)
    assert x.shape == (4, 28, 28) and x.dtype == np.float32
    np.testing.assert_allclose(x, arrays["t10k"][0] / 255.0)
    np.testing.assert_array_equal(y, arrays["t10k"][1])
    assert x.min() >= 0.0 and x.max() <= 1.0


def test_truncated_file_names_the_file(tmp_path):
    write_mnist(tmp_path, gzipped=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte holds .* bytes, expected .*truncated"):
        load_mnist("train", path=tmp_path)


def test_wrong_magic_names_the_file(tmp_path):
    write_mnist(tmp_path, gzipped=False)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes((tmp_path / "t10k-images-idx3-ubyte").read_bytes())
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte has magic number 2051, expected 2049"):
        load_mnist("test", path=tmp_path)


def test_not_gzip_names_the_file(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"this is not gzip")
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz is not a valid gzip file"):
        load_mnist("test", path=tmp_path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist("train", path=tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist("train", path=tmp_path / "nowhere")
    with pytest.raises(ValueError, match="split='valid'"):
        load_mnist("valid", path=tmp_path)


def test_tfds_path_with_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=5):
        x, y = load_mnist("train")
    assert x.shape == (5, 28, 28) and x.dtype == np.float32
    assert y.shape == (5,) and y.dtype == np.int64
    assert x.min() >= 0.0 and x.max() <= 1.0


def test_rotation_turns_rows_into_columns():
    image = np.arange(9, dtype=np.float32).reshape(1, 3, 3)
    rotated = rotate90(image)
    np.testing.assert_array_equal(rotated[0], [[2, 5, 8], [1, 4, 7], [0, 3, 6]])
    np.testing.assert_array_equal(rotate90(rotate90(rotate90(rotate90(image)))), image)


def test_black_out_rows_is_inclusive_and_copies():
    images = np.ones((2, 6, 4), np.float32)
    out = black_out_rows(images, 2, 3)
    np.testing.assert_array_equal(out[:, :, 0].sum(axis=0), [2, 2, 0, 0, 2, 2])
    assert images.min() == 1.0
    with pytest.raises(ValueError, match="first=4, last=2"):
        black_out_rows(images, 4, 2)


def test_per_step_decoding_on_a_tiny_model():
    from reproductions.mnist_lstm import Trainer, serving_model

    trainer = Trainer(hidden=8, seed=0, learning_rate=1e-3)
    model = trainer.model
    x = np.random.default_rng(0).random((4, 28, 28), dtype=np.float32)
    probs = trainer.per_step_probabilities(x).numpy()
    assert probs.shape == (4, 28, 10)
    # A softmax over 10: 10 exponentials, 10 divisions and a sum of 10, each rounded once.
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=0, atol=float32_tolerance(30))
    # The serving model's answer is the last step's: the same arithmetic in another graph; 28 steps of the
    # 8-unit LSTM on pixels <= 1 with Glorot weights <= 0.4, then the output layer (weights N(0, 1): <= 5).
    tolerance = float32_tolerance(lstm_terms(28, 28, 8) + 8 + 30, 5.0)
    np.testing.assert_allclose(serving_model(model).predict(x, verbose=0), probs[:, -1], rtol=0, atol=tolerance)
    # Step t's answer depends only on rows 1..t: changing the last row leaves the others alone.
    changed = x.copy()
    changed[:, -1] = 0.0
    again = trainer.per_step_probabilities(changed).numpy()
    np.testing.assert_allclose(again[:, :-1], probs[:, :-1], rtol=0, atol=tolerance)


def test_cli_missing_mnist_dir_exits_2(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reproductions.mnist_lstm",
            f"--mnist_dir={tmp_path / 'nowhere'}",
            f"--output_dir={tmp_path / 'out'}",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "--mnist_dir must name an existing directory" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_short_training_on_real_mnist(data_dir, tmp_path):
    from reproductions.mnist_lstm import MnistConfig, train

    x, y = load_mnist("train", path=data_dir / "mnist")
    test_x, test_y = load_mnist("test", path=data_dir / "mnist")
    trainer, log, _, _ = train(x, y, MnistConfig(train_examples=20_000), seed=0, verbose=False)
    assert len(log) == 15
    # Measured (seed 0): 156 steps reach 0.8705 on the first 2,000 test images.
    assert trainer.accuracy(test_x[:2000], test_y[:2000]) > 0.8


def test_report_shows_the_articles_log_figures_beside_the_run(tmp_path):
    """Iter 1,280 and 8,960 of the article's log, unjudged, beside the first seed's; the protocol change named."""
    from reproductions.mnist_lstm import MnistConfig, reproduce
    from reproductions.options import RunOptions

    rng = np.random.default_rng(0)
    root = tmp_path / "mnist"
    root.mkdir()
    for stem, n in (("train", 256), ("t10k", 64)):
        write_idx(root / f"{stem}-images-idx3-ubyte.gz", rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8))
        write_idx(root / f"{stem}-labels-idx1-ubyte.gz", rng.integers(0, 10, size=n, dtype=np.uint8))
    report = reproduce(
        MnistConfig(
            train_examples=9_000,
            validation_images=0,
            hidden=4,
            decode_images=1,
            rotated_training=False,
            checkpoint_every=0,
        ),
        RunOptions(seeds=1, run_dir=tmp_path / "run"),
        mnist_dir=root,
    )
    rows = {row["key"]: row for row in report.rows}
    assert rows["minibatch_loss_iter_1280"]["documented"] == "1.806859"
    assert rows["minibatch_accuracy_iter_8960"]["documented"] == "0.75000"
    for key in (
        "minibatch_loss_iter_1280",
        "minibatch_accuracy_iter_1280",
        "minibatch_loss_iter_8960",
        "minibatch_accuracy_iter_8960",
    ):
        assert rows[key]["result"] == "-" and 0.0 <= rows[key]["reproduced"] < 10.0
    assert "final_minibatch_loss" not in rows  # Iter 99,840 was not reached
    assert report.protocol_changes == {
        "seeds": (1, 3),
        "train_examples": (9_000, 100_000),
        "validation_images": (0, 5_000),
        "hidden": (4, 128),
    }
    assert "after 9,000 examples" in rows["mean_test_accuracy"]["figure"]
    assert report.status == "FAIL"  # random images: no accuracy target is met


def test_a_reproduction_needs_a_seed_to_run():
    import pytest

    from reproductions.options import RunOptions

    # The first seed's model is the one pictured and exported: every reproduction needs one to run.
    with pytest.raises(ValueError, match="seeds must be a positive integer, got seeds=0"):
        RunOptions(seeds=0)
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got seed=-1"):
        RunOptions(seed=-1)
    assert list(RunOptions(seeds=2, seed=5).seed_values) == [5, 6]
