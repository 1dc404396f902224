"""The cell protocol: what a recurrence declares to run under `tf_lstm.Recurrent`.

A cell is the equations of one time step and nothing else. The layer
(`tf_lstm.Recurrent`) owns everything around it: the weights, input checks,
masks, dropout, the initial state, the loop over time and the choice of how
to run it. To add a recurrence, subclass `Cell` and declare:

- ``blocks``: how many ``units``-wide blocks the fused weights have. The layer
  creates ``kernel`` ``W_x`` ``[features, blocks·units]``, ``recurrent_kernel``
  ``W_h`` ``[units, blocks·units]`` and ``bias`` ``b`` ``[blocks·units]``.
- ``state_names``: the names of the carried tensors, each ``[batch, units]``
  unless ``state_sizes(units)`` says otherwise; the first is the step's output
  (``h``), and its size (``output_size(units)``) is the recurrent kernel's
  rows: ``W_h`` is ``[output_size, blocks·units]``.
- optionally ``extra_weights(units)``: more weights, ``{name: (shape,
  initializer)}`` (peepholes, a projection, layer-norm gains); the layer makes
  them and hands them to ``step`` in ``given.extra`` under those names.
- ``step(carry, projected_t, given)``: ``projected_t`` is ``x_t·W_x + b``
  (``[batch, blocks·units]``, for every step at once before the loop or
  step by step, as the layer plans), ``given`` a `StepInputs` (``given.recurrent(h)`` is
  ``h·W_h``, recurrent dropout included); returns ``(new_carry, values)``,
  where ``values`` maps names to ``[batch, units]``-shaped (or wider) tensors
  the step computed on the way (Flax's ``(carry, y)``): the LSTM's gates, for
  `tf_lstm.scan_rnn`'s ``collect``. They cost nothing unless collected.
- optionally ``fuses_input_matmul = True``: the step may then be given
  ``given.inputs_t``, the raw ``x_t``, and computes ``[x_t, h]·W`` in one
  matmul, ``W`` the stacked ``[W_x; W_h]`` given as ``recurrent_kernel`` and
  ``projected_t`` just ``b`` (the articles' fused matmul over ``[x, h]``). The
  layer does so where the projection is not done before the loop (inference
  under XLA).
- optionally ``sequence_runner(...)``: a whole-sequence function with its own
  backward pass, run by ``method="manual_backward"``, with ``missing_sequence_runner()``
  saying why there is none for the cell's options (``method="auto"`` then
  falls back to a loop, and ``method="manual_backward"`` is refused when the layer is
  made, with that reason).
- ``get_config()``: the constructor's arguments, for saving (register the
  class with ``keras.saving.register_keras_serializable``).

A cell with two blocks, a gated update ``h' = u⊙h + (1−u)⊙tanh(z_n)``:

>>> import tensorflow as tf, tf_lstm
>>> class GatedCell(tf_lstm.Cell):
...     blocks, state_names = 2, ("h",)
...     def step(self, carry, projected_t, given):
...         (h,) = carry
...         z_u, z_n = tf.split(projected_t + given.recurrent(h), 2, axis=-1)
...         u = tf.sigmoid(z_u)
...         return (u * h + (1 - u) * tf.tanh(z_n),), {"u": u}
>>> layer = tf_lstm.Recurrent(GatedCell(), 3, return_sequences=True)
>>> tuple(layer(tf.ones([2, 5, 4])).shape)
(2, 5, 3)
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping
from typing import Any, cast

import keras
import tensorflow as tf

from tf_lstm import checks, gates
from tf_lstm.manual_backward import lstm_sequence
from tf_lstm.steps import Carry, dropped, linear_rnn_step, lstm_step

StepResult = tuple[Carry, dict[str, tf.Tensor]]


def activation_or_none(name: str, value: Any) -> Callable[[tf.Tensor], tf.Tensor] | None:
    """`keras.activations.get(value)`, or None; a TypeError or ValueError naming `name` otherwise."""
    if value is None:
        return None
    if not isinstance(value, str) and not callable(value):
        raise TypeError(f"{name} must be None, a name or a callable, got {name}={value!r}.")
    try:
        return keras.activations.get(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{name} must be None or a Keras activation, got {name}={value!r}.") from error


def _activation(name: str, value: Any) -> Callable[[tf.Tensor], tf.Tensor]:
    """A Keras activation that must be there (None is refused: a gate needs one)."""
    if value is None:
        raise ValueError(f"{name} must be a Keras activation, got {name}=None.")
    return cast(Callable[[tf.Tensor], tf.Tensor], activation_or_none(name, value))  # not None: checked above


def _positive(name: str, value: Any) -> float:
    number = checks.number(name, value)
    if not number > 0:
        raise ValueError(f"{name} must be positive (or None), got {name}={value!r}.")
    return number


def serialize_activation(fn: Callable[[tf.Tensor], tf.Tensor] | None) -> Any:
    return None if fn is None else keras.activations.serialize(fn)


@dataclasses.dataclass(frozen=True)
class StepInputs:
    """What `tf_lstm.Recurrent` hands a cell's step beside the carry and ``x_t·W_x + b``: the recurrent weights in
    the layout the plan chose, and this step's masks and raw inputs where the cell asks for them.

    Built by the layer for each step, in the layer's compute dtype.

    Attributes:
        recurrent_kernel: ``W_h``, ``[output_size, blocks·units]``; the
            stacked ``[W_x; W_h]`` when `inputs_t` is given.
        recurrent_dropout_mask: ``[batch, output_size]``, multiplied into h
            before the recurrent matmul in training; None otherwise.
        bias: ``b``, given only to a cell whose ``bias_in_step`` is True (its
            ``projected_t`` is then ``x_t·W_x`` alone); None otherwise.
        extra: the cell's `Cell.extra_weights`, by the names it declared.
        noise: this step's masks of `Cell.step_noise`, by the names the cell
            declared; empty outside training.
        inputs_t: the raw ``x_t``, given only to a cell whose
            ``fuses_input_matmul`` is True, where the layer fuses the matmuls.
    """

    recurrent_kernel: tf.Tensor
    recurrent_dropout_mask: tf.Tensor | None = None
    bias: tf.Tensor | None = None
    extra: Mapping[str, tf.Tensor] = dataclasses.field(default_factory=dict)
    noise: Mapping[str, tf.Tensor] = dataclasses.field(default_factory=dict)
    inputs_t: tf.Tensor | None = None

    def recurrent(self, h: tf.Tensor) -> tf.Tensor:
        """``h·W_h``, h first multiplied by the recurrent dropout mask when there is one."""
        return tf.matmul(dropped(h, self.recurrent_dropout_mask), self.recurrent_kernel)


class Cell:
    """Base class of the cells run by `tf_lstm.Recurrent` (see the module for the protocol)."""

    blocks: int = 1
    state_names: tuple[str, ...] = ("h",)
    # True: the layer projects x·W_x without the bias and passes `bias` to the step (which adds it after
    # normalising, say); False: the step's projected_t already holds x·W_x + b.
    bias_in_step: bool = False
    # True: `step` takes `inputs_t` (see the module); the layer then runs one matmul a step where it would run two.
    fuses_input_matmul: bool = False

    def state_sizes(self, units: int) -> tuple[int, ...]:
        """The size of each state tensor for a layer of `units` (the first is the output, h)."""
        return (units,) * len(self.state_names)

    def output_size(self, units: int) -> int:
        """The size of the output h: the rows of the recurrent kernel."""
        return self.state_sizes(units)[0]

    def extra_weights(self, units: int) -> dict[str, tuple[tuple[int, ...], Any]]:
        """Weights beyond ``kernel``, ``recurrent_kernel`` and ``bias``: ``{name: (shape, initializer)}``.

        The layer makes them (trainable, named as given) and hands them to
        `step` as ``given.extra``.
        """
        return {}

    def step_noise(self, units: int) -> dict[str, tuple[float, int]]:
        """Fresh random masks the step takes in training, ``{name: (rate, size)}``.

        Each step gets its own ``[batch, size]`` floats, 1 with probability
        ``rate``, as ``given.noise[name]``; outside training there are none.
        """
        return {}

    def step(self, carry: Carry, projected_t: tf.Tensor, given: StepInputs) -> StepResult:
        """One time step: ``(carry, x_t·W_x + b, given) -> (new_carry, values)``.

        Args:
            carry: the state tensors, in `state_names`' order, each ``[batch, size]``.
            projected_t: ``[batch, blocks·units]``, this step's ``x_t·W_x + b``
                (without ``b`` if `bias_in_step`; just ``b`` if
                ``given.inputs_t`` is given).
            given: the recurrent kernel and everything else the step reads.

        Returns:
            ``(new_carry, values)``: the new state (its first tensor is the
            step's output) and named per-step tensors for whoever looks inside.
        """
        raise NotImplementedError(f"{type(self).__name__} must define step().")

    def sequence_runner(
        self,
        *,
        kernel: tf.Tensor,
        bias: tf.Tensor | None,
        recurrent_kernel: tf.Tensor,
        recurrent_dropout_mask: tf.Tensor | None,
    ) -> Callable | None:
        """A whole-sequence function with its own gradient, or None (the default: none).

        It is called as ``runner(inputs, mask, initial_carry,
        return_sequences=…)`` with raw time-major inputs ``[T, B, F]`` (it
        projects them itself), a time-major mask or None, and returns
        ``(outputs [T, B, units] or None, final_carry)``.
        """
        return None

    def missing_sequence_runner(self) -> str | None:
        """Why `sequence_runner` gives no runner for this cell's options, or None if it gives one."""
        return f"{type(self).__name__} has no sequence runner"

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments, for saving the layer that runs the cell."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Cell:
        """The cell `get_config` describes."""
        return cls(**config)


@keras.saving.register_keras_serializable(package="tf_lstm")
class LSTMCell(Cell):
    """The LSTM of `tf_lstm.steps.lstm_step`, with the fused weights' blocks in `gate_order`.

    Args:
        gate_order: any permutation of ``i f g o`` (the candidate may be written
            ``j``, ``z`` or ``c``); see `tf_lstm.gates`.
        forget_bias: a constant added to the forget gate's pre-activation.
        cell_activation: applied to c' before the output gate; None drops it.
        activation: of the candidate g (Keras' and TF1's ``activation``).
        recurrent_activation: of the gates i, f, o (Keras'
            ``recurrent_activation``, e.g. ``"hard_sigmoid"``).
        use_peepholes: the gates also read the cell state through diagonal
            weights ``w_i_diag``, ``w_f_diag``, ``w_o_diag`` (TF1's
            ``LSTMCell(use_peepholes=True)``; see `tf_lstm.steps.lstm_step`).
        cell_clip: clip c' to ``[-cell_clip, cell_clip]`` (TF1), or None.
        proj_size: project h to this size with ``projection_kernel`` ``[units,
            proj_size]`` (LSTMP; PyTorch's ``proj_size``, TF1's ``num_proj``),
            smaller than units; h and the recurrent kernel's rows have this size.
        proj_clip: clip the projected h (TF1), or None; needs proj_size.
        coupled: the coupled input and forget gate (CIFG, Greff et al. 2017):
            ``i = 1 − f``; the weights have three blocks, ``f``, ``g``, ``o``
            in `gate_order`'s order without ``i``.
        layer_norm: layer normalisation (Ba, Kiros & Hinton 2016) of the input
            and recurrent pre-activations and of c before the output
            activation, with gains ``ln_*_gamma`` (ones) and shifts
            ``ln_*_beta`` (zeros) for ``x``, ``h`` and ``c``; the bias is added
            after the normalisation.
        layer_norm_epsilon: added to the variance.
        zoneout_h, zoneout_c: zoneout (Krueger et al. 2017): in training,
            each unit of h (of c) keeps its previous value with this
            probability, a fresh draw every step; in inference, the
            expectation ``z·previous + (1 − z)·new``.

    Its sequence runner (`tf_lstm.manual_backward.lstm_sequence`) exists for
    ``cell_activation`` tanh or None with the default tanh and sigmoid, and
    none of peepholes, clip and projection.
    """

    blocks = 4
    state_names = ("h", "c")

    def __init__(
        self,
        gate_order: str = gates.TORCH_ORDER,
        forget_bias: float = 0.0,
        cell_activation: Any = "tanh",
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_peepholes: bool = False,
        cell_clip: float | None = None,
        proj_size: int | None = None,
        proj_clip: float | None = None,
        coupled: bool = False,
        layer_norm: bool = False,
        layer_norm_epsilon: float = 1e-3,
        zoneout_h: float = 0.0,
        zoneout_c: float = 0.0,
    ):
        self.gate_order = gate_order
        self.zoneout_h = checks.rate("zoneout_h", zoneout_h)
        self.zoneout_c = checks.rate("zoneout_c", zoneout_c)
        self.coupled = checks.boolean("coupled", coupled)
        positions = gates.gate_positions(gate_order)
        if self.coupled:  # the remaining three blocks, in gate_order's order
            kept = sorted((p, gate) for gate, p in positions.items() if gate != "i")
            positions = {gate: k for k, (_, gate) in enumerate(kept)}
        self.gate_positions = positions
        self.blocks = len(positions)
        self.layer_norm = checks.boolean("layer_norm", layer_norm)
        self.fuses_input_matmul = not self.layer_norm  # layer norm normalises x·W_x and h·W_h apart
        self.layer_norm_epsilon = _positive("layer_norm_epsilon", layer_norm_epsilon)
        self.bias_in_step = self.layer_norm
        self.forget_bias = checks.number("forget_bias", forget_bias)
        self.activation = _activation("activation", activation)
        self.recurrent_activation = _activation("recurrent_activation", recurrent_activation)
        self.cell_activation = activation_or_none("cell_activation", cell_activation)
        self.use_peepholes = checks.boolean("use_peepholes", use_peepholes)
        self.cell_clip = None if cell_clip is None else _positive("cell_clip", cell_clip)
        self.proj_size = None if proj_size is None else checks.positive_int("proj_size", proj_size)
        self.proj_clip = None if proj_clip is None else _positive("proj_clip", proj_clip)
        if self.proj_clip is not None and self.proj_size is None:
            raise ValueError(f"proj_clip={proj_clip!r} clips the projection, but proj_size=None makes none.")
        if self.use_peepholes and self.coupled:
            raise ValueError("use_peepholes=True needs the input gate's peephole, but coupled=True has no input gate.")

    def state_sizes(self, units):
        if self.proj_size is not None and self.proj_size >= units:
            raise ValueError(
                f"proj_size must be smaller than units (PyTorch's rule: a projection reduces h), "
                f"got proj_size={self.proj_size} with units={units}."
            )
        return (self.proj_size or units, units)

    def extra_weights(self, units):
        weights: dict[str, tuple[tuple[int, ...], Any]] = {}
        if self.use_peepholes:
            weights.update({name: ((units,), "glorot_uniform") for name in ("w_i_diag", "w_f_diag", "w_o_diag")})
        if self.proj_size is not None:
            weights["projection_kernel"] = ((units, self.proj_size), "glorot_uniform")
        if self.layer_norm:
            for name, size in (("ln_x", self.blocks * units), ("ln_h", self.blocks * units), ("ln_c", units)):
                weights[f"{name}_gamma"] = ((size,), "ones")
                weights[f"{name}_beta"] = ((size,), "zeros")
        return weights

    def step_noise(self, units):
        noise = {}
        if self.zoneout_h:
            noise["zoneout_h_mask"] = (self.zoneout_h, self.output_size(units))
        if self.zoneout_c:
            noise["zoneout_c_mask"] = (self.zoneout_c, units)
        return noise

    def step(self, carry, projected_t, given):
        zoneout = None
        if self.zoneout_h or self.zoneout_c:
            # In training each kept unit's mask is 1; in inference the expectation: the rate itself.
            noise = given.noise
            zoneout = (noise.get("zoneout_h_mask", self.zoneout_h), noise.get("zoneout_c_mask", self.zoneout_c))
        extra = given.extra
        peepholes = (extra["w_i_diag"], extra["w_f_diag"], extra["w_o_diag"]) if self.use_peepholes else None
        return lstm_step(
            carry,
            projected_t,
            recurrent_kernel=given.recurrent_kernel,
            gate_positions=self.gate_positions,
            forget_bias=self.forget_bias,
            cell_activation=self.cell_activation,
            gate_activation=self.recurrent_activation,
            candidate_activation=self.activation,
            peepholes=peepholes,
            cell_clip=self.cell_clip,
            projection=extra.get("projection_kernel"),
            proj_clip=self.proj_clip,
            layer_norm=extra if self.layer_norm else None,
            layer_norm_epsilon=self.layer_norm_epsilon,
            bias=given.bias,
            zoneout=zoneout,
            recurrent_dropout_mask=given.recurrent_dropout_mask,
            inputs_t=given.inputs_t,
        )

    def missing_sequence_runner(self):
        extras = [
            name
            for name, value in (
                ("use_peepholes", self.use_peepholes),
                ("cell_clip", self.cell_clip),
                ("proj_size", self.proj_size),
                ("coupled", self.coupled),
                ("layer_norm", self.layer_norm),
                ("zoneout", self.zoneout_h or self.zoneout_c),
            )
            if value
        ]
        if extras:
            return f"its backward pass is written for the plain LSTM, without {', '.join(extras)}"
        if self.cell_activation not in (None, keras.activations.tanh):
            return (
                "its backward pass is written for cell_activation='tanh' or None only, got "
                f"cell_activation={serialize_activation(self.cell_activation)!r}"
            )
        if self.activation is not keras.activations.tanh or self.recurrent_activation is not keras.activations.sigmoid:
            return (
                "its backward pass is written for activation='tanh' and recurrent_activation='sigmoid' only, got "
                f"activation={serialize_activation(self.activation)!r}, "
                f"recurrent_activation={serialize_activation(self.recurrent_activation)!r}"
            )
        return None

    def sequence_runner(self, *, kernel, bias, recurrent_kernel, recurrent_dropout_mask):
        if self.missing_sequence_runner() is not None:
            return None

        def runner(inputs, mask, initial_carry, *, return_sequences):
            return lstm_sequence(
                inputs,
                mask,
                initial_carry,
                kernel=kernel,
                bias=bias,
                recurrent_kernel=recurrent_kernel,
                gate_positions=self.gate_positions,
                forget_bias=self.forget_bias,
                tanh_cell=self.cell_activation is not None,
                recurrent_dropout_mask=recurrent_dropout_mask,
                return_sequences=return_sequences,
            )

        return runner

    def get_config(self):
        return {
            "gate_order": self.gate_order,
            "forget_bias": self.forget_bias,
            "cell_activation": serialize_activation(self.cell_activation),
            "activation": serialize_activation(self.activation),
            "recurrent_activation": serialize_activation(self.recurrent_activation),
            "use_peepholes": self.use_peepholes,
            "cell_clip": self.cell_clip,
            "proj_size": self.proj_size,
            "proj_clip": self.proj_clip,
            "coupled": self.coupled,
            "layer_norm": self.layer_norm,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "zoneout_h": self.zoneout_h,
            "zoneout_c": self.zoneout_c,
        }


@keras.saving.register_keras_serializable(package="tf_lstm")
class LinearRNNCell(Cell):
    """The linear RNN of article B, ``s' = act(x_t·W_x + b + s·W_rec)`` (no activation by default)."""

    blocks = 1
    state_names = ("s",)

    def __init__(self, activation: Any = None):
        self.activation = activation_or_none("activation", activation)

    def step(self, carry, projected_t, given):
        return linear_rnn_step(
            carry,
            projected_t,
            recurrent_kernel=given.recurrent_kernel,
            activation=self.activation,
            recurrent_dropout_mask=given.recurrent_dropout_mask,
        )

    def get_config(self):
        return {"activation": serialize_activation(self.activation)}


def __getattr__(name: str) -> Any:
    """``StepWeights``, the earlier name of `StepInputs`, still works, with a `DeprecationWarning`."""
    if name == "StepWeights":
        warnings.warn(
            "tf_lstm.StepWeights is named tf_lstm.StepInputs; StepWeights will be removed.", DeprecationWarning, 2
        )
        return StepInputs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
