r"""Article B: a linear RNN that learns to count, trained by GD and by RMSProp.

    python -m reproductions.counting_rnn [--counting_optimizer=gd|rmsprop|both]

The article's Theano program, on `tf_lstm.ScanRNN`: 20 binary sequences of 10
steps, ``s_k = x_k·w_x + s_{k−1}·w_rec``, target the count of ones, loss the
*sum* of squared errors, full batch, 2,001 updates. Every 100th epoch prints
the loss computed before that epoch's update, as Theano's function did.

Every figure the article prints is judged to its printed digits (±1 in the
last): the two Theano `scan` examples, the initial weights, all 20 costs of
each optimizer and the final weights. The article ran in float32 (its code
casts to float32, and only float32 gives its 5.7880 at epoch 100: float64
gives 5.7876), so float32 is the default for both optimizers; a float64 run is
one flag away and is judged the same way.

Some printed figures follow rounding rather than the algorithm. RMSProp
passes through a sensitive transient around epoch 200, and from update ~560 on
settles into a 2-cycle whose phase at update 2,001 is a coin flip of rounding.
The run measures this: beside each TensorFlow run, `reference_run` computes
the same algorithm in NumPy, in the run's float type, with the operations in
the order of the gist the article used, from the article's initial weights and
from eight nudges of them by one unit in the last place. A figure that these
runs (which differ from each other only in rounding) spread over more than one
unit of its last printed digit cannot be reproduced to its digits by anything
that does not round exactly as Theano did; it is judged by whether the printed
value lies within their span, and the span is shown beside it. The mean of the
final 2-cycle (the same in either phase) is judged within 1e-3 as well.

The article's remark that larger rates diverge is judged at the rate where
divergence begins: GD at growing multiples of its rate, then bisected between
the last multiple that stays finite and the first that does not.

The runs go side by side in threads; GD is compiled with XLA. RMSProp is not,
since XLA's rounding moves it to the other point of its 2-cycle.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import os
import time
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from absl import flags

from reproductions import config, faults, protocol
from reproductions.config import setting
from reproductions.documented import DOCUMENTED
from reproductions.inside import write_inside_page
from reproductions.options import RunOptions
from reproductions.report import Report, pyplot

FLAGS = flags.FLAGS
NAME = "counting_rnn"
PREFIX = "counting"


@dataclasses.dataclass(frozen=True)
class CountingConfig:
    """The article's protocol; each setting is a flag ``--counting_<setting>``."""

    optimizer: str = setting("both", "Which of the article's runs to reproduce.", choices=["gd", "rmsprop", "both"])
    gd_learning_rate: float = setting(1e-5, "Learning rate of gradient descent (the article's: 1e-5).", lower_bound=0.0)
    rmsprop_learning_rate: float = setting(1e-3, "Learning rate of RMSProp (the article's: 0.001).", lower_bound=0.0)
    epochs: int = setting(2001, "Number of full-batch updates (the article's: 2,001).", lower_bound=1)
    data_seed: int = setting(1, "numpy.random.seed of the data and initial weights (the article's: 1).", lower_bound=0)
    gd_dtype: str = setting(
        "float32",
        "Float type of the GD run (the article's Theano floatX: float32).",
        choices=["float32", "float64"],
    )
    rmsprop_dtype: str = setting(
        "float32",
        "Float type of the RMSProp runs (the article's Theano floatX: float32), or both (each judged).",
        choices=["both", "float32", "float64"],
    )
    nudges: int = setting(
        8,
        "NumPy reference runs from initial weights nudged by one unit in the last place, per judged run, beside "
        "the one from the article's: they measure which printed figures follow rounding.",
        lower_bound=0,
        upper_bound=8,
        protocol=False,
    )

    DIFFERENCES: ClassVar[tuple[tuple[str, str], ...]] = (
        (
            "RMSProp's settings",
            "the article omits its optimizer's code and cites a Theano gist (kastnerkyle/optimizers.py), whose "
            "rmsprop takes the momentum as an argument; momentum 0.5 with the gist's constants (ρ 0.9, floor 1e-4, "
            "rescale 5) is what reproduces the article's costs",
        ),
    )


config.define_flags(CountingConfig, PREFIX)
Config = CountingConfig  # the protocol's name for it (reproductions.protocol)
# The shared flags it reads (reproductions.protocol.SHARED); any other given to it is refused.
USES = frozenset({*protocol.STRATEGY, "tensorboard"})


def train(
    make_optimizer,
    x,
    y,
    w_x: float,
    w_rec: float,
    *,
    epochs: int,
    dtype: str = "float32",
    strategy=None,
    jit_compile: bool = False,
):
    """Trains a fresh ScanRNN from (w_x, w_rec) with `make_optimizer()` in one compiled loop, under `strategy`.

    Returns:
        ``(costs [n], weights [n, 2])``; costs[k] is the loss before update
        k+1, weights[k] the ``(w_x, w_rec)`` after it. n is `epochs`, or less
        when a cost turned NaN or Inf: the run stops at that update (its cost
        is the last one returned), as there is nothing more to learn from it.
    """
    import tensorflow as tf

    import tf_lstm
    from tf_lstm.distribute import distribute_batch, make_train_step

    strategy = strategy or tf.distribute.get_strategy()
    inputs, targets = x[:, :, None].astype(dtype), y.astype(dtype)
    with strategy.scope():
        # The scan driver's while loop: the same figures as tf.scan (the
        # article's theano.scan) bit for bit, every cost of every run, and 18%
        # faster. The RMSProp run's final 2-cycle phase follows rounding: the
        # unrolled graph (method="auto" here) lands on the other point of the
        # cycle (see the module docstring).
        layer = tf_lstm.ScanRNN(1, use_bias=False, dtype=dtype, method="while")
        layer.build(inputs.shape)
        layer.set_weights([np.array([[w_x]], dtype), np.array([[w_rec]], dtype)])
        variables = layer.trainable_variables
        optimizer = make_optimizer()  # in scope: Keras optimizers keep the strategy they are made in
        optimizer.build(variables)

    def squared_errors(xs, ys):
        return tf.square(ys - layer(xs)[:, 0])

    step = make_train_step(strategy, squared_errors, variables, optimizer, "sum")  # the article's summed cost

    @tf.function(jit_compile=jit_compile)
    def run(n, *batch):
        costs = tf.TensorArray(dtype, size=n)
        weights = tf.TensorArray(dtype, size=n)
        done = tf.constant(0)
        for epoch in tf.range(n):
            cost = step(*batch)
            costs = costs.write(epoch, cost)
            weights = weights.write(epoch, tf.stack([tf.reshape(v, []) for v in variables]))
            done = epoch + 1
            if not tf.math.is_finite(cost):
                break
        return costs.stack(), weights.stack(), done

    costs, weights, done = run(tf.constant(epochs), *distribute_batch(strategy, inputs, targets))
    return costs.numpy()[: int(done)], weights.numpy()[: int(done)]


def final_cycle_mean(weights) -> tuple[float, float]:
    """The mean ``(w_x, w_rec)`` of the last two updates: the centre of a final 2-cycle, whichever its phase."""

    if len(weights) < 2:
        raise ValueError(f"a 2-cycle needs at least 2 updates, got {len(weights)}.")
    mean = np.mean(np.asarray(weights, dtype=np.float64)[-2:], axis=0)
    return float(mean[0]), float(mean[1])


def print_log(title: str, costs, w_init, w_final) -> None:
    print(f"\n{title}")
    print(f"Initial weights: wx = {w_init[0]:8.4f}, wRec = {w_init[1]:8.4f}")
    for epoch in range(100, len(costs) + 1, 100):
        print(f"epoch[{epoch:5d}] : cost ={costs[epoch - 1]:8.4f}")
    print(f"Final weights : wx = {w_final[0]:8.4f}, wRec = {w_final[1]:8.4f}")


def plot_state_trajectories(x, initial, trained: dict[str, tuple[float, float]]):
    """The state s_t of the RNN with its initial and each run's final weights, against the running count.

    The trained RNN counts when s_t follows the count of ones read so far:
    with ``w_x = w_rec = 1``, ``s_t`` is that count. The states come from
    `tf_lstm.trace` of a `ScanRNN` holding each run's weights.
    """
    from matplotlib.figure import Figure

    import tf_lstm

    layer = tf_lstm.ScanRNN(1, return_sequences=True)
    layer.build((None, x.shape[1], 1))
    figure = Figure(figsize=(4.2 * len(x), 3.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(x), sharey=True))
    steps = np.arange(1, x.shape[1] + 1)
    for weights_name, (w_x, w_rec) in {"initial weights": initial, **trained}.items():
        layer.set_weights([np.full((1, 1), w_x, np.float32), np.full((1, 1), w_rec, np.float32)])
        states = np.asarray(tf_lstm.trace(layer, x[:, :, None])["s"])[:, :, 0]
        for ax, s in zip(axes, states):
            ax.plot(steps, s, marker=".", label=weights_name)
    for k, (ax, sequence) in enumerate(zip(axes, x)):
        ax.step(steps, np.cumsum(sequence), where="post", color="black", linewidth=1.5, label="running count")
        ax.set_title(f"sequence {k}: {''.join(str(int(v)) for v in sequence)}", fontsize=9)
        ax.set_xlabel("step k")
    axes[0].set_ylabel("state s_k")
    axes[-1].legend(fontsize=7)
    figure.suptitle("Counting RNN: the state after each step, against the count of ones so far")
    return figure


def write_counting_page(report: Report, x, name: str, weights: tuple[float, float]) -> None:
    """inside.html of the RNN holding `name`'s final weights, reading every sequence: its state s_t under each step's
    input and the running count of ones (s_t follows it when the RNN counts)."""
    import keras

    import tf_lstm

    layer = tf_lstm.ScanRNN(1, return_sequences=True, name="counting_rnn")
    model = keras.Sequential([keras.Input((x.shape[1], 1)), layer], name="counting")
    layer.set_weights([np.full((1, 1), w, np.float32) for w in weights])
    write_inside_page(
        report, model, x[:, :, None].astype(np.float32), what=f"the counting RNN ({name})", input_kind="count"
    )


# The nudges of the initial (w_x, w_rec), in units in the last place of the run's float type.
NUDGES = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1))


@dataclasses.dataclass(frozen=True)
class Trained:
    """A run's costs (before each update) and weights (after it), ``[updates]`` and ``[updates, 2]``."""

    costs: np.ndarray
    weights: np.ndarray
    seconds: float

    @property
    def diverged(self) -> faults.Diverged | None:
        """Where the cost turned NaN or Inf (`train` stops there, that cost last), or None."""
        return None if np.isfinite(self.costs[-1]) else faults.Diverged(len(self.costs), float(self.costs[-1]))


@dataclasses.dataclass(frozen=True)
class Run:
    """One training run: its figures' key in `DOCUMENTED` (``"gd"``, ``"rmsprop"``), the optimizer's title and
    factory, its learning rate and dtype."""

    key: str
    title: str
    make_optimizer: Callable[[], Any]
    learning_rate: float
    dtype: str

    @property
    def name(self) -> str:
        return f"{self.title} ({self.dtype})"


def reference_run(run: Run, x, y, initial, epochs: int, nudge: tuple[int, int] = (0, 0)) -> Trained:
    """`run`'s algorithm in NumPy, in its float type, each operation in the order the article's code and its
    RMSProp gist write it, from the initial weights moved by `nudge` units in the last place.

    Its rounding differs from TensorFlow's, and nothing else: the two agree wherever a figure follows the
    algorithm and part where it follows rounding.
    """
    start = time.perf_counter()
    f = np.dtype(run.dtype).type
    xs, ys = np.asarray(x, f).T, np.asarray(y, f)
    w = np.array([f(w0) + n * np.spacing(f(w0)) for w0, n in zip(initial, nudge)], f)
    square, average, memory = (np.zeros(2, f) for _ in range(3))
    lr, mu, rho = f(run.learning_rate), f(0.5), f(0.9)
    costs, weights = np.empty(epochs, f), np.empty((epochs, 2), f)
    with np.errstate(all="ignore"):
        for epoch in range(epochs):
            states = [np.zeros_like(ys)]
            for x_t in xs:  # theano.scan: s_t = x_t·w_x + s_{t-1}·w_rec
                states.append(x_t * w[0] + states[-1] * w[1])
            error = ys - states[-1]
            costs[epoch] = np.sum(error**2)
            grad, back = np.zeros(2, f), f(-2) * error
            for t in range(len(xs), 0, -1):  # backpropagation through the scan
                grad += np.array([np.sum(back * xs[t - 1]), np.sum(back * states[t - 1])], f)
                back = back * w[1]
            if run.key == "gd":
                w = w - lr * grad
            else:  # the gist: rescale, centred RMS, Nesterov momentum
                grad = grad * (f(5) / np.maximum(f(5), np.sqrt(np.sqrt(np.sum(grad**2)))))
                square = rho * square + (f(1) - rho) * grad**2
                average = rho * average + (f(1) - rho) * grad
                rms = np.maximum(np.sqrt(square - average**2), f(1e-4))
                step = mu * memory - lr * grad / rms
                w = w + (mu * mu * memory - (f(1) + mu) * lr * grad / rms)
                memory = step
            weights[epoch] = w
            if not np.isfinite(costs[epoch]):
                return Trained(costs[: epoch + 1], weights[: epoch + 1], time.perf_counter() - start)
    return Trained(costs, weights, time.perf_counter() - start)


def theano_scan_examples(report: Report) -> None:
    """The article's two `theano.scan` examples, on `tf.scan`: the loop every RNN here is written with."""
    import tensorflow as tf

    doubled = tf.scan(lambda prior, _: prior * 2, tf.range(3), initializer=tf.constant(5, tf.int32))
    sequence = tf.scan(
        lambda prior, seq: seq + prior * 2,
        tf.constant([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
        initializer=tf.constant([0.5, 0.5]),
    )
    print(f"myfun1(5, 3) = {doubled.numpy()}; myfun2 = {sequence.numpy().tolist()}")
    report.check("scan_doubling", doubled.numpy().tolist())
    report.check("scan_sequence", sequence.numpy().tolist())


def reproduce(settings: CountingConfig = CountingConfig(), options: RunOptions = RunOptions()) -> Report:
    """Article B's experiment: the scan examples, every run from the article's initial weights (and its NumPy
    reference runs), the divergence onset, judged and pictured."""
    import tensorflow as tf

    from tf_lstm.data import counting_data

    tf.get_logger().setLevel("ERROR")  # one tf.function per run: retracing is expected
    report_start = time.perf_counter()
    report = options.report(NAME, settings)
    theano_scan_examples(report)
    x, y, w_x, w_rec = counting_data(seed=settings.data_seed)
    report.check("example_sequence", x[0].tolist())
    report.check("example_target", float(y[0]))
    print(f"Initial weights: wx = {w_x:8.4f}, wRec = {w_rec:8.4f}")
    report.check("initial_wx", w_x)
    report.check("initial_wrec", w_rec)
    runs = plan_runs(report, settings)
    results = train_runs(runs, x, y, (w_x, w_rec), settings, options)
    figure, axes = pyplot().subplots(figsize=(7, 4.5))
    trained = {}  # run name -> final (w_x, w_rec), for the state trajectories
    for run, result in zip(runs, results):
        start = time.perf_counter()
        references = [
            reference_run(run, x, y, (w_x, w_rec), settings.epochs, nudge)
            for nudge in ((0, 0),) + NUDGES[: settings.nudges]
        ]
        print(f"{len(references)} NumPy reference runs of {run.name} in {time.perf_counter() - start:.1f} s")
        if (final := judge_run(report, settings, run, result, references, (w_x, w_rec))) is not None:
            trained[run.name] = final
            plot_costs(axes, run, result.costs)
    if settings.optimizer in ("gd", "both"):
        judge_divergence_onset(report, settings, x, y, (w_x, w_rec), options)
    axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel("cost (sum of squared errors)")
    axes.set_title("Counting RNN: loss curves (x = the article's printed costs)")
    axes.legend()
    report.plot(figure, "loss_curves.png")
    report.plot(plot_state_trajectories(x[:3], (w_x, w_rec), trained), "state_trajectories.png")
    if trained:
        write_counting_page(report, x, *next(iter(trained.items())))
    report.record("seconds", time.perf_counter() - report_start)
    return report


def plan_runs(report: Report, settings: CountingConfig) -> list[Run]:
    """The runs `settings` ask for; the left-out optimizer's figures are marked not run."""
    import keras

    from tf_lstm.optimizers import ArticleRMSProp

    runs: list[Run] = []
    if settings.optimizer in ("gd", "both"):
        make_gd = functools.partial(keras.optimizers.SGD, settings.gd_learning_rate)
        runs.append(Run("gd", "GradientDescent", make_gd, settings.gd_learning_rate, settings.gd_dtype))
    if settings.optimizer in ("rmsprop", "both"):
        make_rmsprop = functools.partial(ArticleRMSProp, settings.rmsprop_learning_rate)
        for dtype in ("float32", "float64") if settings.rmsprop_dtype == "both" else (settings.rmsprop_dtype,):
            runs.append(Run("rmsprop", "RMSProp", make_rmsprop, settings.rmsprop_learning_rate, dtype))
    if settings.optimizer != "both":  # the other optimizer's figures are left out
        left_out = ("rmsprop_",) if settings.optimizer == "gd" else ("gd_",)
        for key in DOCUMENTED[NAME]:
            if key.startswith(left_out):
                report.not_run(key, f"--counting_optimizer={settings.optimizer}")
    return runs


def train_runs(runs: list[Run], x, y, initial, settings: CountingConfig, options: RunOptions) -> list[Trained]:
    """Every run's costs and weights. The runs are independent and each keeps about one core busy, so on one
    device they run side by side in threads (the same figures as one after another)."""

    def timed_train(run: Run) -> Trained:
        start = time.perf_counter()
        jit = run.key != "rmsprop"  # XLA's rounding would move RMSProp to the other point of its 2-cycle
        with np.errstate(all="ignore"):
            costs, weights = train(
                run.make_optimizer, x, y, *initial,
                epochs=settings.epochs, dtype=run.dtype, strategy=options.strategy, jit_compile=jit,
            )  # fmt: skip
        return Trained(costs, weights, time.perf_counter() - start)

    start = time.perf_counter()
    if options.replicas == 1:
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            results = list(pool.map(timed_train, runs))
    else:  # one run at a time: the replicas' collectives must not interleave
        results = [timed_train(run) for run in runs]
    print(f"{len(runs)} training runs of {settings.epochs} updates in {time.perf_counter() - start:.1f} s")
    return results


def span(values) -> tuple[float, float] | None:
    """``(lowest, highest)`` of a figure over the run and its reference runs; None without references."""
    values = [float(v) for v in values]
    return (min(values), max(values)) if len(values) > 1 else None


def judge_run(report: Report, settings: CountingConfig, run: Run, result: Trained, references: list[Trained], initial):
    """Logs a judged run and checks every printed cost, the final weights and (RMSProp) the 2-cycle against the
    article's, each beside its span over this run and the NumPy reference runs (`references`); returns its final
    ``(w_x, w_rec)``, or None if it diverged."""
    costs, weights = result.costs, result.weights
    if result.diverged is not None:
        report.diverged(f"{run.title} ({run.dtype}, learning rate {run.learning_rate:g})", result.diverged)
        return None
    references = [t for t in references if t.diverged is None]
    final = (float(weights[-1][0]), float(weights[-1][1]))
    for epoch in range(0, len(costs), 10):  # every 10th update: the curves, at a tenth of the cost
        report.log.scalars(
            epoch + 1,
            f"{run.key}_{run.dtype}",
            cost=costs[epoch],
            w_x=weights[epoch, 0],
            w_rec=weights[epoch, 1],
            learning_rate=run.learning_rate,
        )
    title = f"{run.title}, learning rate {run.learning_rate:g}, {run.dtype} ({result.seconds:.1f} s)"
    print_log(title, costs, initial, final)
    recorded: dict[str, Any] = dict(
        costs_every_100=[float(c) for c in costs[99::100]],
        final_wx=final[0],
        final_wrec=final[1],
        seconds=result.seconds,
    )
    for name, epoch, figure in printed_costs(run.key):
        if epoch <= len(costs):
            envelope = span([costs[epoch - 1]] + [t.costs[epoch - 1] for t in references])
            report.check(name, costs[epoch - 1], label=f"{figure.label} ({run.dtype})", envelope=envelope)
        else:
            report.not_run(name, f"--counting_epochs={settings.epochs}")
    final_label = "" if settings.epochs == CountingConfig.epochs else f", after update {settings.epochs:,}"
    if run.key == "rmsprop":
        recorded.update(judge_cycle(report, run, costs, weights, final_label))
    for k, (key, name) in enumerate(((f"{run.key}_final_wx", "wx"), (f"{run.key}_final_wrec", "wRec"))):
        envelope = span([final[k]] + [t.weights[-1][k] for t in references])
        report.check(key, final[k], label=f"{run.title} final {name}{final_label} ({run.dtype})", envelope=envelope)
    report.record(f"{run.key}_{run.dtype}", recorded)
    return final


def judge_cycle(report: Report, run: Run, costs, weights, final_label: str) -> dict[str, Any]:
    """RMSProp's late costs and the centre of its final 2-cycle against the article's; the cycle's figures."""
    if len(costs) >= 500:
        report.check(
            "rmsprop_max_cost_from_500",
            float(np.max(costs[499:2000])),
            label=f"RMSProp max cost, epochs 500-{min(len(costs), 2000)} ({run.dtype})",
        )
    else:
        report.not_run("rmsprop_max_cost_from_500", f"--counting_epochs={len(costs)}")
    mean_wx, mean_wrec = final_cycle_mean(weights)
    print(
        f"final 2-cycle: {np.array2string(weights[-2:], precision=5)}, mean wx = {mean_wx:.5f}, wRec = {mean_wrec:.5f}"
    )
    centre = f"mean of the final 2-cycle{final_label} ({run.dtype})"
    report.check("rmsprop_cycle_mean_wx", mean_wx, label=f"RMSProp wx, {centre}")
    report.check("rmsprop_cycle_mean_wrec", mean_wrec, label=f"RMSProp wRec, {centre}")
    return dict(cycle_points=weights[-2:].tolist(), cycle_mean=[mean_wx, mean_wrec])


def printed_costs(key: str):
    """``(name, epoch, figure)`` of each cost the article printed for the runs of `key` (``"gd"``, ``"rmsprop"``)."""
    prefix = f"{key}_cost_epoch_"
    return [
        (name, int(name[len(prefix) :]), figure) for name, figure in DOCUMENTED[NAME].items() if name.startswith(prefix)
    ]


def plot_costs(axes, run: Run, costs) -> None:
    """A run's cost curve, with the article's printed costs as crosses."""
    for _, epoch, figure in printed_costs(run.key):
        if epoch <= len(costs):
            axes.plot(epoch, float(str(figure.documented)), "kx", markersize=7)
    axes.plot(np.arange(1, len(costs) + 1), costs, label=f"{run.title} {run.dtype} (lr {run.learning_rate:g})")


def judge_divergence_onset(report: Report, settings: CountingConfig, x, y, initial, options: RunOptions) -> None:
    """The article's remark that larger rates diverge, judged where divergence begins.

    GD runs at 2, 5, 10, 20, 50 and 100 times the rate until one turns to Inf or NaN; then six bisections
    between the last multiple that stayed finite and that one. Judged: some rate above the article's diverges
    (the article's own rate is the GD run judged above). The report names the onset and every rate tried.
    """
    import keras

    def outcome(multiple: float) -> dict[str, Any]:
        rate = multiple * settings.gd_learning_rate
        with np.errstate(all="ignore"):
            costs, _ = train(
                functools.partial(keras.optimizers.SGD, rate), x, y, *initial,
                epochs=settings.epochs, dtype=settings.gd_dtype, strategy=options.strategy, jit_compile=True,
            )  # fmt: skip
        finite = costs[np.isfinite(costs)]
        return dict(
            multiple=multiple,
            learning_rate=rate,
            diverged_at=len(costs) if len(finite) < len(costs) else None,
            lowest_cost=float(np.min(finite)) if len(finite) else float("nan"),
            final_cost=float(costs[-1]),
        )

    tried = []
    for multiple in (2.0, 5.0, 10.0, 20.0, 50.0, 100.0):
        tried.append(outcome(multiple))
        if tried[-1]["diverged_at"] is not None:
            break
    finite = [t["multiple"] for t in tried if t["diverged_at"] is None]
    low, high = (finite[-1] if finite else 1.0), tried[-1]["multiple"]
    if tried[-1]["diverged_at"] is not None:
        for _ in range(6):
            middle = outcome((low + high) / 2)
            tried.append(middle)
            low, high = (low, middle["multiple"]) if middle["diverged_at"] is not None else (middle["multiple"], high)
    onset = next((t for t in tried if t["multiple"] == high and t["diverged_at"] is not None), None)
    for t in sorted(tried, key=lambda t: t["multiple"]):
        ending = f"Inf/NaN at update {t['diverged_at']}" if t["diverged_at"] else f"final cost {t['final_cost']:.4g}"
        print(f"GradientDescent at {t['multiple']:g}x the learning rate ({t['learning_rate']:.3g}): {ending}")
    report.record("gd_divergence", dict(onset=onset, stays_finite_below=low, tried=tried))
    reached = f"diverges from {high:g}x (lr {high * settings.gd_learning_rate:.3g}), finite at {low:g}x"
    report.check("gd_large_lr_diverges", onset is not None, label=f"GD {reached if onset else 'never diverges'}")


if __name__ == "__main__":
    protocol.main(__name__)
