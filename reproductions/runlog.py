"""A reproduction's TensorBoard log, ``runs/<name>/tensorboard/``: `tensorboard --logdir runs` shows them all.

Scalars per logged step (loss, accuracy, learning rate, examples/s), the
histograms of the weights and of the gate activations at a few points, the
protocol as HParams, and the run's pictures as images. With
``--notensorboard`` a `RunLog` writes nothing and costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reproductions import faults


class RunLog:
    """Writes one reproduction's TensorBoard events (or nothing, when not `enabled`)."""

    def __init__(self, run_dir: str | Path, enabled: bool = True):
        self.directory = Path(run_dir) / "tensorboard"
        self.enabled = enabled
        self._writer = None
        self._scalar_writers: dict[tuple[str, ...], Any] = {}

    @property
    def writer(self):
        """The file writer, made at the first summary: a run stopped by bad input leaves no folder behind."""
        if self._writer is None and self.enabled:
            import tensorflow as tf

            with faults.writing(self.directory):
                self._writer = tf.summary.create_file_writer(str(self.directory))
        return self._writer

    def scalars(self, step: int, prefix: str = "", **values: float) -> None:
        """One point of each curve ``<prefix>/<name>`` at `step`.

        All of a call's points are written by one compiled function, made once
        per set of names: eager `tf.summary.scalar` costs about a millisecond
        a point, which every epoch of a short training run would feel.
        """
        if not self.enabled:
            return
        import tensorflow as tf

        names = tuple(f"{prefix}/{name}" if prefix else name for name in values)
        write = self._scalar_writers.get(names)
        if write is None:
            writer = self.writer

            @tf.function
            def write_points(step, points):
                with writer.as_default(step=step):
                    for name, point in zip(names, tf.unstack(points)):
                        tf.summary.scalar(name, point)

            self._scalar_writers[names] = write = write_points
        write(tf.constant(int(step), tf.int64), tf.constant([float(v) for v in values.values()], tf.float32))

    def histograms(self, step: int, prefix: str, arrays: Mapping[str, Any]) -> None:
        """The distribution of each array (weights, gate activations) at `step`, as ``<prefix>/<name>``."""
        if self.writer is None:
            return
        import tensorflow as tf

        with self.writer.as_default(step=int(step)):
            for name, values in arrays.items():
                tf.summary.histogram(f"{prefix}/{name}", tf.convert_to_tensor(values))

    def weights(self, step: int, model, prefix: str = "weights") -> None:
        """Histograms of every trainable weight of `model`."""
        self.histograms(step, prefix, {w.path: w.numpy() for w in model.trainable_weights})

    def gates(self, step: int, traced: Mapping[str, Any], prefix: str = "gates") -> None:
        """Histograms of the gate activations and cell state of a `tf_lstm.trace`."""
        self.histograms(step, prefix, {name: traced[name] for name in "ifgoc" if name in traced})

    def hparams(self, settings: Mapping[str, Any]) -> None:
        """The run's settings, for TensorBoard's HParams tab."""
        if self.writer is None:
            return
        from tensorboard.plugins.hparams import api as hp

        plain = {k: v if isinstance(v, (bool, int, float, str)) else str(v) for k, v in settings.items()}
        with self.writer.as_default():
            hp.hparams(plain)

    def pictures(self, run_dir: str | Path, names: list[str]) -> None:
        """The run's PNG pictures as images."""
        if self.writer is None:
            return
        import tensorflow as tf

        with self.writer.as_default(step=0):
            for name in names:
                png = tf.io.read_file(str(Path(run_dir) / name))
                tf.summary.image(f"pictures/{Path(name).stem}", tf.image.decode_png(png, channels=4)[None])

    def close(self) -> None:
        if self._writer is not None:
            with faults.writing(self.directory):
                self._writer.flush()
                self._writer.close()
