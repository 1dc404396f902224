"""Pooling over time that respects the mask."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tf_lstm")
class MaskedMean(keras.layers.Layer):
    """The mean of ``[batch, time, features]`` over the unmasked steps only.

    The Theano tutorial's ``(proj * mask[:, :, None]).sum(axis=0) /
    mask.sum(axis=0)[:, None]``: padded steps add nothing and do not count.
    A sequence with no unmasked step gives zeros.

    >>> import numpy as np
    >>> x = np.array([[[1.0], [3.0], [100.0]]], "float32")
    >>> MaskedMean()(x, mask=np.array([[True, True, False]])).numpy().tolist()
    [[2.0]]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return tf.reduce_mean(inputs, axis=1)
        weights = tf.cast(mask, inputs.dtype)[:, :, None]
        total = tf.reduce_sum(inputs * weights, axis=1)
        count = tf.reduce_sum(weights, axis=1)
        return tf.math.divide_no_nan(total, count)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])
