"""tf.distribute: MirroredStrategy on two logical CPUs equals one device; the loss scaling; TF_CONFIG checks."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import LOGICAL_CPUS
from tests.tolerance import EPS64, assert_close_f32, float32_tolerance, lstm_terms, magnitude_of
from tf_lstm.distribute import distribute_batch, is_chief, make_strategy, make_train_step, replica_loss


@pytest.fixture(scope="module")
def mirrored():
    strategy = make_strategy("mirrored", devices=LOGICAL_CPUS)
    assert strategy.num_replicas_in_sync == 2
    return strategy


def one_device():
    return make_strategy("default")


def assert_same_weights(a, b, terms, moved):
    """Equal weights up to the float32 rounding of their training.

    Adam and Adadelta move a weight by a step of about their learning rate
    whatever the gradient's size; rounding the gradient (`terms` operations)
    changes each step by at most eps·terms of itself. So two runs' weights
    differ by at most eps·terms·`moved`, `moved` being the most the
    optimizer can move a weight in all its steps.
    """
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert_close_f32(x, y, terms, magnitude=moved)


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
        step = tf.function(
            make_train_step(strategy, lambda a, b, w=w: tf.square(b - tf.matmul(a, w)[:, 0]), [w], optimizer, reduction)
        )
        losses = [float(step(*distribute_batch(strategy, x, y))) for _ in range(3)]
        results.append((losses, w.numpy()))
    (losses_1, w_1), (losses_2, w_2) = results
    assert losses_1[2] < losses_1[0]  # the residuals shrink: the first step's are the largest of the three
    scale = 1 if reduction == "sum" else 51
    residuals = y - x.sum(axis=1)
    # The loss sums 51 squared residuals, each from 3 products and 2 more operations.
    loss_tolerance = float32_tolerance(51 * 5, np.max(residuals**2) / scale)
    np.testing.assert_allclose(losses_2, losses_1, rtol=0, atol=loss_tolerance)
    # Each step moves w by lr·Σ_rows 2·r·x (51 rows, 3 products each, summed in an order the replicas choose),
    # then rounds w (size ≤ 1) once; the gaps of the three steps add up.
    row_gradient = np.max(2 * np.abs(residuals)[:, None] * np.abs(x)) / scale
    w_tolerance = 3 * (float32_tolerance(51 * 4, 0.01 * row_gradient) + float32_tolerance(1, magnitude_of(w_1)))
    np.testing.assert_allclose(w_2, w_1, rtol=0, atol=w_tolerance)
    expected_first = np.sum(residuals.astype(np.float64) ** 2) / scale
    assert losses_1[0] == pytest.approx(expected_first, rel=0, abs=loss_tolerance)


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
    # 6 Adam steps (lr 1e-3) through an 8-step, 8-feature, 50-unit LSTM, each gradient summed over 100 images.
    assert_same_weights(
        runs[0][0].get_weights(), runs[1][0].get_weights(), terms=100 * lstm_terms(8, 8, 50), moved=6 * 1e-3
    )
    losses = [np.asarray(run[1]["loss"]) for run in runs]
    np.testing.assert_allclose(losses[1], losses[0], rtol=0, atol=DIGITS_LOSS_TOLERANCE)


# The digits loss sums 100 images' cross-entropies; the logits are tanh outputs in [-1, 1], so each is at
# most ln(10) + 2, computed through the LSTM's operations.
DIGITS_LOSS_TOLERANCE = float32_tolerance(100 * lstm_terms(8, 8, 50), np.log(10) + 2)


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
    # 6 Adam steps (lr 1e-3) of batch 50 through a 28-step, 28-feature, 16-unit LSTM.
    assert_same_weights(*weights, terms=50 * lstm_terms(28, 28, 16), moved=6 * 1e-3)
    assert not np.allclose(weights[0][0], Trainer(hidden=16, seed=0, learning_rate=1e-3).model.get_weights()[0])


def test_mnist_step_with_sgd_under_mirrored_equals_one_device(mirrored):
    """SGD moves a weight by lr × its gradient, so a loss scaled wrongly (by the replica count, say) shows.

    Adam divides the scale away; SGD keeps it. After each step the
    two runs' weights must agree to rounding, and they must differ from a run
    whose loss is scaled by 2 (the mistake of not dividing by the global batch).
    """
    from reproductions.mnist_lstm import build_model

    rng = np.random.default_rng(2)
    x = rng.random((3, 50, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, size=(3, 50))
    weights, moved = [], []
    for strategy, scale in ((one_device(), 1.0), (mirrored, 1.0), (one_device(), 2.0)):
        with strategy.scope():
            model = build_model(16, seed=0)
            optimizer = keras.optimizers.SGD(0.5)
            optimizer.build(model.trainable_variables)
        start = [w.copy() for w in model.get_weights()]

        def per_example_loss(xb, yb, model=model, scale=scale):
            return scale * tf.nn.sparse_softmax_cross_entropy_with_logits(yb, model(xb, training=True)[:, -1])

        step = tf.function(make_train_step(strategy, per_example_loss, model.trainable_variables, optimizer, "mean"))
        for xb, yb in zip(x, y):
            step(*distribute_batch(strategy, xb, yb))
        weights.append(model.get_weights())
        moved.append(max(float(np.max(np.abs(w - s))) for w, s in zip(model.get_weights(), start)))
    one, two, doubled = weights
    # The most a weight moved bounds what rounding of its gradients (50 examples of 28 steps) can change.
    assert_same_weights(one, two, terms=50 * lstm_terms(28, 28, 16), moved=moved[0])
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(one, doubled)) > 0.1 * moved[0]


def test_counting_rmsprop_under_mirrored_equals_one_device(mirrored):
    """Summed loss, and ArticleRMSProp's rescaling by the norm of the *summed* gradient."""
    from reproductions.counting_rnn import train
    from tf_lstm.data import counting_data
    from tf_lstm.optimizers import ArticleRMSProp

    x, y, w_x, w_rec = counting_data(seed=1)
    one_costs, one_weights = train(lambda: ArticleRMSProp(1e-3), x, y, w_x, w_rec, epochs=60, dtype="float64")
    two_costs, two_weights = train(
        lambda: ArticleRMSProp(1e-3), x, y, w_x, w_rec, epochs=60, dtype="float64", strategy=mirrored
    )
    # float64: 60 updates, each summing 20 samples of 10 steps (about 5 operations a step); the
    # costs are of size ≤ 1e3 (the first), the weights ≤ 1.
    terms = 60 * 20 * 10 * 5
    np.testing.assert_allclose(two_costs, one_costs, rtol=0, atol=EPS64 * terms * magnitude_of(one_costs))
    np.testing.assert_allclose(two_weights, one_weights, rtol=0, atol=EPS64 * terms * magnitude_of(one_weights))


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
            model.compile(
                optimizer=keras.optimizers.Adadelta(1.0, rho=0.95, epsilon=1e-6), loss="sparse_categorical_crossentropy"
            )
        model.fit(ids, labels, batch_size=16, epochs=1, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    # 4 Adadelta steps of batch 16 through a 100-step, 8-feature, 8-unit LSTM. Adadelta's step is
    # sqrt(E[dx²] + 1e-6) / sqrt(E[g²] + 1e-6)·g: at most sqrt(1e-6 / (1 − 0.95)) < 5e-3 in its first steps.
    assert_same_weights(*weights, terms=16 * lstm_terms(100, 8, 8), moved=4 * 5e-3)


@pytest.mark.parametrize(
    "tf_config, message",
    [
        (None, "TF_CONFIG is not set"),
        ("{not json", "TF_CONFIG is not valid JSON"),
        (json.dumps({"cluster": {"worker": ["localhost:1"]}}), "must hold a 'cluster' and a 'task'"),
        (
            json.dumps({"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 3}}),
            "is not one of its cluster's tasks",
        ),
    ],
)
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
