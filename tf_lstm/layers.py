"""`Recurrent`, the one layer that runs a cell (`tf_lstm.cells`) through the scan driver,
and the two layers of the articles: `ScanLSTM` and `ScanRNN`."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from tf_lstm import checks, context, gates
from tf_lstm.cells import Cell, LinearRNNCell, LSTMCell
from tf_lstm.plan import Noise, Readout, check_method, make_plan, run_cell
from tf_lstm.sequences import check_inputs, check_mask, initial_carry
from tf_lstm.steps import Weights


@keras.saving.register_keras_serializable(package="tf_lstm")
class Recurrent(keras.layers.Layer):
    """Runs a `tf_lstm.cells.Cell` over time: everything around the cell's step.

    The layer owns the weights, ``kernel`` (``W_x``, ``[features,
    blocks·units]``), ``recurrent_kernel`` (``[units, blocks·units]``) and an
    optional ``bias``, with ``blocks`` from the cell; it checks the inputs,
    applies the mask, dropout and initial state, and runs the cell's step
    with `tf_lstm.scan_rnn` by the plan `tf_lstm.plan.make_plan` makes: the
    method `tf_lstm.scan.choose_method` picks, and whether every step's input
    projection ``x·W_x + b`` runs at once before the loop (one matmul), in
    each step, or fused with the recurrent matmul.

    Args:
        cell: the recurrence, a `tf_lstm.cells.Cell`.
        units: size of each state tensor, a positive integer.
        return_sequences: return the output of every step (``[batch, time,
            units]``) rather than the last.
        return_state: also return the final state (``cell.state_names``).
        go_backwards: process the sequence from its end (outputs in
            processing order, as in Keras).
        time_major: inputs (and outputs, mask) are ``[time, batch, ...]``.
        dropout: rate of the dropout mask on the inputs (one mask for all
            steps: Gal & Ghahramani's variational dropout, as in Keras), in
            training only.
        recurrent_dropout: rate of the dropout mask on the output state before
            the recurrent matmul (one mask for all steps, likewise), in
            training only.
        use_bias: whether the layer has the bias ``b``.
        kernel_initializer, recurrent_initializer, bias_initializer: of the
            three weights.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: Keras
            regularizers of the three weights (their losses in
            ``layer.losses``); ``activity_regularizer`` (a keyword of every
            Keras layer) applies to the output.
        kernel_constraint, recurrent_constraint, bias_constraint: Keras
            constraints, applied to the weights after each optimizer step.
        zero_output_for_mask: a masked step outputs zeros (with
            ``return_sequences``) instead of the carried h.
        stateful: the final state of a batch is the initial state of the next
            (truncated backpropagation through time: the gradient stops at the
            boundary); the batch size must be fixed (known when the layer is
            built) and every batch must have it. `reset_state` sets it to zero.
        seed: seed of the dropout masks.
        method: how the recurrence runs: ``"scan"`` (`tf.scan`, the
            articles' form), ``"while"`` (`tf.while_loop` keeping only the
            outputs), ``"unroll"`` (one graph node per step; needs a known
            sequence length), ``"manual_backward"`` (the cell's sequence runner, a
            hand-written backward pass; see `tf_lstm.manual_backward`), or ``"auto"`` (the
            default: the fastest measured for the situation). Same numbers.

    Call arguments:
        inputs: ``[batch, time, features]`` floats.
        mask: boolean ``[batch, time]``; masked steps leave the state unchanged.
        training: whether dropout is active.
        initial_state: one ``[batch, units]`` tensor per state; zeros if None.
    """

    def __init__(
        self,
        cell: Cell,
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
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        zero_output_for_mask: bool = False,
        stateful: bool = False,
        seed: int | None = None,
        method: str = "auto",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(cell, Cell):
            raise TypeError(f"cell must be a tf_lstm.cells.Cell, got cell={cell!r}.")
        self.cell = cell
        self.units = checks.positive_int("units", units)
        self.method = check_method(cell, method)
        self.use_bias = checks.boolean("use_bias", use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.recurrent_constraint = keras.constraints.get(recurrent_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.return_sequences = checks.boolean("return_sequences", return_sequences)
        self.return_state = checks.boolean("return_state", return_state)
        self.go_backwards = checks.boolean("go_backwards", go_backwards)
        self.time_major = checks.boolean("time_major", time_major)
        self.dropout = checks.rate("dropout", dropout)
        self.recurrent_dropout = checks.rate("recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # keras.layers.Bidirectional reads stateful and zero_output_for_mask, and sets the latter.
        self.stateful = checks.boolean("stateful", stateful)
        self.states: list = []  # the stateful layer's state variables, made by build
        self.zero_output_for_mask = checks.boolean("zero_output_for_mask", zero_output_for_mask)
        self.supports_masking = True
        self.input_size: int | None = None

    # -- shapes ---------------------------------------------------------------
    def build(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_input_shape(input_shape)
        self.input_size = int(input_shape[-1])
        width = self.cell.blocks * self.units
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.input_size, width),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel",
            shape=(self.cell.output_size(self.units), width),
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = (
            self.add_weight(
                name="bias",
                shape=(width,),
                initializer=self.initial_bias,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
            if self.use_bias
            else None
        )
        self.cell_weights = {
            name: self.add_weight(name=name, shape=shape, initializer=initializer)
            for name, (shape, initializer) in self.cell.extra_weights(self.units).items()
        }
        if self.stateful:
            self._build_states(input_shape)
        self.built = True

    def _check_input_shape(self, input_shape: tuple) -> None:
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

    def _build_states(self, input_shape: tuple) -> None:
        """A stateful layer's kept state, one variable per state tensor, ``[batch, size]``."""
        batch = input_shape[1] if self.time_major else input_shape[0]
        if batch is None:
            raise ValueError(
                f"stateful=True needs the batch size when {type(self).__name__} '{self.name}' is built, got "
                f"inputs with shape {input_shape}: give it, e.g. keras.Input((steps, features), batch_size=32)."
            )
        self.states = [
            self.add_weight(name=f"state_{name}", shape=(batch, size), initializer="zeros", trainable=False)
            for name, size in zip(self.cell.state_names, self.cell.state_sizes(self.units))
        ]

    def initial_bias(self, shape, dtype=None):
        """The bias's initial value (`bias_initializer`'s; `ScanLSTM` may set the forget block to 1)."""
        return self.bias_initializer(shape, dtype)

    def reset_state(self):
        """Sets a stateful layer's state to zeros (the start of new sequences)."""
        if not self.stateful:
            raise ValueError(f"layer {self.name!r} is not stateful: it keeps no state to reset.")
        for state in self.states:
            state.assign(tf.zeros_like(state))

    def compute_output_shape(self, inputs_shape, initial_state_shape=None):
        input_shape = tuple(inputs_shape)
        if self.time_major:
            steps, batch = input_shape[0], input_shape[1]
        else:
            batch, steps = input_shape[0], input_shape[1]
        sizes = self.cell.state_sizes(self.units)
        output: tuple = (batch, sizes[0])
        if self.return_sequences:
            output = (steps, batch, sizes[0]) if self.time_major else (batch, steps, sizes[0])
        if self.return_state:
            return (output,) + tuple((batch, size) for size in sizes)
        return output

    def compute_mask(self, inputs, mask=None):
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.cell.state_names)
        return output_mask

    # -- streaming (`tf_lstm.context.Streams`) ----------------------------------
    def stream_state(self) -> list[tuple[str, int]]:
        """The cell's state tensors and their sizes (``h``, ``c`` for an LSTM), which a streamed call takes from
        its `tf_lstm.context.Slot` instead of ``initial_state`` or a stateful layer's kept state."""
        if self.go_backwards:
            raise ValueError(f"layer {self.name!r} has go_backwards=True: a backward layer cannot be streamed.")
        if not self.built:
            raise ValueError(f"layer {self.name!r} is not built yet: call the model once (or build it) first.")
        return list(zip(self.cell.state_names, self.cell.state_sizes(self.units)))

    # -- the forward pass -------------------------------------------------------
    def call(self, inputs, mask=None, training=None, initial_state=None):
        stream = context.slot_of(self)
        if stream is not None:
            if initial_state is not None:
                raise ValueError(f"layer {self.name!r} is streamed: its initial_state comes from the stream's state.")
            initial_state = stream.carry
        elif self.stateful and initial_state is None:
            initial_state = self._stateful_carry(inputs)
        outputs, final_carry, _ = self.run(
            inputs, mask=mask, training=training, initial_state=initial_state, probes=context.probes_of(self)
        )
        if stream is not None:
            stream.final = final_carry
        elif self.stateful:
            for state, value in zip(self.states, final_carry):
                state.assign(tf.cast(value, state.dtype))
        if self.return_sequences:
            output = outputs if self.time_major else tf.transpose(outputs, [1, 0, 2])
        else:
            output = final_carry[0]
        if self.return_state:
            return [output, *final_carry]
        return output

    def _stateful_carry(self, inputs):
        """The kept state, after checking the batch size is the one it was built for."""
        batch_axis = 1 if self.time_major else 0
        kept = int(self.states[0].shape[0])
        given = tf.convert_to_tensor(inputs).shape[batch_axis]
        if given is not None and given != kept:
            raise ValueError(
                f"stateful layer {self.name!r} keeps the state of {kept} sequences, got inputs with shape "
                f"{tuple(inputs.shape)} ({given} sequences): every batch must have {kept} (reset_state() does not "
                "change it; build a new layer for another batch size)."
            )
        return [tf.convert_to_tensor(state) for state in self.states]

    def run(self, inputs, *, mask=None, training=None, initial_state=None, collect=None, probes=None):
        """The recurrence over `inputs`, what `call` and `tf_lstm.trace` share.

        Args:
            inputs, mask, training, initial_state: as for `call`.
            collect: per-step values to return, as `tf_lstm.scan_rnn`'s
                ``collect``; runs a loop (not ``"manual_backward"``) when given.
            probes: ``[time, batch, Σ state sizes]`` zeros added to
                the new state of every step (the states side by side, steps
                in the order of `inputs`): their gradient is the loss's
                gradient with respect to each step's state
                (`tf_lstm.gradients_through_time`). A masked step keeps its
                carried state, so its probes get no gradient.

        Returns:
            ``(outputs [time, batch, units] or None, final_carry, collected)``,
            time-major, steps in processing order.
        """
        inputs = check_inputs(inputs, kind=type(self).__name__, name=self.name, input_size=self.input_size)
        mask = check_mask(mask, inputs, time_major=self.time_major)
        if not self.time_major:
            inputs = tf.transpose(inputs, [1, 0, 2])
            if mask is not None:
                mask = tf.transpose(mask)
        batch = tf.shape(inputs)[1]
        noise = Noise()
        if training:
            if self.dropout > 0.0:
                inputs = inputs * self._dropout_mask([batch, self.input_size], self.dropout, inputs.dtype)[None]
            noise = self._noise(batch, inputs.dtype)
        plan = make_plan(
            self.cell,
            self.units,
            self.input_size,
            self.method,
            steps=inputs.shape[0],
            training=bool(training),
            per_step=bool(collect) or probes is not None,
        )
        return run_cell(
            self.cell,
            self.units,
            plan,
            self.call_weights(),
            inputs,
            initial_carry(
                initial_state,
                batch,
                inputs.dtype,
                names=self.cell.state_names,
                sizes=self.cell.state_sizes(self.units),
            ),
            mask=mask,
            noise=noise,
            probes=probes,
            collect=collect,
            readout=Readout(
                go_backwards=self.go_backwards,
                zero_output_for_mask=self.zero_output_for_mask,
                return_sequences=self.return_sequences,
            ),
        )

    def _noise(self, batch, dtype) -> Noise:
        """A training call's randomness: the recurrent-dropout mask, and the seed of the cell's per-step masks."""
        recurrent_mask = None
        if self.recurrent_dropout > 0.0:
            size = self.cell.output_size(self.units)
            recurrent_mask = self._dropout_mask([batch, size], self.recurrent_dropout, dtype)
        return Noise(recurrent_dropout_mask=recurrent_mask, seed=self.seed_generator)

    def call_weights(self) -> Weights:
        """The weights as one call reads them: cast to the compute dtype (float16 under mixed precision)."""
        cast = lambda variable: tf.cast(variable, self.compute_dtype)  # noqa: E731
        return Weights(
            kernel=cast(self.kernel),
            recurrent_kernel=cast(self.recurrent_kernel),
            bias=None if self.bias is None else cast(self.bias),
            extra={name: cast(weight) for name, weight in self.cell_weights.items()},
        )

    def _dropout_mask(self, shape, rate, dtype):
        ones = tf.ones(shape, dtype)
        return keras.random.dropout(ones, rate, seed=self.seed_generator)

    def get_config(self):
        config = super().get_config()
        config.update(
            cell=keras.saving.serialize_keras_object(self.cell),
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
            kernel_regularizer=keras.regularizers.serialize(self.kernel_regularizer),
            recurrent_regularizer=keras.regularizers.serialize(self.recurrent_regularizer),
            bias_regularizer=keras.regularizers.serialize(self.bias_regularizer),
            kernel_constraint=keras.constraints.serialize(self.kernel_constraint),
            recurrent_constraint=keras.constraints.serialize(self.recurrent_constraint),
            bias_constraint=keras.constraints.serialize(self.bias_constraint),
            zero_output_for_mask=self.zero_output_for_mask,
            stateful=self.stateful,
            seed=self.seed,
            method=self.method,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["cell"] = keras.saving.deserialize_keras_object(config["cell"])
        return cls(**config)


class _CellLayer(Recurrent):
    """A `Recurrent` whose cell is made from the layer's own arguments, saved flat (like keras.layers.LSTM)."""

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        config.update(self.cell.get_config())
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="tf_lstm")
class ScanLSTM(_CellLayer):
    """An LSTM layer written as a step function scanned over time (`tf.scan`).

    For every step (``x_t·W_x + b`` computed for all steps in one matmul
    before the scan where that is faster, as the Theano tutorial does):

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
        activation: of the candidate g and (unless `cell_activation` says
            otherwise) of c' before the output gate: Keras' and TF1's
            ``activation``, tanh above.
        recurrent_activation: of the gates i, f, o: Keras'
            ``recurrent_activation`` (e.g. ``"hard_sigmoid"``), σ above.
        cell_activation: applied to c' before the output gate: ``"same"`` (the
            default) is `activation`; ``None`` drops it (article C).
        unit_forget_bias: initialise the forget gate's bias block to 1 (Keras'
            default; here off, as in the articles); with ``use_bias=False``
            there is no bias to set, and it does nothing (as in Keras).
        use_peepholes, cell_clip: TF1's ``LSTMCell`` peephole connections
            (weights ``w_i_diag``, ``w_f_diag``, ``w_o_diag``) and clip of c.
        proj_size, proj_clip: LSTMP's projection of h to ``proj_size``
            (``projection_kernel`` ``[units, proj_size]``; PyTorch's
            ``proj_size``, TF1's ``num_proj`` and ``proj_clip``): h, the
            outputs and the recurrent kernel's rows have this size.
        coupled: the coupled input and forget gate, ``i = 1 − f`` (Greff et
            al. 2017): three weight blocks, ``f g o`` in `gate_order`'s order.
        layer_norm, layer_norm_epsilon: the layer-normalised LSTM (Ba, Kiros
            & Hinton 2016; see `tf_lstm.steps.lstm_step`).
        zoneout_h, zoneout_c: zoneout of h and c (Krueger et al. 2017): in
            training a unit keeps its previous value with this probability,
            drawn afresh every step; in inference the expectation.
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
        kernel_regularizer, recurrent_regularizer, bias_regularizer: as in Keras.
        kernel_constraint, recurrent_constraint, bias_constraint: as in Keras.
        zero_output_for_mask, stateful: as in Keras (see `Recurrent`).
        seed: seed of the dropout masks.
        method: how the recurrence runs: ``"scan"`` (`tf.scan`, the
            articles' form), ``"while"`` (`tf.while_loop` keeping only h's
            outputs), ``"unroll"`` (one graph node per step; needs a known
            sequence length), ``"manual_backward"`` (a hand-written backward pass, see
            `tf_lstm.manual_backward`), or ``"auto"`` (the default: the fastest measured
            for the situation, see `tf_lstm.scan.choose_method`). Same numbers.
        unroll, use_cudnn, implementation: `keras.layers.LSTM`'s, accepted so
            that its arguments (or its ``get_config()``) build a ScanLSTM:
            ``unroll=True`` means ``method="unroll"``; `use_cudnn` and
            `implementation` choose Keras' kernels and have no effect here.
            For a trained Keras layer with its weights, see `tf_lstm.from_keras_layer`.

    Call arguments:
        inputs: ``[batch, time, features]`` floats.
        mask: boolean ``[batch, time]``; masked steps leave h and c unchanged.
        training: whether dropout is active.
        initial_state: ``[h0, c0]``, each ``[batch, units]``; zeros if None.

    Example, and a mask carrying the state through padding:

    >>> import numpy as np, tf_lstm
    >>> layer = tf_lstm.ScanLSTM(4, return_sequences=True, return_state=True)
    >>> x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    >>> outputs, h, c = layer(x)
    >>> tuple(outputs.shape), tuple(h.shape), tuple(c.shape)
    ((2, 5, 4), (2, 4), (2, 4))
    >>> _, h_padded, _ = layer(x, mask=np.array([[True, True, False, False, False]] * 2))
    >>> _, h_short, _ = layer(x[:, :2])
    >>> bool(np.allclose(h_padded, h_short, atol=1e-6))
    True
    """

    def __init__(
        self,
        units: int,
        *,
        gate_order: str = gates.TORCH_ORDER,
        forget_bias: float = 0.0,
        activation="tanh",
        recurrent_activation="sigmoid",
        cell_activation="same",
        unit_forget_bias: bool = False,
        use_peepholes: bool = False,
        cell_clip: float | None = None,
        proj_size: int | None = None,
        proj_clip: float | None = None,
        coupled: bool = False,
        layer_norm: bool = False,
        layer_norm_epsilon: float = 1e-3,
        zoneout_h: float = 0.0,
        zoneout_c: float = 0.0,
        unroll: bool = False,
        use_cudnn: Any = "auto",
        implementation: Any = None,
        **kwargs,
    ):
        del use_cudnn, implementation  # Keras' kernel choices: one step function runs here
        if checks.boolean("unroll", unroll):
            if kwargs.get("method", "auto") not in ("auto", "unroll"):
                raise ValueError(f"unroll=True means method='unroll', got method={kwargs['method']!r} as well.")
            kwargs["method"] = "unroll"
        if isinstance(cell_activation, str) and cell_activation == "same":
            cell_activation = activation
        cell = LSTMCell(  # by keyword: the two signatures order their activations differently
            gate_order=gate_order,
            forget_bias=forget_bias,
            cell_activation=cell_activation,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_peepholes=use_peepholes,
            cell_clip=cell_clip,
            proj_size=proj_size,
            proj_clip=proj_clip,
            coupled=coupled,
            layer_norm=layer_norm,
            layer_norm_epsilon=layer_norm_epsilon,
            zoneout_h=zoneout_h,
            zoneout_c=zoneout_c,
        )
        super().__init__(cell, units, **kwargs)
        cell.state_sizes(self.units)  # proj_size < units, checked now rather than at build
        self.unit_forget_bias = checks.boolean("unit_forget_bias", unit_forget_bias)

    def initial_bias(self, shape, dtype=None):
        bias = super().initial_bias(shape, dtype)
        if not self.unit_forget_bias:
            return bias
        forget = self.gate_positions["f"] * self.units
        return tf.concat([bias[:forget], tf.ones([self.units], bias.dtype), bias[forget + self.units :]], axis=0)

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}

    gate_order = property(lambda self: self.cell.gate_order)
    gate_positions = property(lambda self: self.cell.gate_positions)
    forget_bias = property(lambda self: self.cell.forget_bias)
    cell_activation = property(lambda self: self.cell.cell_activation)
    activation = property(lambda self: self.cell.activation)
    recurrent_activation = property(lambda self: self.cell.recurrent_activation)
    use_peepholes = property(lambda self: self.cell.use_peepholes)
    cell_clip = property(lambda self: self.cell.cell_clip)
    proj_size = property(lambda self: self.cell.proj_size)
    proj_clip = property(lambda self: self.cell.proj_clip)
    coupled = property(lambda self: self.cell.coupled)
    layer_norm = property(lambda self: self.cell.layer_norm)
    zoneout_h = property(lambda self: self.cell.zoneout_h)
    zoneout_c = property(lambda self: self.cell.zoneout_c)


@keras.saving.register_keras_serializable(package="tf_lstm")
class ScanRNN(_CellLayer):
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
        return_sequences, return_state, go_backwards, time_major: as in `ScanLSTM`; the state is ``[s]``.
        dropout, recurrent_dropout, seed, method: as in `ScanLSTM`.
    """

    def __init__(
        self,
        units: int,
        *,
        activation: str | None = None,
        use_bias: bool = False,
        **kwargs,
    ):
        super().__init__(LinearRNNCell(activation), units, use_bias=use_bias, **kwargs)

    activation = property(lambda self: self.cell.activation)
