"""tf.distribute: MirroredStrategy on two logical CPUs equals one device; the loss scaling; TF_CONFIG checks."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import LOGICAL_CPUS
from tf_lstm.distribute import distribute_batch, is_chief, make_strategy, make_train_step, replica_loss


@pytest.fixture(scope="module")
def mirrored():
    strategy = make_strategy("mirrored", devices=LOGICAL_CPUS)
    assert strategy.num_replicas_in_sync == 2
    return strategy


def one_device():
    return make_strategy("default")


def assert_same_weights(a, b, atol=1e-5):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol, rtol=0)


def test_mirrored_without_devices_takes_every_logical_cpu():
    assert make_strategy("mirrored").num_replicas_in_sync == 2
    assert make_strategy("default").num_replicas_in_sync == 1


def test_distribute_batch_gives_each_replica_a_contiguous_slice(mirrored):
    values = distribute_batch(mirrored, np.arange(5), np.arange(5) * 10)
    parts = [tuple(np.asarray(t).tolist() for t in local) for local in mirrored.experimental_local_results(values)]
    assert parts == [([0, 1], [0, 10]), ([2, 3, 4], [20, 30, 40])]
    with pytest.raises(ValueError, match=r"same length, got lengths \[5, 4\]"):
        distribute_batch(mirrored, np.arange(5), np.arange(4))
    same = distribute_batch(one_device(), np.arange(3))
    assert same[0].tolist() == [0, 1, 2]


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_train_step_scales_the_loss_so_two_replicas_equal_one(mirrored, reduction):
    """Plain SGD on a linear model: any wrong loss scale would show in the weights."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(51, 3)).astype(np.float32)  # 51: the replicas get 25 and 26 rows
    y = rng.normal(size=(51,)).astype(np.float32)
    results = []
    for strategy in (one_device(), mirrored):
        with strategy.scope():
            w = tf.Variable(np.ones((3, 1), np.float32))
            optimizer = keras.optimizers.SGD(0.01)
            optimizer.build([w])
        step = tf.function(make_train_step(strategy, lambda a, b: tf.square(b - tf.matmul(a, w)[:, 0]), [w],
                                           optimizer, reduction))
        losses = [float(step(*distribute_batch(strategy, x, y))) for _ in range(3)]
        results.append((losses, w.numpy()))
    (losses_1, w_1), (losses_2, w_2) = results
    np.testing.assert_allclose(losses_2, losses_1, rtol=1e-6)
    np.testing.assert_allclose(w_2, w_1, rtol=1e-6)
    expected_first = np.sum((y - x.sum(axis=1)) ** 2) / (1 if reduction == "sum" else 51)
    assert losses_1[0] == pytest.approx(expected_first, rel=1e-5)


def test_bad_reduction_is_named():
    with pytest.raises(ValueError, match="reduction='max'"):
        make_train_step(one_device(), lambda: None, [], None, "max")
    with pytest.raises(ValueError, match="reduction='max'"):
        replica_loss(tf.ones(3), "max")


def test_digits_under_mirrored_equals_one_device(mirrored):
    from reproductions.digits_lstm import train_one
    from tf_lstm.data import load_digits

    data = load_digits()
    runs = [train_one(0, data, epochs=2, batches=3, verbose=False, strategy=s) for s in (one_device(), mirrored)]
    assert_same_weights(runs[0][0].get_weights(), runs[1][0].get_weights())
    np.testing.assert_allclose(runs[1][1]["loss"], runs[0][1]["loss"], rtol=1e-5)


def test_mnist_trainer_under_mirrored_equals_one_device(mirrored):
    from reproductions.mnist_lstm import Trainer

    rng = np.random.default_rng(1)
    x = rng.random((6, 50, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, size=(6, 50))
    weights = []
    for strategy in (one_device(), mirrored):
        trainer = Trainer(hidden=16, seed=0, learning_rate=1e-3, strategy=strategy)
        for xb, yb in zip(x, y):
            trainer.step(*distribute_batch(strategy, xb, yb))
        weights.append(trainer.model.get_weights())
    assert_same_weights(*weights)
    assert not np.allclose(weights[0][0], Trainer(hidden=16, seed=0, learning_rate=1e-3).model.get_weights()[0])


def test_counting_rmsprop_under_mirrored_equals_one_device(mirrored):
    """Summed loss, and ArticleRMSProp's rescaling by the norm of the *summed* gradient."""
    from reproductions.counting_rnn import train
    from tf_lstm.data import counting_data
    from tf_lstm.optimizers import ArticleRMSProp

    x, y, w_x, w_rec = counting_data(seed=1)
    one = train(lambda: ArticleRMSProp(1e-3), x, y, w_x, w_rec, 60, "float64")
    two = train(lambda: ArticleRMSProp(1e-3), x, y, w_x, w_rec, 60, "float64", mirrored)
    np.testing.assert_allclose(two[0], one[0], rtol=1e-9)
    np.testing.assert_allclose(two[1:], one[1:], rtol=1e-9)


def test_imdb_fit_under_mirrored_equals_one_device(mirrored):
    """Keras' fit (mean loss) over ScanLSTM's hand-written backward pass (100 steps)."""
    from reproductions.imdb_sentiment import build_classifier

    rng = np.random.default_rng(2)
    ids = rng.integers(1, 50, size=(64, 100))
    ids[:, 60:] *= np.arange(64)[:, None] % 2  # half the reviews end in padding
    labels = rng.integers(0, 2, size=64)
    weights = []
    for strategy in (one_device(), mirrored):
        with strategy.scope():
            model = build_classifier("scan", vocabulary_size=50, embedding_dim=8, units=8, dropout=0.0, seed=0)
            model.compile(optimizer=keras.optimizers.Adadelta(1.0, rho=0.95, epsilon=1e-6),
                          loss="sparse_categorical_crossentropy")
        model.fit(ids, labels, batch_size=16, epochs=1, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    assert_same_weights(*weights)


@pytest.mark.parametrize("tf_config, message", [
    (None, "TF_CONFIG is not set"),
    ("{not json", "TF_CONFIG is not valid JSON"),
    (json.dumps({"cluster": {"worker": ["localhost:1"]}}), "must hold a 'cluster' and a 'task'"),
    (json.dumps({"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 3}}),
     "is not one of its cluster's tasks"),
])
def test_multi_worker_needs_a_valid_tf_config(monkeypatch, tf_config, message):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(ValueError, match=message):
        make_strategy("multi_worker")
    with pytest.raises(ValueError, match="strategy='parameter_server'"):
        make_strategy("parameter_server")


def test_one_process_is_its_own_chief(mirrored):
    assert is_chief(one_device()) and is_chief(mirrored)
