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
    ["scan-auto", "scan", "scan-while", "scan-bptt", "layernorm"],
    "ScanLSTM contenders: scan (tf.scan), scan-auto (the default), scan-while, scan-unroll, scan-bptt; "
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


def build_torch_contender(case: Case):
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
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


def build_onnx_contender(case: Case, directory: Path) -> Callable[[], Any]:
    """The same ScanLSTM + Dense(10), exported by `tf_lstm.export_onnx` (one fused LSTM node; a masked case feeds
    its right-padded mask) and served by onnxruntime on every core, its spinning threads off: left on, they spin
    on the cores the contender timed next needs, and it looks faster than it is."""
    import keras
    import onnxruntime

    import tf_lstm

    keras.utils.set_random_seed(0)
    inputs = [keras.Input((case.steps, case.features), name="x")]
    if case.masked:
        inputs.append(keras.Input((case.steps,), dtype="bool", name="mask"))
    hidden = tf_lstm.ScanLSTM(case.units)(inputs[0], mask=inputs[1] if case.masked else None)
    model = keras.Model(inputs, keras.layers.Dense(10)(hidden))
    path = tf_lstm.export_onnx(model, directory / f"{case.name}.onnx")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1))
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    x, _, mask = make_inputs(case)
    feeds = {"x": x, **({"mask": mask} if case.masked else {})}
    return lambda: session.run(None, feeds)[0]


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


def peak_memory_mb(kind: str, case: Case) -> dict[str, float]:
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
    result = {"tensor_mb": float("nan"), "rss_mb": float("nan")}
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


def main(argv):
    del argv
    from reproductions.cli import import_tensorflow_quietly
    from reproductions.environment import describe, environment

    import_tensorflow_quietly()
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # every contender is its own tf.function: retracing is expected
    logging.set_verbosity(logging.WARNING)  # the exports' SavedModel chatter
    try:
        import torch  # noqa: F401

        have_torch = FLAGS.torch
    except ImportError:
        have_torch = False
    try:
        import onnxruntime  # noqa: F401

        have_onnx = FLAGS.onnx
    except ImportError:
        have_onnx = False
    names = FLAGS.cases or (["mnist", "digits", "batch1"] if FLAGS.quick else [c.name for c in CASES])
    repeats = 5 if FLAGS.quick else FLAGS.repeats
    record = environment()
    print("environment:\n" + "\n".join(f"  {line}" for line in describe(record)))
    peak = measure_matmul_peak()
    print(f"matmul peak of this machine: {peak:.0f} GFLOP/s (2048x2048 float32)")
    rows = []
    for case in (c for c in CASES if c.name in names and FLAGS.timing):
        for task in ("train", "infer"):
            if case.name not in (TRAIN_CASES if task == "train" else INFER_CASES):
                continue
            functions = {}
            keras_kinds = ["keras", "keras-unroll"] if case.steps <= UNROLL_MAX_STEPS else ["keras"]
            for kind in (*keras_kinds, *FLAGS.scan_methods):
                for jit in (False, True):
                    train, infer = build_tf_contender(kind, case, jit)
                    functions[f"{kind}{'+xla' if jit else ''}"] = train if task == "train" else infer
            if have_torch:
                train, infer = build_torch_contender(case)
                functions["torch"] = train if task == "train" else infer
            with tempfile.TemporaryDirectory(prefix="lstm_speed_onnx.") as directory:
                if task == "infer" and have_onnx:
                    functions["onnxruntime"] = build_onnx_contender(case, Path(directory))
                samples = time_alternating(functions, repeats, calls=FLAGS.calls)
            keras_best = best_mode(samples, "keras")
            ours = best_mode(samples, "scan-auto") or best_mode(samples, "scan")
            peer = min(
                (name for name in (keras_best, "torch") if name in samples),
                key=lambda name: statistics.median(samples[name]),
            )
            flops = case.flops(task == "train")
            assert keras_best is not None and ours is not None  # Keras and ScanLSTM run in every case
            keras_ms = statistics.median(samples[keras_best])
            print(
                f"\n{case.name} ({case.batch}x{case.steps}x{case.features}, {case.units} units"
                f"{', masked' if case.masked else ''}) {task}: {flops / 1e9:.3f} GFLOP; "
                f"min / median / max of {repeats} (each the fastest of {FLAGS.calls} calls)"
            )
            for name, values in samples.items():
                ms = statistics.median(values)
                rows.append(
                    dict(
                        case=case.name,
                        task=task,
                        contender=name,
                        ms=ms,
                        ms_min=min(values),
                        ms_max=max(values),
                        ratio_to_keras_best=ms / keras_ms,
                        gflops=flops / ms / 1e6,
                        fraction_of_peak=flops / ms / 1e6 / peak,
                    )
                )
                print(
                    f"  {name:<18} {min(values):8.2f} / {ms:8.2f} / {max(values):8.2f} ms   x{ms / keras_ms:.2f} "
                    f"of Keras' best   {flops / ms / 1e6:6.1f} GFLOP/s ({100 * flops / ms / 1e6 / peak:.0f}% of peak)"
                )
            against_torch = [("torch", "torch")] if "torch" in samples else []
            pairs = [
                (ours, against, name)
                for against, name in (("keras_best", keras_best), ("best_peer", peer), *against_torch)
            ]
            if "onnxruntime" in samples and "torch" in samples:
                pairs.append(("onnxruntime", "onnxruntime_vs_torch", "torch"))
            for mine, against, name in pairs:
                verdict = compare(samples, mine, name)
                rows.append(dict(case=case.name, task=task, comparison=against, **verdict))
                print(
                    f"  => {mine} / {name} ({against.replace('_', ' ')}): x{verdict['ratio']:.2f} "
                    f"(95% CI {verdict['ci_low']:.2f}-{verdict['ci_high']:.2f}): {verdict['verdict']}"
                )
    for case in (c for c in CASES if c.name in names and c.name in TFLITE_CASES and FLAGS.tflite and FLAGS.timing):
        with tempfile.TemporaryDirectory(prefix="lstm_speed_export.") as directory:
            samples = time_alternating(build_export_contenders(case, Path(directory)), repeats, calls=FLAGS.calls)
        reference = statistics.median(samples["savedmodel"])
        print(f"\n{case.name} ({case.batch}x{case.steps}x{case.features}, {case.units} units) exported, inference:")
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
                f"SavedModel (per repeat {verdict['ratio_min']:.2f}-{verdict['ratio_max']:.2f})"
            )
    if FLAGS.memory:
        print("\npeak memory of a training step (fresh processes; tensors: TF's allocator, rss: resident-set growth):")
        for case in (c for c in CASES if c.name in names and c.name in TRAIN_CASES):
            measured = {
                kind: peak_memory_mb(kind, case)
                for kind in ["keras", *FLAGS.scan_methods] + (["torch"] if have_torch else [])
            }
            for kind, mb in measured.items():
                ratio = mb["tensor_mb"] / measured["keras"]["tensor_mb"]
                rows.append(
                    dict(case=case.name, task="train_memory", contender=kind, **mb, tensor_ratio_to_keras=ratio)
                )
                print(
                    f"  {case.name:<8} {kind:<10} tensors {mb['tensor_mb']:7.1f} MB (x{ratio:.2f} of Keras)"
                    f"   rss {mb['rss_mb']:7.1f} MB"
                )
    out = Path(FLAGS.json_out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(environment=record, matmul_peak_gflops=peak, rows=rows), indent=2) + "\n")
    print(f"\nresults written to {out}")


if __name__ == "__main__":
    app.run(main)
