"""Pooling over time that respects the mask."""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_lstm import context


@keras.saving.register_keras_serializable(package="tf_lstm")
class MaskedMean(keras.layers.Layer):
    """The mean of ``[batch, time, features]`` over the unmasked steps only.

    The Theano tutorial's ``(proj * mask[:, :, None]).sum(axis=0) /
    mask.sum(axis=0)[:, None]``: padded steps add nothing and do not count.
    A sequence with no unmasked step gives zeros. Streamed
    (`tf_lstm.streaming`), it carries the running sum and count, so the mean
    after each chunk is the mean of every step so far.

    >>> import numpy as np
    >>> x = np.array([[[1.0], [3.0], [100.0]]], "float32")
    >>> MaskedMean()(x, mask=np.array([[True, True, False]])).numpy().tolist()
    [[2.0]]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.features: int | None = None

    def stream_state(self) -> list[tuple[str, int]]:
        """``sum`` and ``count``: a streamed call adds its slot's running sum and count to its own and leaves the
        totals in the slot, so that the mean after each chunk is the mean over every chunk so far."""
        if self.features is None:
            raise ValueError(f"layer {self.name!r} is not built yet: call the model once (or build it) first.")
        return [("sum", self.features), ("count", 1)]

    def build(self, input_shape):
        self.features = input_shape[-1]
        self.built = True

    def call(self, inputs, mask=None):
        weights = tf.ones_like(inputs[:, :, :1]) if mask is None else tf.cast(mask, inputs.dtype)[:, :, None]
        total = tf.reduce_sum(inputs * weights, axis=1)
        count = tf.reduce_sum(weights, axis=1)
        slot = context.slot_of(self)
        if slot is not None:
            total_before, count_before = slot.carry
            total, count = total + total_before, count + count_before
            slot.final = (total, count)
        return tf.math.divide_no_nan(total, count)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


@keras.saving.register_keras_serializable(package="tf_lstm")
class LastStep(keras.layers.Layer):
    """The last step of ``[batch, time, features]``: ``[batch, features]``.

    A named layer where a model would hold ``Lambda(lambda t: t[:, -1])``: a
    Lambda is Python that no exporter (`tf_lstm.export_onnx`) and no safe-mode
    loader can read.

    >>> import numpy as np
    >>> LastStep()(np.arange(6, dtype="float32").reshape(1, 3, 2)).numpy().tolist()
    [[4.0, 5.0]]
    """

    def call(self, inputs):
        return inputs[:, -1]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])
