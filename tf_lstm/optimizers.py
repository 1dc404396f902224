"""Optimizers the articles use that Keras does not ship."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from tf_lstm import checks


@keras.saving.register_keras_serializable(package="tf_lstm")
class ArticleRMSProp(keras.optimizers.Optimizer):
    """The RMSProp variant of the counting article (a Theano optimizer gist).

    Centered RMSProp with Nesterov-style momentum and a global gradient
    rescaling. For the gradients g of all variables of one update:

        g ← g · rescale / max(rescale, sqrt(‖g‖₂))      (‖g‖₂ over all variables)
        E[g²] ← ρ·E[g²] + (1−ρ)·g²
        E[g]  ← ρ·E[g]  + (1−ρ)·g
        r = max(sqrt(E[g²] − E[g]²), min_rms)
        v_old = v;  v ← μ·v − lr·g/r
        θ ← θ + μ²·v_old − (1+μ)·lr·g/r

    Note the square root of the norm in the rescaling: the gist takes it,
    and the article's figures are reproduced with it.

    Args:
        learning_rate: lr.
        rho: the running averages' coefficient ρ.
        momentum: μ.
        min_rms: the floor of the step divisor r.
        rescale: the rescaling threshold.
    """

    def __init__(
        self,
        learning_rate: float = 0.001,
        rho: float = 0.9,
        momentum: float = 0.5,
        min_rms: float = 1e-4,
        rescale: float = 5.0,
        name: str = "article_rmsprop",
        **kwargs,
    ):
        if isinstance(learning_rate, (int, float)):  # a schedule is Keras' to check
            checks.non_negative("learning_rate", learning_rate)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = checks.non_negative("rho", rho, below=1.0)
        self.momentum = checks.non_negative("momentum", momentum)
        self.min_rms = checks.non_negative("min_rms", min_rms)
        self.rescale = checks.non_negative("rescale", rescale)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._mean_squares = self.add_optimizer_variables(var_list, "mean_square")
        self._mean_grads = self.add_optimizer_variables(var_list, "mean_grad")
        self._velocities = self.add_optimizer_variables(var_list, "velocity")

    def apply(self, grads, trainable_variables=None):
        grads = list(grads)
        present = [g for g in grads if g is not None]
        if present:
            # Under tf.distribute each replica holds its share of g, and the
            # shares are summed after this method: the norm is of their sum.
            context = tf.distribute.get_replica_context()
            if context is not None and context.num_replicas_in_sync > 1:
                present = context.all_reduce(tf.distribute.ReduceOp.SUM, present)
            norm = ops.sqrt(sum(ops.sum(ops.square(g)) for g in present))
            scale = self.rescale / ops.maximum(self.rescale, ops.sqrt(norm))
            grads = [None if g is None else g * ops.cast(scale, g.dtype) for g in grads]
        return super().apply(grads, trainable_variables)

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        mean_square, mean_grad, velocity = (
            self._mean_squares[index],
            self._mean_grads[index],
            self._velocities[index],
        )
        self.assign(mean_square, self.rho * mean_square + (1.0 - self.rho) * ops.square(g))
        self.assign(mean_grad, self.rho * mean_grad + (1.0 - self.rho) * g)
        # E[g²] ≥ E[g]² holds exactly; the clamp only absorbs float rounding.
        variance = ops.maximum(mean_square - ops.square(mean_grad), 0.0)
        step = lr * g / ops.maximum(ops.sqrt(variance), self.min_rms)
        # The parameter step reads the old velocity, so it goes first.
        self.assign_add(variable, self.momentum**2 * velocity - (1.0 + self.momentum) * step)
        self.assign(velocity, self.momentum * velocity - step)

    def get_config(self):
        config = super().get_config()
        config.update(rho=self.rho, momentum=self.momentum, min_rms=self.min_rms, rescale=self.rescale)
        return config
