import io
import subprocess
import sys
import tarfile

import keras
import numpy as np
import pytest

from tests.conftest import ROOT
from tests.tolerance import float32_tolerance, lstm_terms
from tf_lstm import MaskedMean
from tf_lstm.data.imdb import load_imdb

REVIEWS = {
    "pos": ["A wonderful film.<br />Moving and warm.", "Great acting, great story", "I loved it"],
    "neg": ["A dull waste of time", "Terrible, boring plot", "I hated it"],
}


def write_aclimdb(root):
    for split in ("train", "test"):
        for label, texts in REVIEWS.items():
            folder = root / "aclImdb" / split / label
            folder.mkdir(parents=True)
            for k, text in enumerate(texts):
                (folder / f"{k}_{8 if label == 'pos' else 2}.txt").write_text(text)
    return root / "aclImdb"


def test_reads_a_folder(tmp_path):
    root = write_aclimdb(tmp_path)
    train_x, train_y, test_x, test_y = load_imdb(path=root)
    assert len(train_x) == len(test_x) == 6
    assert sorted(zip(train_x, train_y.tolist())) == sorted(
        [(t, 1) for t in REVIEWS["pos"]] + [(t, 0) for t in REVIEWS["neg"]]
    )


def test_reads_a_tarball_without_extracting(tmp_path):
    write_aclimdb(tmp_path / "src")
    archive = tmp_path / "imdb.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "aclImdb", arcname="aclImdb")
        # A hostile member must be neither extracted nor read.
        payload = b"pwned"
        info = tarfile.TarInfo("../../evil.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    train_x, train_y, _, test_y = load_imdb(path=archive)
    assert len(train_x) == 6 and train_y.sum() == 3 and test_y.sum() == 3
    assert not (tmp_path.parent / "evil.txt").exists()


def test_malformed_inputs_raise_clear_errors(tmp_path):
    (tmp_path / "aclImdb" / "train" / "pos").mkdir(parents=True)
    with pytest.raises(ValueError, match="lacks the aclImdb layout: no folder train/neg/"):
        load_imdb(path=tmp_path)
    not_gzip = tmp_path / "broken.tar.gz"
    not_gzip.write_bytes(b"not a gzip file at all")
    with pytest.raises(ValueError, match="broken.tar.gz' is not a readable tar archive"):
        load_imdb(path=not_gzip)
    empty = tmp_path / "empty.tar.gz"
    with tarfile.open(empty, "w:gz"):
        pass
    with pytest.raises(ValueError, match="no train reviews found"):
        load_imdb(path=empty)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_imdb(path=tmp_path / "nowhere")


def test_tfds_path_with_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=4):
        train_x, train_y, test_x, test_y = load_imdb()
    assert len(train_x) == 4 and len(test_x) == 4
    assert all(isinstance(t, str) for t in train_x)
    assert set(train_y.tolist()) <= {0, 1}


def test_masked_mean_on_known_arrays():
    x = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]], [[5.0, 6.0], [0.0, 0.0], [0.0, 0.0]]], "float32")
    mask = np.array([[True, True, False], [True, False, False]])
    np.testing.assert_allclose(MaskedMean()(x, mask=mask), [[2.0, 3.0], [5.0, 6.0]])
    np.testing.assert_allclose(MaskedMean()(x), x.mean(axis=1))
    np.testing.assert_allclose(MaskedMean()(x, mask=np.zeros((2, 3), bool)), np.zeros((2, 2)))


@pytest.mark.parametrize("layer", ["scan", "keras"])
def test_padding_does_not_change_the_probability(layer):
    from reproductions.imdb_sentiment import build_classifier

    model = build_classifier(layer, vocabulary_size=50, embedding_dim=8, units=6, seed=0)
    review = np.random.default_rng(0).integers(1, 50, size=20)
    short = np.zeros((1, 50), np.int64)
    long = np.zeros((1, 500), np.int64)
    short[0, :20] = long[0, :20] = review
    p_short = model(short, training=False).numpy()
    p_long = model(long, training=False).numpy()
    # Padding carries the state unchanged; only the masked mean's sum runs over 500 steps instead of 50
    # (values <= 1), then Dense(2) over 6 units and a softmax.
    np.testing.assert_allclose(p_short, p_long, rtol=0, atol=float32_tolerance(lstm_terms(20, 8, 6) + 500 + 6 + 6))


def test_training_resumes_from_its_checkpoint(tmp_path):
    from reproductions.imdb_sentiment import ImdbConfig, prepare, train_and_test

    rng = np.random.default_rng(0)
    words = ["good", "great", "bad", "awful", "film", "plot", "the", "a"]
    texts = [" ".join(rng.choice(words, size=8)) for _ in range(64)]
    labels = np.array([int("good" in t or "great" in t) for t in texts])
    data = prepare(
        texts, labels, texts, labels, maxlen=20, vocabulary_size=20, valid_portion=0.25, seed=0, test_limit=0
    )
    config = ImdbConfig(
        batch_size=16, max_epochs=4, patience=10, vocabulary_size=20, embedding_dim=4, units=4, dropout=0
    )
    settings = dict(settings=config, seed=0, backup_dir=tmp_path / "backup")

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        train_and_test("scan", data, extra_callbacks=[Interrupt()], **settings)
    assert (tmp_path / "backup").exists()
    resumed_model, resumed = train_and_test("scan", data, **settings)
    assert resumed.epochs == 2  # epochs 3 and 4 only: 1 and 2 were restored
    assert not (tmp_path / "backup").exists()  # removed once training completes
    whole_model, whole = train_and_test("scan", data, **{**settings, "backup_dir": tmp_path / "other"})
    # The resumed run ends where an uninterrupted one ends: the same last epochs, weights and test accuracy.
    assert resumed.history["loss"] == whole.history["loss"][2:]
    assert resumed.test_accuracy == whole.test_accuracy
    for a, b in zip(resumed_model.get_weights(), whole_model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_cli_rejects_a_missing_path(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reproductions.imdb_sentiment",
            f"--imdb_path={tmp_path / 'nope.tar.gz'}",
            f"--output_dir={tmp_path / 'out'}",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: flag --imdb_path={tmp_path / 'nope.tar.gz'}: --imdb_path must name an existing file or directory"
    )


def test_the_tutorial_initializer_is_four_independent_orthogonal_blocks():
    import keras

    from reproductions.initializers import BlockOrthogonal

    keras.utils.set_random_seed(0)
    w = np.asarray(BlockOrthogonal(4)((16, 64)))
    blocks = np.split(w, 4, axis=1)
    for block in blocks:  # each ortho_weight: orthogonal to float32 rounding (16 products of values <= 1)
        np.testing.assert_allclose(block.T @ block, np.eye(16), rtol=0, atol=16 * np.finfo(np.float32).eps * 4)
    assert np.max(np.abs(blocks[0] - blocks[1])) > 0.1  # independent draws, not one block repeated
    with pytest.raises(ValueError, match="splits the columns in 4"):
        BlockOrthogonal(4)((16, 30))
