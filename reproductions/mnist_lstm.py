r"""Article A: MNIST read row by row by an LSTM (TensorFlow-Examples' recurrent_network.py).

    python -m reproductions.mnist_lstm --mnist_dir=../shared/data/mnist

Each image is 28 steps of 28 pixels. One `ScanLSTM(128)` in the TF1
``BasicLSTMCell`` convention (gates ``i, j, f, o`` from one fused matmul,
``forget_bias=1``, one Glorot-uniform matrix over ``[x, h]``, zero bias),
logits ``h_28·W_out + b_out`` with W_out, b_out ~ N(0, 1), softmax
cross-entropy, Adam 1e-3, batches of 128, 100,000 examples (781 steps) drawn
from the 55,000 training images `read_data_sets` keeps (the first 5,000 are
its validation set), the upstream log line every 10 steps. Then: the article's
sigmoid demo; the "answers of n_steps" (the output layer on every step's h)
of the training minibatch at each Iter the article decodes, and its remarks
on them judged across seeds; and the experiments the article left unfinished
(rotated and blacked-out test images, a model trained on rotated images).
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import time
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np
from absl import flags

from reproductions import cli, config, faults, protocol
from reproductions.config import setting
from reproductions.inside import picture_the_inside, write_inside_page
from reproductions.options import RunOptions
from reproductions.report import Report, pyplot, weights_digest
from reproductions.shipping import ship_tflite
from reproductions.training import BatchOrder, Progress, claim_checkpoints

FLAGS = flags.FLAGS
NAME = "mnist_lstm"
PREFIX = "mnist"
STEPS = INPUTS = 28
# The article's printed points, in examples seen: its log lines and its "answers of n_steps".
DECODE_AT = (1280, 8960, 99_840)

flags.DEFINE_string(
    "mnist_dir",
    None,
    "Folder with the four MNIST IDX files (gzipped or not). Default: "
    "$TF_LSTM_DATA_DIR/mnist when set, else TensorFlow Datasets.",
)


@dataclasses.dataclass(frozen=True)
class MnistConfig:
    """Upstream's protocol and the article's experiments; each setting is a flag ``--mnist_<setting>``."""

    train_examples: int = setting(100_000, "Training examples in all (the upstream training_iters).", lower_bound=1)
    validation_images: int = setting(
        5_000,
        "The first this many training images are upstream's validation set (read_data_sets' validation_size: "
        "5,000), never trained on: 55,000 of the 60,000 remain.",
        lower_bound=0,
    )
    batch_size: int = setting(128, "Batch size (upstream: 128).", lower_bound=1)
    learning_rate: float = setting(1e-3, "Adam's learning rate (upstream: 0.001).", lower_bound=0.0)
    hidden: int = setting(128, "LSTM units (upstream: 128).", lower_bound=1)
    display_step: int = setting(10, "Print the minibatch line every this many steps (upstream: 10).", lower_bound=1)
    decode_images: int = setting(
        1,
        "How many images of the minibatch at each decoded Iter get their per-step answers printed (the article: 1).",
        lower_bound=1,
        protocol=False,
    )
    blackout_first: int = setting(
        10, "First row blacked out in the blackout experiment.", lower_bound=0, upper_bound=27, protocol=False
    )
    blackout_last: int = setting(17, "Last row (inclusive) blacked out.", lower_bound=0, upper_bound=27, protocol=False)
    rotated_training: bool = setting(
        True, "Also train a model on rotated images (one more training run).", protocol=False
    )
    DIFFERENCES: ClassVar[tuple[tuple[str, str], ...]] = (
        (
            "seeds",
            "the article trains once (and remarks that the first guess changes on each fresh run); 3 seeds here "
            "(--seeds): the accuracies are judged on their mean, the remarks across them",
        ),
        (
            "test images",
            "upstream's notebook tests the first 128 test images; they are judged, and all 10,000 as well, since "
            "one image in 128 is almost a point",
        ),
    )

    checkpoint_every: int = setting(
        100,
        "Save a checkpoint every this many steps (0: never); rerunning the "
        "same command with the same --output_dir resumes from the last one.",
        lower_bound=0,
        protocol=False,
    )


# What a checkpoint's training depends on: resuming with other values is refused.
TRAINING_SETTINGS = (
    "train_examples",
    "validation_images",
    "batch_size",
    "learning_rate",
    "hidden",
    "display_step",
    "decode_images",
    "rotated_training",
)
config.define_flags(MnistConfig, PREFIX)
Config = MnistConfig  # the protocol's name for it (reproductions.protocol)
# The shared flags it reads (reproductions.protocol.SHARED); any other given to it is refused.
USES = frozenset({"seed", "seeds", "export_dir", *protocol.STRATEGY, "tensorboard", "tfds_data_dir"})
cli.existing_path("mnist_dir", "dir")
flags.register_multi_flags_validator(
    ["mnist_blackout_first", "mnist_blackout_last"],
    lambda f: f["mnist_blackout_first"] <= f["mnist_blackout_last"],
    message="--mnist_blackout_first must be <= --mnist_blackout_last",
)


def resolve_mnist_dir(value: str | None) -> Path | None:
    if value is not None:
        return Path(value)
    data_dir = cli.default_data_dir()
    if data_dir is not None and (data_dir / "mnist").is_dir():
        return data_dir / "mnist"
    return None


# Where TFDS downloads MNIST from; its host is probed first.
MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"


def missing_requirement() -> str | None:
    """Why this reproduction cannot run here (no local files, and TFDS cannot download MNIST), or None."""
    if resolve_mnist_dir(FLAGS.mnist_dir) is not None:
        return None
    return cli.tfds_missing(
        "mnist",
        MNIST_URL,
        "pass --mnist_dir=DIR (the four IDX files) or set TF_LSTM_DATA_DIR",
        data_dir=FLAGS.tfds_data_dir,
    )


def build_model(hidden: int = 128, seed: int = 0):
    """The upstream network; its output is the logits of every step, ``[batch, 28, 10]``."""
    import keras

    import tf_lstm

    # TF1 made one Glorot-uniform matrix over [x, h]: its limit uses the fused fan-in.
    limit = math.sqrt(6.0 / (INPUTS + hidden + 4 * hidden))
    fused_glorot = lambda offset: keras.initializers.RandomUniform(-limit, limit, seed=seed * 10 + offset)  # noqa: E731
    normal = lambda offset: keras.initializers.RandomNormal(stddev=1.0, seed=seed * 10 + offset)  # noqa: E731
    inputs = keras.Input((STEPS, INPUTS), name="image_rows")
    h = tf_lstm.ScanLSTM(
        hidden,
        gate_order="ijfo",
        forget_bias=1.0,
        return_sequences=True,
        kernel_initializer=fused_glorot(0),
        recurrent_initializer=fused_glorot(1),
        bias_initializer="zeros",
        name="basic_lstm_cell",
    )(inputs)
    logits = keras.layers.Dense(10, kernel_initializer=normal(2), bias_initializer=normal(3), name="out")(h)
    return keras.Model(inputs, logits, name="mnist_lstm")


def serving_model(model):
    """Images ``[batch, 28, 28]`` → class probabilities of the last step."""
    import keras

    import tf_lstm

    last = tf_lstm.LastStep(name="last_step")(model.outputs[0])
    return keras.Model(model.inputs, keras.layers.Softmax(name="probabilities")(last), name="mnist_lstm_serving")


class Trainer:
    """The upstream network and training loop, compiled, under a `tf.distribute` strategy.

    The model, Adam and the step counter live in one `tf.train.Checkpoint`.
    """

    def __init__(self, hidden: int, seed: int, learning_rate: float, strategy=None):
        import keras
        import tensorflow as tf

        from tf_lstm.distribute import make_train_step

        self.strategy = strategy or tf.distribute.get_strategy()
        with self.strategy.scope():
            model = build_model(hidden, seed)
            self.optimizer = keras.optimizers.Adam(learning_rate=learning_rate, epsilon=1e-8)  # TF1's Adam
            self.optimizer.build(model.trainable_variables)
            self.steps_done = tf.Variable(0, dtype=tf.int64, trainable=False, name="steps_done")
        self.model = model
        self.diverged: faults.Diverged | None = None  # where a loss turned NaN or Inf
        self.checkpoint = tf.train.Checkpoint(model=model, optimizer=self.optimizer, steps_done=self.steps_done)

        def per_example_loss(x, y):
            return tf.nn.sparse_softmax_cross_entropy_with_logits(y, model(x, training=True)[:, -1])

        self.step = tf.function(
            make_train_step(self.strategy, per_example_loss, model.trainable_variables, self.optimizer, "mean")
        )

        @tf.function
        def minibatch(x, y):
            logits = model(x, training=False)[:, -1]
            hits = tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32)
            return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits)), tf.reduce_mean(hits)

        @tf.function(reduce_retracing=True)  # called with several batch sizes
        def per_step_probabilities(x):
            return tf.nn.softmax(model(x, training=False), axis=-1)

        self.minibatch, self.per_step_probabilities = minibatch, per_step_probabilities

    def accuracy(self, images, labels, batch: int = 2000) -> float:
        hits = 0
        for start in range(0, len(images), batch):
            probs = self.per_step_probabilities(images[start : start + batch]).numpy()[:, -1]
            hits += int(np.sum(probs.argmax(axis=1) == labels[start : start + batch]))
        return hits / len(images)


class Training(NamedTuple):
    """What `train` returns: the trainer (``.diverged`` says if it stopped), the displayed log, the decoded
    answers and the seconds it took."""

    trainer: Trainer
    log: list
    answers: dict[int, np.ndarray]
    seconds: float


def train(
    images,
    labels,
    settings: MnistConfig = MnistConfig(),
    *,
    seed: int,
    decode: bool = False,
    label: str = "",
    verbose: bool = True,
    strategy=None,
    checkpoint_dir: Path | None = None,
    runlog=None,
    prefix: str = "",
):
    """Trains a fresh model as upstream does; returns its `Training`.

    With `decode`, the answers are ``{examples seen: per-step probabilities of
    that step's minibatch [batch, 28, 10]}`` at each of `DECODE_AT`.

    With `runlog` (a `reproductions.runlog.RunLog`), each displayed step's
    figures go to TensorBoard under `prefix`, with the weights' histograms at
    the first and the last step.

    With `checkpoint_dir`, saves every ``settings.checkpoint_every`` steps and
    at the end, and first resumes from what an earlier, interrupted call saved
    there. Ctrl-C or SIGTERM stops it after the running step (and its
    checkpoint). A loss that turns NaN or Inf stops it at once, with
    ``trainer.diverged``, a `reproductions.faults.Diverged` (None for a run that did not).
    """
    batch_size, display_step = settings.batch_size, settings.display_step
    import keras

    from tf_lstm.distribute import distribute_batch

    keras.utils.set_random_seed(seed)
    trainer = Trainer(settings.hidden, seed, settings.learning_rate, strategy)
    batches = BatchOrder(len(images), batch_size, seed)
    progress = Progress(checkpoint_dir, trainer, settings.checkpoint_every) if checkpoint_dir is not None else None
    log, answers = progress.restore() if progress else ([], {})
    step = int(trainer.steps_done.numpy()) + 1
    if step > 1 and verbose:
        print(f"{label}resuming after step {step - 1} from {checkpoint_dir}")
    start = time.perf_counter()
    with faults.training_steps(resumable=progress is not None):
        # upstream: `while step * batch_size < training_iters`
        while step * batch_size < settings.train_examples:
            index = batches(step)
            x, y = images[index], labels[index]
            loss = trainer.step(*distribute_batch(trainer.strategy, x, y))
            if not faults.is_finite(loss):  # nothing more to learn from NaN: stop this run here
                trainer.diverged = faults.Diverged(step, float(loss))
                return Training(trainer, log, answers, time.perf_counter() - start)
            seen = step * batch_size
            if runlog is not None and step == 1:
                runlog.weights(seen, trainer.model, f"{prefix}/weights")
            if step % display_step == 0:
                log.append(display(trainer, x, y, seen, time.perf_counter() - start, settings, runlog, prefix))
                if verbose:
                    print(
                        f"{label}Iter {seen}, Minibatch Loss= {log[-1][1]:.6f}, Training Accuracy= {log[-1][2]:.5f} "
                        f"({time.perf_counter() - start:.0f} s)"
                    )
            if decode and seen in DECODE_AT:  # the article decodes the Iter's own training minibatch
                answers[seen] = trainer.per_step_probabilities(x).numpy()
            if progress:
                progress.save(step, log, answers)
            faults.step_done(step)  # Ctrl-C or SIGTERM during the step ends the run here, its checkpoint whole
            step += 1
    if runlog is not None:
        runlog.weights((step - 1) * batch_size, trainer.model, f"{prefix}/weights")
    if progress:
        progress.save(step - 1, log, answers, force=True)
    return Training(trainer, log, answers, time.perf_counter() - start)


def display(trainer, x, y, seen: int, seconds: float, settings: MnistConfig, runlog, prefix: str):
    """Upstream's display step: ``(examples seen, the minibatch's loss, its accuracy)``, also to TensorBoard."""
    loss, acc = (float(v) for v in trainer.minibatch(x, y))
    if runlog is not None:
        runlog.scalars(
            seen,
            prefix,
            minibatch_loss=loss,
            minibatch_accuracy=acc,
            learning_rate=settings.learning_rate,
            examples_per_second=seen / max(seconds, 1e-9),
        )
    return seen, loss, acc


@dataclasses.dataclass(frozen=True)
class Decoded:
    """One Iter's training minibatch as the article decodes it: its images, labels and per-step probabilities."""

    seen: int
    images: np.ndarray
    labels: np.ndarray
    probabilities: np.ndarray

    @property
    def answers(self) -> np.ndarray:
        """The answer after every row, ``[batch, 28]``."""
        return self.probabilities.argmax(axis=-1)

    @property
    def settled_at(self) -> np.ndarray:
        """Per image, the first row (1-based) from which the answer stays the final one."""
        answers = self.answers
        changed = answers != answers[:, -1:]
        last_change = np.where(changed.any(axis=1), STEPS - np.argmax(changed[:, ::-1], axis=1), 0)
        return last_change + 1


def decoded_minibatches(answers, images, labels, settings: MnistConfig, seed: int) -> list[Decoded]:
    """Each decoded Iter's minibatch, found again from the seeded batch order."""
    order = BatchOrder(len(images), settings.batch_size, seed)
    return [
        Decoded(seen, images[index], labels[index], answers[seen])
        for seen in sorted(answers)
        for index in [order(seen // settings.batch_size)]
    ]


def print_answers(decoded: list[Decoded], count: int, seed: int) -> None:
    """The article's lines: the label of the Iter's training image and its answers of n_steps."""
    for batch in decoded:
        for k in range(min(count, len(batch.labels))):
            digits = " ".join(str(d) for d in batch.answers[k])
            print(f"[seed {seed}] Iter {batch.seen}, training image {k}, label {batch.labels[k]}")
            print(f"answers of n_steps {digits}")


def plot_answers(decoded: list[Decoded]):
    """Each decoded Iter's first training image and p(its label) after every row, the answers written above."""
    plt = pyplot()
    n = len(decoded)
    figure, axes = plt.subplots(n, 2, figsize=(10, 2.6 * n), gridspec_kw=dict(width_ratios=[1, 3]), squeeze=False)
    for k, batch in enumerate(decoded):
        label = int(batch.labels[0])
        axes[k, 0].imshow(batch.images[0], cmap="gray_r")
        axes[k, 0].set_title(f"Iter {batch.seen:,}: training image, label {label}", fontsize=9)
        axes[k, 0].axis("off")
        axes[k, 1].plot(np.arange(1, STEPS + 1), batch.probabilities[0, :, label], marker=".")
        for row, digit in enumerate(batch.answers[0]):
            axes[k, 1].text(row + 1, 1.04, str(digit), ha="center", fontsize=7)
        axes[k, 1].set_ylim(0, 1.12)
        axes[k, 1].set_xlabel("rows read (time step)")
        axes[k, 1].set_ylabel("p(label)")
    figure.suptitle("Answers of n_steps: the output layer on each row's h (the digits above: the answer per row)")
    figure.tight_layout()
    return figure


def sigmoid_demo(report: Report) -> None:
    """The article's `tf.sigmoid` of ten logits, judged to its nine printed digits.

    Its figures are the float32 formula ``1 / (1 + exp(-x))`` that TensorFlow's sigmoid was in 2016, with a
    correctly rounded exp (NumPy's). `tf.sigmoid` today, and that formula on TensorFlow's own float32 exp,
    land one or two units in the last place away on some logits; both are recorded, in units in the last place.
    """
    import tensorflow as tf

    from reproductions.documented import SIGMOID_LOGITS

    logits = np.asarray(SIGMOID_LOGITS, np.float32)
    one = np.float32(1)
    formula = one / (one + np.exp(-logits))
    for k, value in enumerate(formula):
        report.check(f"sigmoid_{k}", float(value), label=f"sigmoid({SIGMOID_LOGITS[k]}): 1 / (1 + exp(-x)), float32")
    today = tf.sigmoid(logits).numpy()
    tf_formula = (1.0 / (1.0 + tf.exp(-tf.constant(logits)))).numpy()
    report.record(
        "sigmoid_demo",
        dict(
            formula_2016=formula.tolist(),
            tf_sigmoid_ulps_apart=(today.view(np.int32) - formula.view(np.int32)).tolist(),
            tf_formula_ulps_apart=(tf_formula.view(np.int32) - formula.view(np.int32)).tolist(),
        ),
    )
    print("sigmoid demo: " + " ".join(f"{v:.8e}" for v in formula))


def picture_mnist_inside(report: Report, model, test_x, test_y, seed: int) -> None:
    """The first seed's LSTM reading three test images row by row, and its gate saturation over 1,000."""
    import keras

    head = model.get_layer("out")
    picture_the_inside(
        report,
        model,
        model.get_layer("basic_lstm_cell"),
        test_x[:3],
        test_y[:3],
        test_x[:1000],
        # upstream's loss: the last row's logits
        lambda y, out: keras.losses.sparse_categorical_crossentropy(y, out[:, -1], from_logits=True),
        answers_of=lambda traced: np.asarray(head(traced["h"])).argmax(axis=-1),
        step_name="row",
        what=f"MNIST, seed {seed}",
        labels=test_y[:3].tolist(),
    )
    write_inside_page(
        report,
        model,
        test_x[:1000],
        what=f"the MNIST LSTM (seed {seed}) reading 1,000 test images row by row",
        labels=test_y[:1000],
        loss=lambda y, out: keras.losses.sparse_categorical_crossentropy(y, out[:, -1], from_logits=True),
        input_kind="image",
    )


@dataclasses.dataclass(frozen=True)
class SeedRun:
    """One seed's training: its trainer (None if it diverged), displayed log, answers of n_steps and figures."""

    trainer: Trainer | None
    log: list
    answers: dict
    figures: dict


def reproduce(
    settings: MnistConfig = MnistConfig(),
    options: RunOptions = RunOptions(),
    *,
    mnist_dir=None,
    tfds_data_dir=None,
) -> Report:
    """Article A's experiment: train every seed, judge, then the first seed's answers of n_steps, the experiments
    the article left "to be continued", the pictures of the inside and the export."""
    data = load_data(settings, mnist_dir, tfds_data_dir)
    report = options.report(NAME, settings, protocol=dict(seeds=(options.seeds, 3)))
    training = dict(
        seed=options.seed,
        seeds=options.seeds,
        **{name: getattr(settings, name) for name in TRAINING_SETTINGS},
    )
    checkpoints = claim_checkpoints(report.run_dir / "checkpoints", training) if settings.checkpoint_every else None
    checkpoint_dir = (lambda name: checkpoints / name) if checkpoints else (lambda name: None)
    steps_total = math.ceil(settings.train_examples / settings.batch_size) - 1
    print(
        f"MNIST: {len(data.x_train)} train / {len(data.x_test)} test images from {mnist_dir or 'TensorFlow Datasets'}; "
        f"{options.seeds} seed(s) x {steps_total} steps of {settings.batch_size}"
    )
    sigmoid_demo(report)
    runs = train_every_seed(report, settings, options, data, checkpoint_dir)
    judge(report, settings, runs)
    decoded = {
        run.figures["seed"]: decoded_minibatches(run.answers, data.x_train, data.y_train, settings, run.figures["seed"])
        for run in runs
        if run.trainer is not None
    }
    judge_answers(report, settings, decoded)
    first = runs[0]  # RunOptions holds at least one seed
    if first.trainer is None:
        print(f"the seed-{options.seed} run diverged: no experiments, pictures or export (they need its model)")
        report.not_run("onnx_examples_differing", f"the seed-{options.seed} run diverged: no model to export")
    else:
        experiments_pictures_export(report, first.trainer, settings, options, data, checkpoint_dir)
    if checkpoints:  # finished: a rerun starts afresh, as Keras' BackupAndRestore does
        shutil.rmtree(checkpoints)
    return report


def load_data(settings: MnistConfig, mnist_dir, tfds_data_dir):
    """The training images beyond the validation ones and the test images, checked before any work: a bad path
    or empty data is exit 2."""
    from tf_lstm.data import Split, load_mnist

    with cli.input_checks():
        train_x, train_y = load_mnist("train", path=mnist_dir, data_dir=tfds_data_dir)
        test_x, test_y = load_mnist("test", path=mnist_dir, data_dir=tfds_data_dir)
        if len(train_x) == 0 or len(test_x) == 0:
            raise ValueError(f"MNIST data is empty: {len(train_x)} train, {len(test_x)} test images.")
        if settings.validation_images >= len(train_x):
            raise ValueError(
                f"--mnist_validation_images={settings.validation_images} leaves none of the {len(train_x)} "
                "training images to train on; lower it."
            )
        train_x, train_y = train_x[settings.validation_images :], train_y[settings.validation_images :]
        if settings.batch_size > len(train_x):
            raise ValueError(
                f"--mnist_batch_size={settings.batch_size} is larger than the {len(train_x)} training images."
            )
    return Split(train_x, train_y, test_x, test_y)


def train_every_seed(report: Report, settings: MnistConfig, options: RunOptions, data, checkpoint_dir) -> list[SeedRun]:
    """Every seed's run, the first decoding the article's answers of n_steps."""
    train_x, train_y, test_x, test_y = data
    runs = []
    for seed in options.seed_values:
        trainer, log, answers, seconds = train(
            train_x,
            train_y,
            settings,
            seed=seed,
            decode=True,
            label=f"[seed {seed}] ",
            strategy=options.strategy,
            checkpoint_dir=checkpoint_dir(f"seed_{seed}"),
            runlog=report.log,
            prefix=f"seed_{seed}",
        )
        if trainer.diverged is not None:
            report.diverged(f"seed {seed}", trainer.diverged)
            failed = dict.fromkeys(("test_accuracy", "test128_accuracy"), float("nan"))
            runs.append(SeedRun(None, log, {}, dict(seed=seed, diverged_at=trainer.diverged.step, **failed)))
            continue
        figures = dict(
            seed=seed,
            seconds=seconds,
            test_accuracy=trainer.accuracy(test_x, test_y),
            test128_accuracy=trainer.accuracy(test_x[:128], test_y[:128]),
            final_minibatch_loss=log[-1][1] if log else float("nan"),
            final_minibatch_accuracy=log[-1][2] if log else float("nan"),
            final_iter=log[-1][0] if log else 0,
            weights_sha256=weights_digest(trainer.model),
        )
        print(
            f"[seed {seed}] Testing Accuracy (first 128): {figures['test128_accuracy']:.6f}, "
            f"(all 10,000): {figures['test_accuracy']:.4f} ({seconds:.0f} s training)"
        )
        runs.append(SeedRun(trainer, log, answers, figures))
    return runs


def judge(report: Report, settings: MnistConfig, runs: list[SeedRun]) -> None:
    """The mean test accuracies against the article's; its log lines beside the first seed's (not judged: they
    follow the random draw)."""
    per_seed = [run.figures for run in runs]
    report.record("per_seed", per_seed)
    mean = lambda key: float(np.mean([r[key] for r in per_seed]))  # noqa: E731
    budget = (
        ""
        if settings.train_examples == MnistConfig().train_examples
        else f", after {settings.train_examples:,} examples"
    )
    seeds = f"mean of {len(runs)} seed{'s' if len(runs) > 1 else ''}{budget}"
    report.check("mean_test_accuracy", mean("test_accuracy"), label=f"test accuracy, 10,000 images, {seeds}")
    report.check("upstream_test128_accuracy", mean("test128_accuracy"))
    report.check("mean_test128_accuracy", mean("test128_accuracy"), label=f"test accuracy, first 128 images, {seeds}")
    logged = {seen: (loss, acc) for seen, loss, acc in runs[0].log}
    for seen in DECODE_AT:
        if seen in logged:
            loss_key, accuracy_key = logged_figures(seen)
            report.check(loss_key, logged[seen][0])
            report.check(accuracy_key, logged[seen][1])


def logged_figures(seen: int) -> tuple[str, str]:
    """The keys of the article's minibatch loss and accuracy at `seen` examples (one of `DECODE_AT`)."""
    if seen == DECODE_AT[-1]:
        return "final_minibatch_loss", "final_minibatch_accuracy"
    return f"minibatch_loss_iter_{seen}", f"minibatch_accuracy_iter_{seen}"


def judge_answers(report: Report, settings: MnistConfig, decoded: dict[int, list[Decoded]]) -> None:
    """The article's remarks on the answers of n_steps, judged over every seed's decoded training minibatches
    (those of Iter 99,840 where a remark is about the trained model); the decoded answers printed, recorded and
    pictured."""
    record_answers(report, settings, decoded)
    final = {seed: batches[-1] for seed, batches in decoded.items() if batches and batches[-1].seen == DECODE_AT[-1]}
    if not final:
        for key in ("nsteps_one_first_guess", "nsteps_guess_differs_across_runs", "nsteps_settles_late",
                    "nsteps_right_at_last_step"):  # fmt: skip
            report.not_run(key, f"training stops before Iter {DECODE_AT[-1]:,}")
        return
    first_guesses = [np.unique(b.answers[:, 0]) for batches in decoded.values() for b in batches]
    report.check("nsteps_one_first_guess", all(len(guesses) == 1 for guesses in first_guesses))
    constants = sorted({int(batch.answers[0, 0]) for batch in final.values()})
    report.record("first_guess_per_seed", {str(seed): int(b.answers[0, 0]) for seed, b in final.items()})
    if len(final) > 1:
        label = (
            f"answers of n_steps: the step-1 constants of {len(final)} fresh runs, {constants}, are not all one digit"
        )
        report.check("nsteps_guess_differs_across_runs", len(constants) > 1, label=label)
    else:
        report.not_run("nsteps_guess_differs_across_runs", "one seed: --seeds=1")
    settled = np.concatenate([batch.settled_at for batch in final.values()])
    report.check("nsteps_settles_late", float(np.median(settled)))
    right = [float(np.mean(batch.answers[:, -1] == batch.labels)) for batch in final.values()]
    report.check("nsteps_right_at_last_step", float(np.mean(right)))


def record_answers(report: Report, settings: MnistConfig, decoded: dict[int, list[Decoded]]) -> None:
    """The first `decode_images` training images of each decoded Iter: printed as the article prints them,
    recorded, and the first seed's pictured."""
    for seed, batches in decoded.items():
        print_answers(batches, settings.decode_images, seed)
    report.record(
        "answers_of_n_steps",
        {
            str(seed): {
                str(b.seen): dict(labels=b.labels[: settings.decode_images].tolist(),
                                  answers=b.answers[: settings.decode_images].tolist())
                for b in batches
            }
            for seed, batches in decoded.items()
        },
    )  # fmt: skip
    first = next(iter(decoded.values()), [])
    if first:
        report.plot(plot_answers(first), "answers_of_n_steps.png")


def experiments_pictures_export(
    report: Report, first: Trainer, settings: MnistConfig, options: RunOptions, data, checkpoint_dir
) -> None:
    """The experiments the article left "to be continued", the pictures of the inside, and the export of `first`."""
    from tf_lstm.data import black_out_rows, rotate90

    train_x, train_y, test_x, test_y = data
    seed, strategy, export_to = options.seed, options.strategy, options.export_to

    experiments = {
        "normal model, normal test images": first.accuracy(test_x, test_y),
        "normal model, test images rotated 90°": first.accuracy(rotate90(test_x), test_y),
        f"normal model, rows {settings.blackout_first}-{settings.blackout_last} blacked out": first.accuracy(
            black_out_rows(test_x, settings.blackout_first, settings.blackout_last), test_y
        ),
    }
    if settings.rotated_training:
        rotated = train(
            rotate90(train_x),
            train_y,
            settings,
            seed=seed,
            label="[rotated] ",
            strategy=strategy,
            checkpoint_dir=checkpoint_dir(f"rotated_seed_{seed}"),
            runlog=report.log,
            prefix=f"rotated_seed_{seed}",
        ).trainer
        if rotated.diverged is not None:
            report.diverged(f"rotated, seed {seed}", rotated.diverged)
        else:
            experiments["rotated-trained model, rotated test images"] = rotated.accuracy(rotate90(test_x), test_y)
            experiments["rotated-trained model, normal test images"] = rotated.accuracy(test_x, test_y)
    print("\nexperiment (no documented figure)          | test accuracy")
    for name, accuracy in experiments.items():
        print(f"{name:<44}| {accuracy:.4f}")
    report.record("experiments", experiments)
    shown = {
        "normal": test_x[0],
        "rotated 90°": rotate90(test_x[:1])[0],
        f"rows {settings.blackout_first}-{settings.blackout_last} blacked out": black_out_rows(
            test_x[:1], settings.blackout_first, settings.blackout_last
        )[0],
    }
    report.plot(plot_experiments(shown, experiments), "experiments.png")

    picture_mnist_inside(report, first.model, test_x, test_y, seed)
    if export_to is None:
        report.not_run("onnx_examples_differing", "--export_dir=none")
        return
    serving = serving_model(first.model)
    exported = report.export(serving, export_to, f"the seed-{seed} model", streaming=True)
    ship_tflite(report, serving, exported, test_x, test_y, calibration=train_x[:200])


def plot_experiments(images: dict[str, np.ndarray], experiments: dict[str, float]):
    """The first test image as each experiment shows it to the model, and every experiment's test accuracy."""
    plt = pyplot()
    figure = plt.figure(figsize=(10, 3.4), layout="constrained")
    grid = figure.add_gridspec(1, len(images) + 2)
    for k, (name, image) in enumerate(images.items()):
        axes = figure.add_subplot(grid[0, k])
        axes.imshow(image, cmap="gray_r")
        axes.set_title(name, fontsize=9)
        axes.axis("off")
    bars = figure.add_subplot(grid[0, len(images) :])
    names = list(experiments)
    bars.barh(np.arange(len(names)), [experiments[n] for n in names], color="tab:blue")
    for k, name in enumerate(names):
        bars.text(experiments[name] + 0.01, k, f"{experiments[name]:.4f}", va="center", fontsize=8)
    bars.set_yticks(np.arange(len(names)), names, fontsize=8)
    bars.invert_yaxis()
    bars.set_xlim(0, 1.15)
    bars.set_xlabel("test accuracy (10,000 images)")
    figure.suptitle("The experiments the article left unfinished")
    return figure


def data_from_flags() -> dict[str, Any]:
    """Where the MNIST files are: ``--mnist_dir`` (or $TF_LSTM_DATA_DIR), else TensorFlow Datasets."""
    return dict(mnist_dir=resolve_mnist_dir(FLAGS.mnist_dir), tfds_data_dir=FLAGS.tfds_data_dir)


if __name__ == "__main__":
    protocol.main(__name__)
