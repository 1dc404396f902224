"""Keras layers that run a step function through the scan driver."""

from __future__ import annotations

import functools
from typing import Any

import keras
import tensorflow as tf

from tf_lstm import checks, gates
from tf_lstm.bptt import lstm_sequence
from tf_lstm.scan import METHODS, in_xla_context, scan_rnn
from tf_lstm.steps import linear_rnn_step, lstm_step


# Sequences up to this length (known when the graph is built) run unrolled
# under method="auto": measured fastest on CPU for MNIST-sized sequences.
UNROLL_MAX_STEPS = 64


def _activation_or_none(name: str, value: Any):
    if value is None:
        return None
    try:
        return keras.activations.get(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{name} must be None or a Keras activation, got {name}={value!r}.") from error


def _serialize_activation(fn) -> Any:
    return None if fn is None else keras.activations.serialize(fn)


class _ScanLayer(keras.layers.Layer):
    """What every scanned recurrent layer shares: input checks, layout, mask,
    dropout, initial state and the shape of what `call` returns.

    Every subclass has the same three weights, ``kernel`` (``W_x``,
    ``[features, blocks·units]``), ``recurrent_kernel`` (``[units,
    blocks·units]``) and an optional ``bias``; it sets `_num_blocks` (4 gate
    blocks for the LSTM) and `_num_states`, and binds its step in `_step`.
    """

    _num_states = 1
    _num_blocks = 1
    _methods = ("auto", "scan", "while", "unroll")

    def __init__(
        self,
        units: int,
        *,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        time_major: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        seed: int | None = None,
        method: str = "auto",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = checks.positive_int("units", units)
        if method not in self._methods:
            raise ValueError(
                f"method must be one of {self._methods} for {type(self).__name__}, got method={method!r}."
            )
        self.method = method
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.time_major = bool(time_major)
        self.dropout = checks.rate("dropout", dropout)
        self.recurrent_dropout = checks.rate("recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # keras.layers.Bidirectional reads these three and sets the last.
        self.stateful = False
        self.states = None
        self.zero_output_for_mask = False
        self.supports_masking = True
        self.input_size: int | None = None

    # -- shapes ---------------------------------------------------------------
    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(
                f"{type(self).__name__} expects inputs of rank 3 "
                f"({'[time, batch, features]' if self.time_major else '[batch, time, features]'}), "
                f"got inputs with shape {input_shape}."
            )
        if input_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} needs the feature size (last axis) of its inputs "
                f"to be known, got inputs with shape {input_shape}."
            )
        self.input_size = int(input_shape[-1])
        width = self._num_blocks * self.units
        self.kernel = self.add_weight(
            name="kernel", shape=(self.input_size, width), initializer=self.kernel_initializer
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel", shape=(self.units, width), initializer=self.recurrent_initializer
        )
        self.bias = (
            self.add_weight(name="bias", shape=(width,), initializer=self.bias_initializer)
            if self.use_bias
            else None
        )
        self.built = True

    def compute_output_shape(self, inputs_shape, initial_state_shape=None):
        input_shape = tuple(inputs_shape)
        if self.time_major:
            steps, batch = input_shape[0], input_shape[1]
        else:
            batch, steps = input_shape[0], input_shape[1]
        if self.return_sequences:
            output = (steps, batch, self.units) if self.time_major else (batch, steps, self.units)
        else:
            output = (batch, self.units)
        if self.return_state:
            return (output,) + tuple((batch, self.units) for _ in range(self._num_states))
        return output

    def compute_mask(self, inputs, mask=None):
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * self._num_states
        return output_mask

    # -- the forward pass -------------------------------------------------------
    def call(self, inputs, mask=None, training=None, initial_state=None):
        inputs = self._check_inputs(inputs)
        mask = self._check_mask(mask, inputs)
        if not self.time_major:
            inputs = tf.transpose(inputs, [1, 0, 2])
            if mask is not None:
                mask = tf.transpose(mask)
        batch = tf.shape(inputs)[1]

        input_mask = recurrent_mask = None
        if training and self.dropout > 0.0:
            input_mask = self._dropout_mask([batch, self.input_size], self.dropout, inputs.dtype)
            inputs = inputs * input_mask[None]
        if training and self.recurrent_dropout > 0.0:
            recurrent_mask = self._dropout_mask([batch, self.units], self.recurrent_dropout, inputs.dtype)

        method, hoist = self._plan(inputs.shape[0], training)
        recurrent_kernel = self._weight(self.recurrent_kernel)
        step = self._step(recurrent_kernel, recurrent_mask)
        if hoist:
            step_inputs = self._project(inputs)
        else:
            step_inputs, step = inputs, self._projecting(step)
        carry = self._initial_carry(initial_state, batch, inputs.dtype)
        outputs, final_carry = scan_rnn(
            step,
            step_inputs,
            carry,
            mask=mask,
            go_backwards=self.go_backwards,
            time_major=True,
            zero_output_for_mask=self.zero_output_for_mask,
            return_sequences=self.return_sequences,
            method=method,
            runner=self._runner(recurrent_kernel, recurrent_mask) if method == "bptt" else None,
        )
        if self.return_sequences:
            output = outputs if self.time_major else tf.transpose(outputs, [1, 0, 2])
        else:
            output = final_carry[0]
        if self.return_state:
            return [output, *final_carry]
        return output

    def _plan(self, steps: int | None, training) -> tuple[str, bool]:
        """The method to run and whether to hoist the input projection.

        ``method="auto"`` picks what `benchmarks.lstm_speed` measured fastest on
        CPU: under XLA a while loop (hoisting the projection for training but
        not for inference, where XLA runs the hoisted form about 2x slower);
        otherwise the unrolled graph for short sequences of known length, and
        the hand-written backward pass (or a while loop) for the rest.
        """
        if self.method == "bptt" and not training:
            # The hand-written pass only changes gradients; its forward is the
            # while loop's, and without its custom gradient the graph can be
            # saved (a SavedModel cannot hold that gradient's captures).
            return "while", True
        if self.method == "bptt":
            return "bptt", False  # its runner projects the inputs itself, a chunk at a time
        if self.method != "auto":
            return self.method, True
        if in_xla_context():
            return "while", bool(training)
        if steps is not None and steps <= UNROLL_MAX_STEPS:
            return "unroll", True
        if training and self._has_bptt():
            return "bptt", False
        return "while", True

    def _has_bptt(self) -> bool:
        return False

    def _projecting(self, step):
        """`step` taking raw x_t: the projection ``x_t·W + b`` done inside the loop."""
        kernel = self._weight(self.kernel)
        bias = None if self.bias is None else self._weight(self.bias)

        def projecting_step(carry, x_t):
            projected_t = tf.matmul(x_t, kernel)
            return step(carry, projected_t if bias is None else projected_t + bias)

        return projecting_step

    def _runner(self, recurrent_kernel, recurrent_mask):
        raise NotImplementedError  # only layers listing "bptt" in _methods have one

    def _project(self, time_major_inputs):
        """``x·W + b`` for every step at once: one matmul before the scan."""
        steps, batch = tf.shape(time_major_inputs)[0], tf.shape(time_major_inputs)[1]
        flat = tf.reshape(time_major_inputs, [-1, self.input_size])
        projected = tf.matmul(flat, self._weight(self.kernel))
        if self.bias is not None:
            projected = projected + self._weight(self.bias)
        return tf.reshape(projected, [steps, batch, self._num_blocks * self.units])

    def _weight(self, variable):
        return tf.cast(variable, self.compute_dtype)

    def _dropout_mask(self, shape, rate, dtype):
        ones = tf.ones(shape, dtype)
        return keras.random.dropout(ones, rate, seed=self.seed_generator)

    def _check_inputs(self, inputs):
        inputs = tf.convert_to_tensor(inputs)
        if not inputs.dtype.is_floating:
            raise TypeError(
                f"{type(self).__name__} expects floating-point inputs, got inputs of dtype "
                f"{inputs.dtype.name} (cast them, e.g. with tf.cast(x, 'float32'))."
            )
        if inputs.shape.rank != 3:
            raise ValueError(
                f"{type(self).__name__} expects inputs of rank 3, got inputs with shape "
                f"{tuple(inputs.shape)}."
            )
        if inputs.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' was built for {self.input_size} input "
                f"features, got inputs with shape {tuple(inputs.shape)} "
                f"({inputs.shape[-1]} features)."
            )
        return inputs

    def _check_mask(self, mask, inputs):
        if mask is None:
            return None
        mask = tf.convert_to_tensor(mask)
        expected = tuple(inputs.shape[:2])
        if mask.shape.rank != 2 or any(
            m is not None and e is not None and m != e for m, e in zip(mask.shape, expected)
        ):
            layout = "[time, batch]" if self.time_major else "[batch, time]"
            raise ValueError(
                f"mask must have shape {layout} = {expected} to match the inputs, "
                f"got mask with shape {tuple(mask.shape)}."
            )
        return tf.cast(mask, tf.bool)

    def _initial_carry(self, initial_state, batch, dtype):
        if initial_state is None:
            zeros = tf.zeros([batch, self.units], dtype)
            return (zeros,) * self._num_states
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != self._num_states:
            raise ValueError(
                f"initial_state must be a list of {self._num_states} tensors of shape "
                f"[batch, {self.units}], got {len(states)}."
            )
        carry = []
        for state in states:
            state = tf.cast(tf.convert_to_tensor(state), dtype)
            if state.shape.rank != 2 or state.shape[-1] != self.units:
                raise ValueError(
                    f"each initial_state tensor must have shape [batch, {self.units}], "
                    f"got shape {tuple(state.shape)}."
                )
            carry.append(state)
        return tuple(carry)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            return_sequences=self.return_sequences,
            return_state=self.return_state,
            go_backwards=self.go_backwards,
            time_major=self.time_major,
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            recurrent_initializer=keras.initializers.serialize(self.recurrent_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
            seed=self.seed,
            method=self.method,
        )
        return config


@keras.saving.register_keras_serializable(package="tf_lstm")
class ScanLSTM(_ScanLayer):
    """An LSTM layer written as a step function scanned over time (`tf.scan`).

    For every step, with ``x_t·W_x + b`` computed for all steps in one matmul
    before the scan (as the Theano tutorial does):

        z = x_t·W_x + b + h·W_h, split into four blocks in `gate_order`
        i = σ(z_i)   f = σ(z_f + forget_bias)   g = tanh(z_g)   o = σ(z_o)
        c' = f⊙c + i⊙g
        h' = o⊙cell_activation(c')

    Args:
        units: size of h and c, a positive integer.
        gate_order: the order of the four gate blocks in the weights: any
            permutation of ``i f g o``; the candidate may be written ``j``
            (TF1 ``BasicLSTMCell``: ``"ijfo"``), ``z`` (article C:
            ``"zifo"``) or ``c`` (Keras ``"ifco"``, Theano ``"ifoc"``).
            The default is PyTorch's.
        forget_bias: a constant added to the forget gate's pre-activation.
        cell_activation: applied to c' before the output gate; ``None`` drops
            it (article C).
        use_bias: whether the layer has the bias ``b``.
        return_sequences: return h of every step (``[batch, time, units]``)
            rather than the last.
        return_state: also return the final ``h`` and ``c``.
        go_backwards: process the sequence from its end (outputs in
            processing order, as in Keras).
        time_major: inputs (and outputs, mask) are ``[time, batch, ...]``.
        dropout: rate of the dropout mask on the inputs (one mask for all
            steps), in training only.
        recurrent_dropout: rate of the dropout mask on h before the recurrent
            matmul (one mask for all steps), in training only.
        kernel_initializer: initializer of ``W_x``, ``[features, 4·units]``.
        recurrent_initializer: initializer of ``W_h``, ``[units, 4·units]``.
        bias_initializer: initializer of ``b``, ``[4·units]``.
        seed: seed of the dropout masks.
        method: how the recurrence runs: ``"scan"`` (`tf.scan`, the
            articles' form), ``"while"`` (`tf.while_loop` keeping only h's
            outputs), ``"unroll"`` (one graph node per step; needs a known
            sequence length), ``"bptt"`` (a hand-written backward pass, see
            `tf_lstm.bptt`), or ``"auto"`` (the default: the fastest measured
            for the situation, see `_ScanLayer._plan`). Same numbers.

    Call arguments:
        inputs: ``[batch, time, features]`` floats.
        mask: boolean ``[batch, time]``; masked steps leave h and c unchanged.
        training: whether dropout is active.
        initial_state: ``[h0, c0]``, each ``[batch, units]``; zeros if None.
    """

    _num_states = 2
    _num_blocks = 4
    _methods = ("auto", *METHODS)

    def __init__(
        self,
        units: int,
        *,
        gate_order: str = gates.TORCH_ORDER,
        forget_bias: float = 0.0,
        cell_activation: str | None = "tanh",
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self.gate_order = gate_order
        self.gate_positions = gates.gate_positions(gate_order)
        if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float)):
            raise TypeError(f"forget_bias must be a number, got forget_bias={forget_bias!r}.")
        self.forget_bias = float(forget_bias)
        self.cell_activation = _activation_or_none("cell_activation", cell_activation)
        if self.method == "bptt" and self.cell_activation not in (None, keras.activations.tanh):
            raise ValueError(
                "method='bptt' has the backward pass of cell_activation='tanh' or None only, got "
                f"cell_activation={cell_activation!r}; use method='scan' for others."
            )

    def _step(self, recurrent_kernel, recurrent_mask):
        return functools.partial(
            lstm_step,
            recurrent_kernel=recurrent_kernel,
            gate_positions=self.gate_positions,
            forget_bias=self.forget_bias,
            cell_activation=self.cell_activation,
            recurrent_dropout_mask=recurrent_mask,
        )

    def _has_bptt(self) -> bool:
        return self.cell_activation in (None, keras.activations.tanh)

    def _runner(self, recurrent_kernel, recurrent_mask):
        return functools.partial(
            lstm_sequence,
            kernel=self._weight(self.kernel),
            bias=None if self.bias is None else self._weight(self.bias),
            recurrent_kernel=recurrent_kernel,
            gate_positions=self.gate_positions,
            forget_bias=self.forget_bias,
            tanh_cell=self.cell_activation is not None,
            recurrent_dropout_mask=recurrent_mask,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            gate_order=self.gate_order,
            forget_bias=self.forget_bias,
            cell_activation=_serialize_activation(self.cell_activation),
        )
        return config


@keras.saving.register_keras_serializable(package="tf_lstm")
class ScanRNN(_ScanLayer):
    """The linear RNN of the counting article (an Elman RNN with `activation`).

        s_t = activation(x_t·W_x + b + s_{t−1}·W_rec),   s_0 = 0

    With the defaults (no activation, no bias) it is the article's
    ``s_k = x_k·w_x + s_{k−1}·w_rec``.

    Args:
        units: size of s, a positive integer.
        activation: None (linear, the article) or a Keras activation.
        use_bias: whether the layer has the bias ``b``.
        kernel_initializer: initializer of ``W_x``, ``[features, units]``.
        recurrent_initializer: initializer of ``W_rec``, ``[units, units]``.
        bias_initializer: initializer of ``b``.
        return_sequences, return_state, go_backwards, time_major, dropout,
        recurrent_dropout, seed, method: as in `ScanLSTM`; the state is ``[s]``.
    """

    _num_states = 1
    _num_blocks = 1

    def __init__(
        self,
        units: int,
        *,
        activation: str | None = None,
        use_bias: bool = False,
        **kwargs,
    ):
        super().__init__(units, use_bias=use_bias, **kwargs)
        self.activation = _activation_or_none("activation", activation)

    def _step(self, recurrent_kernel, recurrent_mask):
        return functools.partial(
            linear_rnn_step,
            recurrent_kernel=recurrent_kernel,
            activation=self.activation,
            recurrent_dropout_mask=recurrent_mask,
        )

    def get_config(self):
        config = super().get_config()
        config.update(activation=_serialize_activation(self.activation))
        return config
