r"""Training-step and inference speed of ScanLSTM against keras.layers.LSTM (and torch.nn.LSTM).

    python -m benchmarks.lstm_speed [--quick] [--memory]

In one process, every contender in every mode runs once per repeat after a
warm-up, in an order shuffled afresh every repeat (seeded), so that drifts of
a shared machine fall on all of them alike and no contender always follows
the same one (with a fixed order, rotated, two contenders that build the very
same graph measured 28.4 and 22.2 ms: each inherits its neighbour's
leftovers); a repeat's sample of a
contender is the fastest of `--calls` calls in a row, which filters the
bursts in which the host takes the shared cores away (CPU steal of 10-25%
was seen on this machine) and leaves the contender's own time. Each row gives
min / median / max of the repeats in milliseconds. Each peer is taken in its best mode:
keras.layers.LSTM with and without `jit_compile`, with and without
`unroll=True` (where the sequence is short enough to unroll, see
`UNROLL_MAX_STEPS`), and torch.nn.LSTM's fused CPU kernel. ScanLSTM `auto`'s
best mode is compared with Keras' best and with the best peer (the fastest
of Keras and torch); each ratio of medians comes with its 95% bootstrap
confidence interval (repeats resampled in pairs: the two contenders of a
repeat ran back to back), and an interval that spans 1.0 is reported as "on
par", not as a win or a loss (`compare`). Shared, noisy machines make
absolute times unreliable; the ratios are what to read. Also printed: the
FLOP count of a step and the fraction of this machine's measured matmul peak
each contender reaches. `--memory` adds the peak memory of a training step
(TensorFlow's allocator and the resident set, see `peak_memory_mb`), each
contender in fresh subprocesses. On the deployment rows (batch 1 and 1,024,
`TFLITE_CASES`), the same model exported is timed as a loaded SavedModel and as
float and int8 TFLite files in TFLite's runtime, as ratios to the SavedModel.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging as pylogging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from absl import app, flags, logging

FLAGS = flags.FLAGS
flags.DEFINE_bool("quick", False, "Only the MNIST and digits shapes, fewer repeats.")
flags.DEFINE_integer("repeats", 7, "Timed repeats per contender (median reported).", lower_bound=3)
flags.DEFINE_integer(
    "calls", 3, "Calls in a row per repeat and contender; the fastest is the repeat's sample.", lower_bound=1
)
flags.DEFINE_bool("memory", False, "Also measure peak memory of a training step (one subprocess per contender).")
flags.DEFINE_bool("timing", True, "Time the contenders (--notiming with --memory measures memory only).")
flags.DEFINE_bool("torch", True, "Include torch.nn.LSTM when torch is installed.")
flags.DEFINE_bool("onnx", True, "Include the model exported to ONNX, served by onnxruntime, on the inference rows.")
flags.DEFINE_bool("tflite", True, "Time TFLite exports (float, int8) against the SavedModel on the inference rows.")
flags.DEFINE_string("json_out", "benchmarks/results/lstm_speed.json", "Where to write the results as JSON.")
flags.DEFINE_list("cases", [], "Run only these cases (default: all; --quick: mnist, digits, batch1).")
flags.DEFINE_list(
    "scan_methods",
    ["scan-auto", "scan", "scan-while", "scan-manual_backward", "layernorm"],
    "ScanLSTM contenders: scan (tf.scan), scan-auto (the default), scan-while, scan-unroll, scan-manual_backward; "
    "layernorm is the layer-normalised variant (layer_norm=True, method auto), to know its cost.",
)


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    batch: int
    steps: int
    features: int
    units: int
    masked: bool = False

    def flops(self, train: bool) -> float:
        """Matmul FLOPs of one forward (×3 for a training step: forward + two backward matmuls)."""
        forward = 2 * self.batch * self.steps * (self.features + self.units) * 4 * self.units
        forward += 2 * self.batch * self.units * 10  # the Dense(10) head
        return forward * (3 if train else 1)


CASES = [
    Case("mnist", 128, 28, 28, 128),
    Case("digits", 100, 8, 8, 50),
    Case("imdb", 32, 200, 128, 128, masked=True),
    Case("long", 16, 1000, 32, 128),
    Case("batch1", 1, 28, 28, 128),
    Case("infer1024", 1024, 28, 28, 128),
]
# keras.layers.LSTM(unroll=True) is tried up to this length; Keras documents unrolling as "only suitable
# for short sequences". Measured at 200 steps (the IMDB-like case): 25 s to build and 204 ms a training
# step without XLA (twice its loop's), and with XLA no first step within 200 s, the process past 21 GB.
UNROLL_MAX_STEPS = 100
TRAIN_CASES = {"mnist", "digits", "imdb", "long"}
INFER_CASES = {"mnist", "imdb", "long", "batch1", "infer1024"}
TFLITE_CASES = {"batch1", "infer1024"}  # where a deployed model serves: one sequence, or a large batch
flags.register_validator(
    "cases",
    lambda names: set(names) <= {case.name for case in CASES},
    message=f"--cases takes names among {', '.join(case.name for case in CASES)}",
)


def make_inputs(case: Case, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(case.batch, case.steps, case.features)).astype(np.float32)
    y = rng.integers(0, 10, size=(case.batch,)).astype(np.int64)
    mask = None
    if case.masked:
        lengths = rng.integers(case.steps // 4, case.steps + 1, size=case.batch)
        mask = np.arange(case.steps)[None, :] < lengths[:, None]
    return x, y, mask


def build_tf_contender(kind: str, case: Case, jit: bool):
    """A compiled training step and inference function for a TF contender.

    `kind` is ``"keras"``, ``"keras-unroll"``, ``"scan"``/``"scan-<method>"`` (a ScanLSTM method), or
    ``"layernorm"`` (ScanLSTM's layer-normalised variant, method auto).
    """
    import keras
    import tensorflow as tf

    import tf_lstm

    keras.utils.set_random_seed(0)
    if kind.startswith("keras"):
        lstm = keras.layers.LSTM(case.units, unroll=kind == "keras-unroll")
    elif kind == "layernorm":
        lstm = tf_lstm.ScanLSTM(case.units, layer_norm=True)
    else:
        method = kind.split("-", 1)[1] if "-" in kind else "scan"
        lstm = tf_lstm.ScanLSTM(case.units, method=method)
    head = keras.layers.Dense(10)
    x, y, mask = make_inputs(case)
    x, y = tf.constant(x), tf.constant(y)
    mask = None if mask is None else tf.constant(mask)
    # Built from shapes, not by an eager call: the memory measured is the training step's alone.
    lstm.build(x.shape)
    head.build((None, case.units))
    variables = lstm.trainable_variables + head.trainable_variables
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(variables)

    @tf.function(jit_compile=jit)
    def train_step(x, y, mask):
        with tf.GradientTape() as tape:
            logits = head(lstm(x, mask=mask, training=True))
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    @tf.function(jit_compile=jit)
    def infer(x, mask):
        return head(lstm(x, mask=mask, training=False))

    return (lambda: train_step(x, y, mask).numpy()), (lambda: infer(x, mask).numpy())


def build_torch_contender(case: Case, threads: int | None = None):
    """torch.nn.LSTM + Linear(10); `threads` (default: the machine's cores, or `OMP_NUM_THREADS`) is set at the start
    of every call, since torch's thread count is one setting for the whole process."""
    import torch

    threads = threads or default_threads()
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(case.features, case.units, batch_first=True)
    head = torch.nn.Linear(case.units, 10)
    params = list(lstm.parameters()) + list(head.parameters())
    optimizer = torch.optim.Adam(params, 1e-3)
    x, y, mask = make_inputs(case)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    if mask is not None:
        lengths = torch.from_numpy(mask.sum(axis=1))
        xt = torch.nn.utils.rnn.pack_padded_sequence(  # type: ignore[assignment]  # the LSTM takes either
            xt, lengths, batch_first=True, enforce_sorted=False
        )

    def forward():
        torch.set_num_threads(threads)
        _, (h, _) = lstm(xt)
        return head(h[-1])

    def train_step():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(forward(), yt)
        loss.backward()
        optimizer.step()
        return loss.detach().item()

    def infer():
        with torch.no_grad():
            return forward().numpy()

    return train_step, infer


def default_threads() -> int:
    """The thread count every runtime gets: `OMP_NUM_THREADS`, or the machine's cores."""
    return int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1))


# How onnxruntime serves on the inference rows. Spinning threads off: left on, they spin on the cores the contender
# timed next needs, and onnxruntime looks several times faster than it is. Graph optimization stays at its default
# (all): basic measured the same on every inference shape. One thread wins at batch 1, where a second thread's
# hand-over costs more than the work it takes; every core wins from batch 128. Dynamic quantization (int8 weights,
# the `model_dynamic.onnx` the reproductions ship and judge on accuracy) is a row of its own, not in the verdict:
# random weights say nothing of its accuracy.
@dataclasses.dataclass(frozen=True)
class OnnxMode:
    threads: int | None  # None: `default_threads()`
    quantized: bool


ONNX_MODES = {
    "onnxruntime": OnnxMode(threads=None, quantized=False),
    "onnxruntime-1thread": OnnxMode(threads=1, quantized=False),
    "onnxruntime-int8": OnnxMode(threads=None, quantized=True),
}
ONNX_SESSION = {"graph_optimization_level": "ORT_ENABLE_ALL", "session.intra_op.allow_spinning": "0"}


def build_onnx_contenders(case: Case, directory: Path) -> dict[str, Callable[[], Any]]:
    """The same ScanLSTM + Dense(10), exported by `tf_lstm.export_onnx` (one fused LSTM node; a masked case feeds
    its right-padded mask) and served by onnxruntime in each of `ONNX_MODES`."""
    import keras
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    import tf_lstm

    keras.utils.set_random_seed(0)
    inputs = [keras.Input((case.steps, case.features), name="x")]
    if case.masked:
        inputs.append(keras.Input((case.steps,), dtype="bool", name="mask"))
    hidden = tf_lstm.ScanLSTM(case.units)(inputs[0], mask=inputs[1] if case.masked else None)
    model = keras.Model(inputs, keras.layers.Dense(10)(hidden))
    path = tf_lstm.export_onnx(model, directory / f"{case.name}.onnx")
    quantized = directory / f"{case.name}_int8.onnx"
    root = pylogging.getLogger()
    level = root.level
    root.setLevel(pylogging.ERROR)  # its advice to pre-process the model, printed on every call
    try:
        quantize_dynamic(path, quantized, weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    x, _, mask = make_inputs(case)
    feeds = {"x": x, **({"mask": mask} if case.masked else {})}
    functions: dict[str, Callable[[], Any]] = {}
    for name, mode in ONNX_MODES.items():
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = mode.threads or default_threads()
        options.graph_optimization_level = getattr(
            onnxruntime.GraphOptimizationLevel, ONNX_SESSION["graph_optimization_level"]
        )
        options.add_session_config_entry(
            "session.intra_op.allow_spinning", ONNX_SESSION["session.intra_op.allow_spinning"]
        )
        file = quantized if mode.quantized else path
        session = onnxruntime.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])
        functions[name] = functools.partial(session.run, None, feeds)
    return functions


def measure_matmul_peak() -> float:
    """GFLOP/s of a large float32 matmul on this machine, in this process."""
    import tensorflow as tf

    a = tf.random.normal([2048, 2048])
    matmul = tf.function(lambda a: tf.matmul(a, a))
    matmul(a).numpy()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        matmul(a).numpy()
        times.append(time.perf_counter() - start)
    return 2 * 2048**3 / min(times) / 1e9


def build_export_contenders(case: Case, directory: Path) -> dict[str, Callable[[], Any]]:
    """The same ScanLSTM + Dense(10) as a SavedModel (loaded back) and as float and int8 TFLite files."""
    import keras
    import tensorflow as tf

    import tf_lstm

    keras.utils.set_random_seed(0)
    inputs = keras.Input((case.steps, case.features))
    model = keras.Model(inputs, keras.layers.Dense(10)(tf_lstm.ScanLSTM(case.units)(inputs)))
    x, _, _ = make_inputs(case)
    calibration, _, _ = make_inputs(Case("calibration", 200, case.steps, case.features, case.units), seed=1)
    serve = tf.saved_model.load(str(tf_lstm.export_saved_model(model, directory / "saved"))).signatures[
        "serving_default"
    ]
    constant = tf.constant(x)
    functions: dict[str, Callable[[], Any]] = {"savedmodel": lambda: next(iter(serve(constant).values())).numpy()}
    for name, quantize in (("tflite-float", None), ("tflite-int8", "int8")):
        path = tf_lstm.export_tflite(
            model,
            directory / f"{name}.tflite",
            quantize=quantize,
            representative_data=calibration if quantize else None,
        )
        runner = tf_lstm.TFLiteModel(path, num_threads=os.cpu_count())
        functions[name] = functools.partial(runner, x)
    return functions


def time_alternating(
    functions: dict[str, Callable[[], Any]], repeats: int, warmup: int = 2, calls: int = 1
) -> dict[str, list[float]]:
    """Milliseconds of each contender, `repeats` samples each, every sample the fastest of `calls` calls in a row;
    every repeat runs the contenders in an order of its own, a seeded shuffle."""
    for fn in functions.values():
        for _ in range(warmup):
            fn()
    names = list(functions)
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for repeat in range(repeats):
        order = list(names)
        random.Random(repeat).shuffle(order)
        for name in order:
            times = []
            for _ in range(calls):
                start = time.perf_counter()
                functions[name]()
                times.append(1000 * (time.perf_counter() - start))
            samples[name].append(min(times))
    return samples


def best_mode(samples: dict[str, list[float]], prefix: str) -> str | None:
    """The contender whose name starts with `prefix` with the lowest median."""
    modes = [name for name in samples if name.startswith(prefix)]
    return min(modes, key=lambda name: statistics.median(samples[name])) if modes else None


BOOTSTRAP_RESAMPLES = 2000


def compare(samples: dict[str, list[float]], ours: str, peer: str) -> dict:
    """The ratio of medians ours / peer, its 95% bootstrap confidence interval, and the verdict from that interval:
    "faster" below 1, "slower" above, "on par" across it.

    The repeats are resampled in pairs (the two contenders of a repeat ran back to back), the median ratio taken
    of each resample. One burst of the host in one repeat moves a few resamples, not the interval, where the range
    of per-repeat ratios (also returned) reaches wherever that one repeat went.
    """
    a, b = np.asarray(samples[ours], float), np.asarray(samples[peer], float)
    ratio = float(np.median(a) / np.median(b))
    picks = np.random.default_rng(0).integers(0, len(a), size=(BOOTSTRAP_RESAMPLES, len(a)))
    resampled = np.median(a[picks], axis=1) / np.median(b[picks], axis=1)
    low, high = (float(q) for q in np.percentile(resampled, [2.5, 97.5]))
    verdict = "faster" if high < 1.0 else "slower" if low > 1.0 else "on par"
    ratios = a / b
    return dict(
        ours=ours,
        peer=peer,
        ratio=ratio,
        ci_low=low,
        ci_high=high,
        ratio_min=float(ratios.min()),
        ratio_max=float(ratios.max()),
        verdict=verdict,
    )


def peak_memory_mb(kind: str, case: Case) -> dict[str, float | None]:
    """Peak memory of a training step, each measure in a fresh process.

    - ``tensor_mb``: the peak of TensorFlow's own allocator over one training
      step, after a first one has traced it (TF contenders only; their
      processes run with ``TF_CPU_ALLOCATOR_USE_BFC=true`` so that the CPU
      allocator keeps statistics). This is what the step's tensors need.
    - ``rss_mb``: the growth of the resident set over the first two steps,
      tracing and graph building included (the default allocator; Linux's
      high-water mark is reset once the model is built, by writing 5 to
      /proc/self/clear_refs, so the imports and the weights do not count).
    """
    build = (
        f"train, _ = build_torch_contender(case) if {kind!r} == 'torch' "
        f"else build_tf_contender({kind!r}, case, False)\n"
    )
    prelude = (
        "import json, re\n"
        "from benchmarks.lstm_speed import build_tf_contender, build_torch_contender, CASES\n"
        "import tensorflow as tf\n"
        + ("import torch\n" if kind == "torch" else "")
        + f"case = [c for c in CASES if c.name == {case.name!r}][0]\n"
        + build
    )
    rss = (
        "def status(key):\n"
        "    return int(re.search(key + r':\\s+(\\d+)', open('/proc/self/status').read()).group(1)) / 1024\n"
        "open('/proc/self/clear_refs', 'w').write('5')\n"
        "base = status('VmRSS')\n"
        "train(); train()\n"
        "print(json.dumps(status('VmHWM') - base))\n"
    )
    tensor = (
        "train()\n"
        "tf.config.experimental.reset_memory_stats('CPU:0')\n"
        "base = tf.config.experimental.get_memory_info('CPU:0')['current']\n"
        "train()\n"
        "print(json.dumps((tf.config.experimental.get_memory_info('CPU:0')['peak'] - base) / 2**20))\n"
    )
    result: dict[str, float | None] = {"tensor_mb": None, "rss_mb": None}  # None: not measured (torch's tensors)
    for key, code, env in (("rss_mb", rss, {}), ("tensor_mb", tensor, {"TF_CPU_ALLOCATOR_USE_BFC": "true"})):
        if key == "tensor_mb" and kind == "torch":
            continue
        done = subprocess.run(
            [sys.executable, "-c", prelude + code],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
            timeout=600,
            env={**os.environ, **env},
        )
        if done.returncode == 0:
            result[key] = float(done.stdout.strip().splitlines()[-1])
    return result


@dataclasses.dataclass(frozen=True)
class Setup:
    """What every row of one run shares."""

    repeats: int
    have_torch: bool
    have_onnx: bool
    peak_gflops: float  # this machine's measured matmul peak


def contenders(case: Case, task: str, have_torch: bool) -> dict[str, Callable[[], Any]]:
    """Every TF contender in every mode, and torch's, for one case and task (onnxruntime's need a directory: `main`)."""
    functions = {}
    keras_kinds = ["keras", "keras-unroll"] if case.steps <= UNROLL_MAX_STEPS else ["keras"]
    for kind in (*keras_kinds, *FLAGS.scan_methods):
        for jit in (False, True):
            train, infer = build_tf_contender(kind, case, jit)
            functions[f"{kind}{'+xla' if jit else ''}"] = train if task == "train" else infer
    if have_torch:
        # At inference, one thread is a mode of its own: it wins at batch 1 and on packed sequences.
        for name, threads in (("torch", None), ("torch-1thread", 1))[: 2 if task == "infer" else 1]:
            train, infer = build_torch_contender(case, threads)
            functions[name] = train if task == "train" else infer
    return functions


def verdicts(samples: dict[str, list[float]]) -> list[tuple[str, dict]]:
    """ScanLSTM `auto`'s best mode against Keras' best, the best peer and torch's best; onnxruntime's best float mode
    against torch's best."""
    keras_best = best_mode(samples, "keras")
    ours = best_mode(samples, "scan-auto") or best_mode(samples, "scan")
    torch_best = best_mode(samples, "torch")
    if keras_best is None or ours is None:
        raise ValueError(f"Keras and ScanLSTM run in every case; the contenders were {sorted(samples)}")
    peers = [name for name in (keras_best, torch_best) if name]
    peer = min(peers, key=lambda name: statistics.median(samples[name]))
    pairs = [(ours, "keras_best", keras_best), (ours, "best_peer", peer)]
    if torch_best:
        pairs.append((ours, "torch", torch_best))
        onnx_float = {name: samples[name] for name in samples if name in ONNX_MODES and not ONNX_MODES[name].quantized}
        onnx_best = best_mode(onnx_float, "onnxruntime")
        if onnx_best:
            pairs.append((onnx_best, "onnxruntime_vs_torch", torch_best))
    return [(against, compare(samples, mine, name)) for mine, against, name in pairs]


def timing_rows(case: Case, task: str, setup: Setup) -> list[dict]:
    """One row per contender (min / median / max, ratio to Keras' best, GFLOP/s) and one per verdict, printed."""
    functions = contenders(case, task, setup.have_torch)
    with tempfile.TemporaryDirectory(prefix="lstm_speed_onnx.") as directory:
        if task == "infer" and setup.have_onnx:
            functions.update(build_onnx_contenders(case, Path(directory)))
        samples = time_alternating(functions, setup.repeats, calls=FLAGS.calls)
    flops = case.flops(task == "train")
    keras_ms = statistics.median(samples[best_mode(samples, "keras") or "keras"])
    print(
        f"\n{case.name} ({case.batch}x{case.steps}x{case.features}, {case.units} units"
        f"{', masked' if case.masked else ''}) {task}: {flops / 1e9:.3f} GFLOP; "
        f"min / median / max of {setup.repeats} (each the fastest of {FLAGS.calls} calls)"
    )
    rows = []
    for name, values in samples.items():
        ms = statistics.median(values)
        gflops = flops / ms / 1e6
        rows.append(
            dict(
                case=case.name,
                task=task,
                contender=name,
                ms=ms,
                ms_min=min(values),
                ms_max=max(values),
                ratio_to_keras_best=ms / keras_ms,
                gflops=gflops,
                fraction_of_peak=gflops / setup.peak_gflops,
            )
        )
        print(
            f"  {name:<26} {min(values):8.2f} / {ms:8.2f} / {max(values):8.2f} ms   x{ms / keras_ms:.2f} "
            f"of Keras' best   {gflops:6.1f} GFLOP/s ({100 * gflops / setup.peak_gflops:.0f}% of peak)"
        )
    for against, verdict in verdicts(samples):
        rows.append(dict(case=case.name, task=task, comparison=against, **verdict))
        print(
            f"  => {verdict['ours']} / {verdict['peer']} ({against.replace('_', ' ')}): x{verdict['ratio']:.2f} "
            f"(95% CI {verdict['ci_low']:.2f}-{verdict['ci_high']:.2f}): {verdict['verdict']}"
        )
    return rows


def export_rows(case: Case, repeats: int) -> list[dict]:
    """The exported model as a loaded SavedModel and as TFLite files, as ratios to the SavedModel, printed."""
    with tempfile.TemporaryDirectory(prefix="lstm_speed_export.") as directory:
        samples = time_alternating(build_export_contenders(case, Path(directory)), repeats, calls=FLAGS.calls)
    reference = statistics.median(samples["savedmodel"])
    print(f"\n{case.name} ({case.batch}x{case.steps}x{case.features}, {case.units} units) exported, inference:")
    rows = []
    for name, values in samples.items():
        ms = statistics.median(values)
        rows.append(
            dict(
                case=case.name,
                task="infer_export",
                contender=name,
                ms=ms,
                ms_min=min(values),
                ms_max=max(values),
                ratio_to_savedmodel=ms / reference,
            )
        )
        verdict = compare(samples, name, "savedmodel")
        print(
            f"  {name:<14} {min(values):8.2f} / {ms:8.2f} / {max(values):8.2f} ms   x{ms / reference:.2f} of the "
            f"SavedModel (95% CI {verdict['ci_low']:.2f}-{verdict['ci_high']:.2f})"
        )
    return rows


def memory_rows(case: Case, have_torch: bool) -> list[dict]:
    """Peak memory of a training step of every contender, in fresh processes, as ratios to Keras', printed."""
    measured = {
        kind: peak_memory_mb(kind, case) for kind in ["keras", *FLAGS.scan_methods] + (["torch"] if have_torch else [])
    }
    rows = []
    keras_mb = measured["keras"]["tensor_mb"]
    for kind, mb in measured.items():
        ratio = None if mb["tensor_mb"] is None or not keras_mb else mb["tensor_mb"] / keras_mb
        rows.append(dict(case=case.name, task="train_memory", contender=kind, **mb, tensor_ratio_to_keras=ratio))
        tensors = "n/a" if ratio is None else f"{mb['tensor_mb']:7.1f} MB (x{ratio:.2f} of Keras)"
        rss = "n/a" if mb["rss_mb"] is None else f"{mb['rss_mb']:7.1f} MB"
        print(f"  {case.name:<8} {kind:<22} tensors {tensors:<26}   rss {rss}")
    return rows


def installed(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def main(argv):
    del argv
    from reproductions.environment import describe, environment
    from reproductions.startup import import_tensorflow_quietly

    import_tensorflow_quietly()
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # every contender is its own tf.function: retracing is expected
    logging.set_verbosity(logging.WARNING)  # the exports' SavedModel chatter
    names = FLAGS.cases or (["mnist", "digits", "batch1"] if FLAGS.quick else [c.name for c in CASES])
    cases = [c for c in CASES if c.name in names]
    record = environment()
    print("environment:\n" + "\n".join(f"  {line}" for line in describe(record)))
    setup = Setup(
        repeats=5 if FLAGS.quick else FLAGS.repeats,
        have_torch=FLAGS.torch and installed("torch"),
        have_onnx=FLAGS.onnx and installed("onnxruntime"),
        peak_gflops=measure_matmul_peak(),
    )
    print(f"matmul peak of this machine: {setup.peak_gflops:.0f} GFLOP/s (2048x2048 float32)")
    rows = []
    for case in cases if FLAGS.timing else []:
        for task in ("train", "infer"):
            if case.name in (TRAIN_CASES if task == "train" else INFER_CASES):
                rows += timing_rows(case, task, setup)
    for case in cases if FLAGS.tflite and FLAGS.timing else []:
        if case.name in TFLITE_CASES:
            rows += export_rows(case, setup.repeats)
    if FLAGS.memory:
        print("\npeak memory of a training step (fresh processes; tensors: TF's allocator, rss: resident-set growth):")
        for case in (c for c in cases if c.name in TRAIN_CASES):
            rows += memory_rows(case, setup.have_torch)
    out = Path(FLAGS.json_out)
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = dict(
        threads=default_threads(),
        onnxruntime_modes={name: dataclasses.asdict(mode) for name, mode in ONNX_MODES.items()},
        onnxruntime_session=ONNX_SESSION,
    )
    command = " ".join(["python -m benchmarks.lstm_speed", *sys.argv[1:]])
    result = dict(
        command=command, environment=record, matmul_peak_gflops=setup.peak_gflops, settings=settings, rows=rows
    )
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nresults written to {out}")


if __name__ == "__main__":
    app.run(main)
