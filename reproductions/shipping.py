"""What a reproduction ships beside its SavedModel: TFLite files and an ONNX file, each with its accuracy, size and
speed measured, the ONNX file's answers judged against the SavedModel's."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from reproductions import faults
from reproductions.report import Report

# file name → quantization (tf_lstm.export_tflite's `quantize`)
VARIANTS = {"model.tflite": None, "model_dynamic.tflite": "dynamic", "model_int8.tflite": "int8"}
SINGLE_CALLS = 50  # batch-1 latency: the median of this many calls on single examples
BATCH = 1024


def _median_ms(call, inputs) -> float:
    call(inputs[0])  # the first call allocates
    times = []
    for x in inputs:
        start = time.perf_counter()
        call(x)
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def _latencies(call, test_x: np.ndarray) -> dict[str, float]:
    singles = [test_x[k : k + 1] for k in range(min(SINGLE_CALLS, len(test_x)))]
    batches = [test_x[:BATCH]] * 3
    return dict(batch1_ms=_median_ms(call, singles), batch1024_ms=_median_ms(call, batches))


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size


def ship_onnx(report: Report, model, export_dir: Path, test_x, test_labels, reference) -> dict[str, dict]:
    """``model.onnx`` (`tf_lstm.export_onnx`) and ``model_dynamic.onnx`` (onnxruntime's dynamic quantization: the
    LSTM's weights in int8, ``DynamicQuantizeLSTM``), served by onnxruntime on every core with its spinning threads
    off: their rows of the table. The float file's test answers that differ from the SavedModel's are judged (none,
    or one on a rounding tie). Without the ``onnx`` extra the figure is marked not run, with the command to add it."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        report.not_run("onnx_examples_differing", "onnxruntime is not installed: pip install -e '.[onnx]'")
        return {}
    from tf_lstm.export import export_onnx

    with faults.writing(export_dir / "model.onnx"):
        path = export_onnx(model, export_dir / "model.onnx")
    with faults.writing(export_dir / "model_dynamic.onnx"):
        quantize_dynamic(path, export_dir / "model_dynamic.onnx", weight_type=QuantType.QInt8)
    rows = {}
    for file in ("model.onnx", "model_dynamic.onnx"):
        serve = onnx_runner(export_dir / file)
        outputs = np.concatenate([serve(test_x[k : k + BATCH]) for k in range(0, len(test_x), BATCH)])
        rows[file] = dict(
            quantize=None if file == "model.onnx" else "dynamic",
            accuracy=float(np.mean(outputs.argmax(-1) == test_labels)),
            max_abs_difference=float(np.max(np.abs(outputs - reference))),
            bytes=_size(export_dir / file),
            examples_differing=int(np.sum(outputs.argmax(-1) != reference.argmax(-1))),
            **_latencies(serve, test_x),
        )
    float_row = rows["model.onnx"]
    report.check("onnx_examples_differing", float_row["examples_differing"])
    print(f"model.onnx: {float_row['examples_differing']} test answers differ from the SavedModel's; largest "
          f"probability difference {float_row['max_abs_difference']:.1e}")  # fmt: skip
    return rows


def onnx_runner(path: Path):
    """``x → outputs`` of the ONNX file at `path` in onnxruntime, on every core, its spinning threads off (left on,
    they take the cores whatever runs next needs)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    runner = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = runner.get_inputs()[0].name
    return lambda x: runner.run(None, {name: x})[0]


def ship_tflite(
    report: Report,
    model,
    export_dir: Path,
    test_x: np.ndarray,
    test_labels: np.ndarray,
    calibration: np.ndarray,
) -> dict[str, dict]:
    """Writes `VARIANTS` of `model` into `export_dir` (the SavedModel's folder) and measures each on the test set.

    Every file's test accuracy (argmax of the outputs against `test_labels`),
    largest output difference from the SavedModel, size, and latency at batch
    1 and 1,024 (medians, this process, TFLite on every core) go into
    report.json as ``tflite`` and a printed table, the SavedModel's first.
    `calibration`: training inputs for int8's activation ranges.
    """
    import tensorflow as tf

    from tf_lstm.tflite import TFLiteModel, export_tflite

    test_x = np.asarray(test_x, np.float32)
    serve = tf.saved_model.load(str(export_dir)).signatures["serving_default"]

    def saved_model(x):
        return next(iter(serve(tf.constant(x)).values())).numpy()

    reference = np.concatenate([saved_model(test_x[k : k + BATCH]) for k in range(0, len(test_x), BATCH)])
    rows: dict[str, dict[str, Any]] = {
        "SavedModel": dict(
            accuracy=float(np.mean(reference.argmax(-1) == test_labels)),
            max_abs_difference=0.0,
            bytes=_size(export_dir),  # before the TFLite files join it
            **_latencies(saved_model, test_x),
        )
    }
    for name, quantize in VARIANTS.items():
        with faults.writing(export_dir / name):
            path = export_tflite(
                model,
                export_dir / name,
                quantize=quantize,
                representative_data=calibration if quantize == "int8" else None,
            )
        runner = TFLiteModel(path, num_threads=os.cpu_count())
        outputs = runner.predict(test_x, batch_size=BATCH)
        rows[name] = dict(
            quantize=quantize,
            accuracy=float(np.mean(outputs.argmax(-1) == test_labels)),
            max_abs_difference=float(np.max(np.abs(outputs - reference))),
            bytes=_size(path),
            **_latencies(runner, test_x),
        )
    rows.update(ship_onnx(report, model, export_dir, test_x, test_labels, reference))
    reference_row = rows["SavedModel"]
    title = f"export ({len(test_x):,} test inputs)"
    print(f"\n{title:<32}| test accuracy | max |diff| | size       | batch 1           | batch {BATCH:,}")
    for name, row in rows.items():
        print(
            f"{name:<32}| {row['accuracy']:.4f}        | {row['max_abs_difference']:.1e}    "
            f"| {row['bytes'] / 1e3:7.0f} kB | {row['batch1_ms']:6.2f} ms "
            f"({row['batch1_ms'] / reference_row['batch1_ms']:.2f}x) "
            f"| {row['batch1024_ms']:7.1f} ms ({row['batch1024_ms'] / reference_row['batch1024_ms']:.2f}x)"
        )
    report.record("tflite", rows)
    return rows
