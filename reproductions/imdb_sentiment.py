r"""Article E: the Theano LSTM tutorial (lstm.py) on IMDB, ScanLSTM beside keras.layers.LSTM.

    python -m reproductions.imdb_sentiment --imdb_path=../shared/data/imdb/aclImdb_v1_labeled.tar.gz

The tutorial's model: the tutorial's tokens (`tf_lstm.data.text.standardize_review`)
→ ids (10,000-word vocabulary, 0 = padding, one id for unknown words) → an
embedding of 128 (``0.01·U[0, 1)``) → an LSTM of 128 units with gate slices
``i, f, o, c̃``, W and U each four orthogonal 128×128 blocks side by side,
the input projection hoisted before the scan and the mask carrying the state
through padding → the mean of h over the real steps → dropout → softmax over
2 classes. Adadelta (ρ 0.95, ε 1e-6), batch 16, training reviews of
`--imdb_maxlen` tokens or more left out, 5% of the rest held out for
validation, validated every 370 updates with the tutorial's early stopping
(patience 10 validations), test on all 25,000 full-length test reviews,
batched by length.

``--imdb_layer=both`` (default) trains the same pipeline twice, with
`tf_lstm.ScanLSTM` and with `keras.layers.LSTM`, from the same seed.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from absl import flags

from reproductions import cli, config, faults, protocol
from reproductions.config import setting
from reproductions.inside import imdb_page_reviews, picture_imdb_reading, write_inside_page
from reproductions.options import RunOptions
from reproductions.report import Report, pyplot
from reproductions.training import tutorial_early_stopping

FLAGS = flags.FLAGS
NAME = "imdb_sentiment"
PREFIX = "imdb"
DEFAULT_TARBALL = "imdb/aclImdb_v1_labeled.tar.gz"

flags.DEFINE_string(
    "imdb_path",
    None,
    "An aclImdb folder or a .tar.gz of it. Default: "
    f"$TF_LSTM_DATA_DIR/{DEFAULT_TARBALL} when it exists, else TensorFlow Datasets.",
)


@dataclasses.dataclass(frozen=True)
class ImdbConfig:
    """The tutorial's protocol; each setting is a flag ``--imdb_<setting>``."""

    layer: str = setting(
        "both",
        "Which LSTM: tf_lstm.ScanLSTM, keras.layers.LSTM, or both side by side.",
        choices=["scan", "keras", "both"],
        protocol=False,
    )
    maxlen: int = setting(
        100, "Training reviews of this many tokens or more are left out (tutorial: 100).", lower_bound=2
    )
    vocabulary_size: int = setting(
        10_000, "Vocabulary, padding and unknown ids included (tutorial: 10,000).", lower_bound=3
    )
    embedding_dim: int = setting(128, "Embedding size (tutorial: 128).", lower_bound=1)
    units: int = setting(128, "LSTM units (tutorial: 128).", lower_bound=1)
    batch_size: int = setting(16, "Training batch size (tutorial: 16).", lower_bound=1)
    max_epochs: int = setting(
        30,
        "Cap on training epochs (the tutorial's __main__: 100).",
        lower_bound=1,
        protocol=False,
        article=100,
        why="time: with patience 10, the tutorial's early stopping cannot stop before 21 validations, about 60 "
        "epochs of these ~2,000 reviews, and its 100 epochs would take an hour a layer here; the weights kept are "
        "those of the best validation error within the cap",
    )
    valid_every: int = setting(370, "Validate every this many updates (the tutorial's validFreq: 370).", lower_bound=1)
    patience: int = setting(
        10, "Early stopping: validations without a better validation error (tutorial: 10).", lower_bound=1
    )
    valid_portion: float = setting(
        0.05, "Share of the (filtered) training reviews held out for validation.", lower_bound=0.0, upper_bound=0.5
    )
    dropout: float = setting(0.5, "Dropout before the classifier (tutorial: 0.5).", lower_bound=0.0, upper_bound=0.99)
    test_limit: int = setting(
        0,
        "Evaluate on a seeded random subset of this many test reviews (0 = all 25,000; the tutorial's __main__: 500).",
        lower_bound=0,
        article=500,
        why="500 reviews measure an accuracy near 0.8 to within ±3.5 points (95%); all 25,000, to within ±0.5",
    )

    DIFFERENCES: ClassVar[tuple[tuple[str, str], ...]] = (
        (
            "tokens",
            "Moses' tokenizer.perl is approximated by regular expressions (`standardize_review`): its "
            "non-breaking prefixes (mr., e.g.) and commas inside numbers are not special-cased",
        ),
        (
            "dropout",
            "Keras' inverted dropout scales the kept values by 2 in training; the tutorial's multiplies by the "
            "mask in training and by 0.5 at test. The same model class, its outputs on another scale while "
            "training",
        ),
    )


config.define_flags(ImdbConfig, PREFIX)
Config = ImdbConfig  # the protocol's name for it (reproductions.protocol)
# The shared flags it reads (reproductions.protocol.SHARED); any other given to it is refused.
USES = frozenset({"seed", "export_dir", *protocol.STRATEGY, "tensorboard", "tfds_data_dir"})
cli.existing_path("imdb_path")


def resolve_imdb_path(value: str | None) -> Path | None:
    if value is not None:
        return Path(value)
    data_dir = cli.default_data_dir()
    if data_dir is not None and (data_dir / DEFAULT_TARBALL).is_file():
        return data_dir / DEFAULT_TARBALL
    return None


def missing_requirement() -> str | None:
    """Why this reproduction cannot run here (no local copy, and TFDS cannot download IMDB), or None."""
    if resolve_imdb_path(FLAGS.imdb_path) is not None:
        return None
    return cli.tfds_missing(
        "imdb_reviews",
        "http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
        "pass --imdb_path=PATH (an aclImdb folder or .tar.gz) or set TF_LSTM_DATA_DIR",
        data_dir=FLAGS.tfds_data_dir,
    )


def build_classifier(
    layer: str,
    *,
    vocabulary_size: int = 10_000,
    embedding_dim: int = 128,
    units: int = 128,
    dropout: float = 0.5,
    seed: int = 0,
):
    """Token ids ``[batch, time]`` (0 = padding) → probabilities of (negative, positive)."""
    import keras

    import tf_lstm
    from reproductions.initializers import BlockOrthogonal

    keras.utils.set_random_seed(seed)
    tokens = keras.Input((None,), dtype="int64", name="tokens")
    embedded = keras.layers.Embedding(
        vocabulary_size,
        embedding_dim,
        mask_zero=True,
        embeddings_initializer=keras.initializers.RandomUniform(0.0, 0.01),  # Wemb = 0.01·rand
        name="embedding",
    )(tokens)
    # The tutorial's initialisation for both contenders: W and U four ortho_weight blocks each, zero bias.
    common: dict[str, Any] = dict(
        return_sequences=True,
        kernel_initializer=BlockOrthogonal(4),
        recurrent_initializer=BlockOrthogonal(4),
        bias_initializer="zeros",
        name="lstm",
    )
    if layer == "scan":
        lstm = tf_lstm.ScanLSTM(units, gate_order="ifoc", **common)
    elif layer == "keras":
        lstm = keras.layers.LSTM(units, unit_forget_bias=False, **common)
    else:
        raise ValueError(f"layer must be 'scan' or 'keras', got layer={layer!r}.")
    pooled = tf_lstm.MaskedMean(name="mean_over_real_steps")(lstm(embedded))
    dropped = keras.layers.Dropout(dropout, seed=seed, name="dropout")(pooled)
    probabilities = keras.layers.Dense(
        2, activation="softmax", name="classifier", kernel_initializer=keras.initializers.RandomNormal(stddev=0.01)
    )(dropped)
    return keras.Model(tokens, probabilities, name=f"imdb_{layer}_lstm")


def serving_model(classifier, vocabulary, vocabulary_size: int):
    """Raw review strings ``[batch]`` → positive-class probability ``[batch]``."""
    import keras

    from tf_lstm.data.text import standardize_review

    vectorizer = keras.layers.TextVectorization(
        max_tokens=vocabulary_size,
        standardize=standardize_review,
        output_mode="int",
        vocabulary=vocabulary[2:],
        name="vectorizer",
    )
    texts = keras.Input((), dtype="string", name="review")
    probabilities = classifier(vectorizer(texts))  # TextVectorization's ids are int64, as the classifier takes
    # The positive class's column, [batch], in standard layers: no Lambda, which safe-mode loaders (tf-lstm inspect)
    # and exporters cannot read.
    classes = keras.layers.Reshape((2, 1), name="classes")(probabilities)
    positive = keras.layers.Reshape((), name="positive")(
        keras.layers.Cropping1D((1, 0), name="positive_class")(classes)
    )
    return keras.Model(texts, positive, name=f"{classifier.name}_serving")


@dataclasses.dataclass(frozen=True)
class ImdbData:
    """The reviews as the tutorial prepares them: padded ids for training and validation (the reviews shorter
    than maxlen), the test reviews' ids unpadded (a ``tf.RaggedTensor``), and the vocabulary (id → word)."""

    vocabulary: list
    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    test_sequences: Any
    y_test: np.ndarray


@dataclasses.dataclass(frozen=True)
class Tested:
    """A trained layer's figures: its test accuracy and its training's, as the report records them, and its
    test probabilities (for the ONNX file's judgement; not recorded)."""

    test_accuracy: float
    best_valid_accuracy: float
    epochs: int
    seconds_per_epoch: float
    test_seconds: float
    history: dict[str, list[float]]
    validation_errors: list[float]
    updates: int
    test_probabilities: np.ndarray = dataclasses.field(repr=False, compare=False)

    def figures(self) -> dict[str, Any]:
        """The figures the report records: every field but the test probabilities."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "test_probabilities"}


def prepare(texts, labels, test_texts, test_labels, *, maxlen, vocabulary_size, valid_portion, seed, test_limit):
    """Vocabulary from the training reviews, the maxlen filter, the validation split, test ids."""
    import tensorflow as tf

    from tf_lstm.data.text import make_vectorizer

    vectorizer = make_vectorizer(texts, vocabulary_size)
    sequences = vectorizer(texts)
    lengths = sequences.row_lengths().numpy()
    keep = np.flatnonzero(lengths < maxlen)  # the tutorial: `if len(x) < maxlen`
    if len(keep) < 2:
        raise cli.UsageError(f"--imdb_maxlen={maxlen} leaves {len(keep)} training reviews; raise it.")
    rng = np.random.default_rng(seed)
    keep = rng.permutation(keep)
    n_valid = int(round(valid_portion * len(keep)))
    # Only the kept reviews are padded: the other ~88% at maxlen 100 never are.
    padded = tf.gather(sequences, keep).to_tensor(shape=[None, maxlen]).numpy()
    valid_index, train_index = keep[:n_valid], keep[n_valid:]
    valid_rows, train_rows = np.arange(n_valid), np.arange(n_valid, len(keep))
    test_index = np.arange(len(test_texts))
    if test_limit:  # a seeded random subset: the files come sorted by class
        test_index = np.sort(rng.permutation(test_index)[:test_limit])
    test_sequences = vectorizer([test_texts[k] for k in test_index])
    test_y = test_labels[test_index]
    return ImdbData(
        vocabulary=vectorizer.get_vocabulary(),
        x_train=padded[train_rows],
        y_train=labels[train_index],
        x_valid=padded[valid_rows],
        y_valid=labels[valid_index],
        test_sequences=test_sequences,
        y_test=test_y,
    )


def tutorial_numpy_examples(report: Report) -> None:
    """The article's NumPy illustrations of the tutorial's embedding lookup and input projection: the printed
    order of `x.flatten()`, the shapes, and the repeating blocks of its ``[rand] * 4`` weight (its values were drawn
    unseeded, so they are shown as the article's and not judged)."""
    rng = np.random.default_rng(0)
    vocabulary, dims, seq, samples = 10, 5, 3, 2
    target = np.array([[1, 3], [2, 6], [0, 5]])
    embedding = rng.random((vocabulary, dims))
    block = rng.random((dims, dims))
    w = np.concatenate([block] * 4, axis=1)
    projected = np.dot(embedding[target.flatten()].reshape(seq, samples, dims), w)
    report.check("numpy_flatten", target.flatten().tolist())
    report.check("numpy_projection_shape", list(projected.shape))
    repeats = all(
        np.array_equal(a[..., :dims], a[..., k * dims : (k + 1) * dims]) for a in (w, projected) for k in range(4)
    )
    report.check("numpy_blocks_repeat", repeats)


def predict_by_length(predict, sequences, batch_size: int = 64) -> np.ndarray:
    """`predict` (right-padded int64 ids ``[batch, time]`` → probabilities) over ragged id sequences, batched by
    length so padding stays small; the probabilities in the sequences' order."""
    import tensorflow as tf

    lengths = sequences.row_lengths().numpy()
    order = np.argsort(lengths, kind="stable")
    probabilities = np.zeros((len(order), 2), np.float32)
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        batch = tf.cast(tf.gather(sequences, index).to_tensor(), tf.int64).numpy()
        probabilities[index] = np.asarray(predict(batch))
    return probabilities


def evaluate_by_length(classifier, sequences, labels, batch_size: int = 64) -> tuple[float, np.ndarray]:
    """Accuracy over ragged id sequences (`predict_by_length`), and the probabilities."""
    import tensorflow as tf

    predict = tf.function(
        lambda t: classifier(t, training=False), input_signature=[tf.TensorSpec([None, None], tf.int64)]
    )
    probabilities = predict_by_length(predict, sequences, batch_size)
    return float(np.mean(probabilities.argmax(axis=1) == labels)), probabilities


def train_and_test(
    layer: str,
    data: ImdbData,
    settings: ImdbConfig,
    *,
    seed: int,
    backup_dir: Path,
    extra_callbacks=(),
    strategy=None,
):
    """Trains the tutorial's classifier with `layer` (``"scan"`` or ``"keras"``) and tests it on every test review.

    Rerunning with the same `backup_dir` resumes from the last finished epoch.
    Returns ``(classifier, results)``, or ``(classifier, Diverged)`` if the loss turned NaN or Inf.
    """
    import keras

    classifier = _compiled_classifier(layer, settings, seed, strategy)
    began: list[float] = []
    epoch_seconds: list[float] = []
    guard = faults.keras_guard()
    callbacks = [
        guard,
        keras.callbacks.BackupAndRestore(str(backup_dir)),
        stopping := tutorial_early_stopping(
            backup_dir,
            data.x_valid,
            data.y_valid,
            valid_every=settings.valid_every,
            patience=settings.patience,
        ),
        keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda epoch, logs: began.append(time.perf_counter()),
            on_epoch_end=lambda epoch, logs: epoch_seconds.append(time.perf_counter() - began[-1]),
        ),
        *extra_callbacks,
    ]
    print(f"[{layer}] training on {len(data.x_train)} reviews, validating on {len(data.x_valid)}")
    keras.utils.set_random_seed(seed)
    with faults.training_steps(resumable=True), faults.writing(backup_dir):
        history = classifier.fit(
            data.x_train,
            data.y_train,
            batch_size=settings.batch_size,
            epochs=settings.max_epochs,
            validation_data=(data.x_valid, data.y_valid),
            callbacks=callbacks,
            verbose=2,
        )
    if guard.diverged is not None:
        return classifier, guard.diverged
    return classifier, _tested(layer, classifier, data, history.history, epoch_seconds, stopping)


def _compiled_classifier(layer: str, settings: ImdbConfig, seed: int, strategy):
    """The tutorial's classifier, compiled with its Adadelta, under `strategy` (Keras' fit splits each batch over
    the replicas and scales the mean loss by their count itself)."""
    import keras
    import tensorflow as tf

    with (strategy or tf.distribute.get_strategy()).scope():
        classifier = build_classifier(
            layer,
            vocabulary_size=settings.vocabulary_size,
            embedding_dim=settings.embedding_dim,
            units=settings.units,
            dropout=settings.dropout,
            seed=seed,
        )
        classifier.compile(
            optimizer=keras.optimizers.Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-6),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    return classifier


def _tested(layer: str, classifier, data: ImdbData, history: dict, epoch_seconds: list[float], stopping) -> Tested:
    """The trained classifier's test accuracy on every test review, with its training's figures (`stopping`: the
    tutorial's early stopping, which counted the updates and validation errors)."""
    start = time.perf_counter()
    accuracy, probabilities = evaluate_by_length(classifier, data.test_sequences, data.y_test)
    test_seconds = time.perf_counter() - start
    best_valid = max(history.get("val_accuracy", [float("nan")]))
    per_epoch = sum(epoch_seconds) / max(len(epoch_seconds), 1)
    print(
        f"[{layer}] test accuracy {accuracy:.4f} on {len(data.y_test)} reviews "
        f"(best validation accuracy {best_valid:.4f}; {len(epoch_seconds)} epochs, "
        f"{per_epoch:.1f} s each; test {test_seconds:.0f} s)"
    )
    return Tested(
        test_accuracy=accuracy,
        best_valid_accuracy=best_valid,
        epochs=len(epoch_seconds),
        seconds_per_epoch=per_epoch,
        test_seconds=test_seconds,
        history={k: [float(x) for x in v] for k, v in history.items()},
        validation_errors=stopping.errors,
        updates=stopping.updates,
        test_probabilities=probabilities,
    )


def reproduce(
    settings: ImdbConfig = ImdbConfig(),
    options: RunOptions = RunOptions(),
    *,
    imdb_path=None,
    tfds_data_dir=None,
) -> Report:
    """The tutorial's experiment: prepare the reviews, train and test each layer, judge, picture, export."""
    start = time.perf_counter()
    data = load_data(settings, options.seed, imdb_path, tfds_data_dir)
    report = options.report(NAME, settings)
    tutorial_numpy_examples(report)
    results, classifiers = {}, {}
    for name in trained_layers(settings):
        backup = report.run_dir / f"backup_{name}"
        classifier, result = train_and_test(
            name, data, settings, seed=options.seed, backup_dir=backup, strategy=options.strategy
        )
        if isinstance(result, faults.Diverged):
            report.diverged(name, result)
            continue
        results[name] = result
        classifiers[name] = classifier
        log_training(report, name, classifier, results[name], len(data.x_train))
    report.record(
        "data",
        dict(
            seed=options.seed,
            train_reviews=len(data.x_train),
            valid_reviews=len(data.x_valid),
            test_reviews=len(data.y_test),
        ),
    )
    report.record("results", {name: result.figures() for name, result in results.items()})
    judge(report, settings, results)
    picture_accuracy(report, settings, results)
    if "scan" in classifiers:
        picture_imdb_reading(report, classifiers["scan"], data)
        ids, labels = imdb_page_reviews(data, settings.maxlen, seed=options.seed)
        write_inside_page(
            report,
            classifiers["scan"],
            ids,
            what=f"ScanLSTM reading {len(ids):,} IMDB test reviews of at most {settings.maxlen} tokens",
            labels=labels,
            loss="sparse_categorical_crossentropy",
            vocabulary=[str(word) for word in data.vocabulary],
        )
    if options.export_to is not None and classifiers:
        chosen = export(report, settings, classifiers, data, options.export_to)
        ship_onnx(report, classifiers[chosen], options.export_to, data, results[chosen].test_probabilities)
    else:
        report.not_run("onnx_examples_differing", "--export_dir=none" if classifiers else "no layer trained")
    report.record("total_seconds", time.perf_counter() - start)
    return report


def load_data(settings: ImdbConfig, seed: int, imdb_path, tfds_data_dir) -> ImdbData:
    """The reviews, read and prepared as the tutorial does (`prepare`); bad input is exit 2 before any work."""
    from tf_lstm.data.imdb import load_imdb

    start = time.perf_counter()
    with cli.input_checks():
        texts, labels, test_texts, test_labels = load_imdb(path=imdb_path, data_dir=tfds_data_dir)
    data = prepare(
        texts,
        labels,
        test_texts,
        test_labels,
        maxlen=settings.maxlen,
        vocabulary_size=settings.vocabulary_size,
        valid_portion=settings.valid_portion,
        seed=seed,
        test_limit=settings.test_limit,
    )
    if len(data.x_valid) == 0:  # early stopping watches the validation accuracy
        raise cli.UsageError(
            f"--imdb_valid_portion={settings.valid_portion} leaves no validation review of the "
            f"{len(data.x_train)} kept; pass a larger one"
        )
    print(
        f"IMDB from {imdb_path or 'TensorFlow Datasets'}: {len(texts)} train reviews, "
        f"{len(data.x_train) + len(data.x_valid)} shorter than {settings.maxlen} tokens; "
        f"{len(data.y_test)} test reviews ({time.perf_counter() - start:.0f} s to prepare)"
    )
    return data


def log_training(report: Report, name: str, classifier, result: Tested, train_reviews: int) -> None:
    """A layer's per-epoch figures and its trained weights, to TensorBoard."""
    history = result.history
    for epoch, values in enumerate(zip(*history.values()), start=1):
        report.log.scalars(
            epoch,
            name,
            **dict(zip(history, values)),
            examples_per_second=train_reviews / result.seconds_per_epoch,
        )
    report.log.weights(len(history["loss"]), classifier, f"{name}/weights")


def judge(report: Report, settings: ImdbConfig, results: dict) -> None:
    """ScanLSTM's test accuracy against the tutorial's, and its gap to keras.layers.LSTM's (`results`: the layers
    that trained; a diverged one has already failed the report)."""
    layers = trained_layers(settings)
    if "scan" not in layers:
        report.not_run("scan_test_accuracy", f"--imdb_layer={settings.layer}")
    elif "scan" not in results:
        report.not_run("scan_test_accuracy", "the ScanLSTM run diverged")
    else:
        report.check("scan_test_accuracy", results["scan"].test_accuracy)
    if len(layers) < 2 or len(results) < 2:
        reason = f"--imdb_layer={settings.layer}" if len(layers) < 2 else "a run diverged"
        report.not_run("accuracy_gap_to_keras", reason)
        return
    report.check("accuracy_gap_to_keras", abs(results["scan"].test_accuracy - results["keras"].test_accuracy))
    report.record(
        "epoch_time_ratio_scan_to_keras",
        results["scan"].seconds_per_epoch / results["keras"].seconds_per_epoch,
    )


def trained_layers(settings: ImdbConfig) -> list[str]:
    """The layers `--imdb_layer` trains, in order."""
    return ["scan", "keras"] if settings.layer == "both" else [settings.layer]


def picture_accuracy(report: Report, settings: ImdbConfig, results: dict) -> None:
    """Each layer's validation and training accuracy by epoch."""
    figure, axes = pyplot().subplots(figsize=(7, 4.5))
    for name, result in results.items():
        axes.plot(result.history["val_accuracy"], label=f"{name}: validation accuracy")
        axes.plot(result.history["accuracy"], "--", label=f"{name}: training accuracy")
    axes.set_ylim(0.4, 1.0)
    axes.set_xlabel("epoch")
    axes.set_ylabel("accuracy")
    axes.set_title(f"IMDB, reviews of at most {settings.maxlen} tokens")
    axes.legend(fontsize=8)
    report.plot(figure, "accuracy.png")


def export(report: Report, settings: ImdbConfig, classifiers: dict, data: ImdbData, export_to: Path) -> str:
    """ScanLSTM's classifier (else the other) as a SavedModel taking raw strings, streaming included; returns
    which."""
    import tensorflow as tf

    chosen = "scan" if "scan" in classifiers else next(iter(classifiers))
    report.export(
        serving_model(classifiers[chosen], data.vocabulary, settings.vocabulary_size),
        export_to,
        f"the {chosen} model (raw strings in, positive probability out)",
        input_signature=[tf.TensorSpec([None], tf.string, name="review")],
        streaming=True,
    )
    return chosen


def ship_onnx(report: Report, classifier, export_to: Path, data: ImdbData, keras_probabilities) -> None:
    """The classifier (token ids in: ONNX holds no TextVectorization) as ``model.onnx`` in the SavedModel's folder,
    served by onnxruntime over every test review and judged: at most one answer different from the model's."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        report.not_run("onnx_examples_differing", "onnxruntime is not installed: pip install -e '.[onnx]'")
        return
    from reproductions.shipping import onnx_runner
    from tf_lstm.export import export_onnx

    with faults.writing(Path(export_to) / "model.onnx"):
        path = export_onnx(classifier, Path(export_to) / "model.onnx")
    start = time.perf_counter()
    probabilities = predict_by_length(onnx_runner(path), data.test_sequences)
    seconds = time.perf_counter() - start
    differing = int(np.sum(probabilities.argmax(-1) != keras_probabilities.argmax(-1)))
    largest = float(np.max(np.abs(probabilities - keras_probabilities)))
    print(f"model.onnx (token ids in): {differing} of {len(probabilities):,} test answers differ from the model's; "
          f"largest probability difference {largest:.1e}; {seconds:.0f} s for every test review")  # fmt: skip
    report.check("onnx_examples_differing", differing)
    report.record(
        "onnx",
        dict(
            file="model.onnx",
            bytes=path.stat().st_size,
            accuracy=float(np.mean(probabilities.argmax(-1) == data.y_test)),
            examples_differing=differing,
            max_abs_difference=largest,
            test_seconds=seconds,
        ),
    )


def data_from_flags() -> dict[str, Any]:
    """Where the IMDB reviews are: ``--imdb_path`` (or $TF_LSTM_DATA_DIR), else TensorFlow Datasets."""
    return dict(imdb_path=resolve_imdb_path(FLAGS.imdb_path), tfds_data_dir=FLAGS.tfds_data_dir)


if __name__ == "__main__":
    protocol.main(__name__)
