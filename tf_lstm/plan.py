"""How one call of `tf_lstm.Recurrent` runs its cell: the plan, and the run.

The layer owns the weights and the call's bookkeeping (checks, state, the
outputs' layout); this module decides how the recurrence runs and runs it:

- `make_plan`: the method (`tf_lstm.scan.choose_method`), whether every
  step's ``x_t·W_x + b`` is computed before the loop ("hoisted"), and whether
  the step multiplies ``[x_t, h]`` in one matmul ("fused");
- `run_cell`: the step function around the cell's `tf_lstm.Cell.step`, with
  the per-step tensors riding along with the inputs (probes, zoneout's
  masks), run by `tf_lstm.scan_rnn`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import keras
import tensorflow as tf

from tf_lstm import checks
from tf_lstm.cells import Cell, StepInputs
from tf_lstm.scan import METHODS, choose_method, in_xla_context, method_name, scan_rnn
from tf_lstm.steps import Weights, project

# Inputs up to this share of the units join h in one matmul a step where the projection is not hoisted: below
# it the one wider matmul beats two, above it the concatenation costs more than it saves (benchmarks.lstm_speed).
FUSED_MATMUL_MAX_FEATURES = 0.5


METHOD_CHOICES = ("auto", *METHODS)


def check_method(cell: Cell, method: str) -> str:
    """`method` (an earlier name mapped to its name, with a warning) if it is one of `METHOD_CHOICES` and `cell`
    can run it; a ValueError naming it otherwise."""
    method = method_name(method)
    checks.one_of("method", method, METHOD_CHOICES)
    if method == "manual_backward" and (reason := cell.missing_sequence_runner()) is not None:
        raise ValueError(f"method='manual_backward' needs the cell's sequence runner: {reason}; use method='scan'.")
    return method


@dataclasses.dataclass(frozen=True)
class Plan:
    """How one call runs.

    Attributes:
        method: ``"scan"``, ``"while"``, ``"unroll"`` or ``"manual_backward"``.
        hoist: every step's ``x_t·W_x + b`` is computed before the loop, in one matmul.
        fused: each step computes ``[x_t, h]·[W_x; W_h]`` in one matmul.
    """

    method: str
    hoist: bool
    fused: bool


def make_plan(
    cell: Cell, units: int, input_size: int | None, method: str, *, steps, training: bool, per_step: bool
) -> Plan:
    """The plan for a call: `method` as set on the layer (``"auto"`` or one of them), `steps` if known.

    Not hoisted for inference (under XLA), the step runs one matmul over
    ``[x_t, h]`` where the cell can and the inputs are narrow next to h.
    Training keeps two: the concatenation's gradient is one more split a step.
    """
    chosen, hoist = choose_method(
        method,
        steps=steps,
        training=training,
        xla=in_xla_context(),
        has_runner=cell.missing_sequence_runner() is None,
        per_step=per_step,
    )
    fused = (
        not training
        and not hoist
        and chosen != "manual_backward"
        and cell.fuses_input_matmul
        and input_size is not None
        and input_size <= FUSED_MATMUL_MAX_FEATURES * units
    )
    return Plan(chosen, hoist, fused)


@dataclasses.dataclass(frozen=True)
class Noise:
    """A training call's randomness.

    Attributes:
        recurrent_dropout_mask: ``[batch, output size]``, multiplied into h
            before ``·W_h`` at every step, or None.
        seed: draws the cell's per-step masks (`tf_lstm.Cell.step_noise`,
            zoneout's), or None.
    """

    recurrent_dropout_mask: tf.Tensor | None = None
    seed: keras.random.SeedGenerator | None = None


@dataclasses.dataclass(frozen=True)
class Readout:
    """The layer's options on the order of the steps and what the run returns, as `tf_lstm.scan_rnn` takes
    them."""

    go_backwards: bool = False
    zero_output_for_mask: bool = False
    return_sequences: bool = True


def run_cell(
    cell: Cell,
    units: int,
    plan: Plan,
    weights: Weights,
    inputs: tf.Tensor,
    initial_carry: tuple[tf.Tensor, ...],
    *,
    mask: tf.Tensor | None,
    noise: Noise,
    probes: tf.Tensor | None,
    collect: Mapping[str, int | str] | None,
    readout: Readout,
):
    """Runs `cell` over time-major `inputs` ``[time, batch, features]`` by `plan`; `tf_lstm.scan_rnn`'s result.

    `noise`: ``Noise()`` outside training. `probes`: see `tf_lstm.Recurrent.run`.
    """
    bias, step_bias = weights.bias, None
    if cell.bias_in_step:  # the step adds it (after normalising): the projection leaves it out
        bias, step_bias = None, weights.bias
    step_inputs = project(inputs, weights.kernel, bias) if plan.hoist else inputs
    riders = _riders(cell, units, step_inputs, probes, noise.seed)
    widths = [step_inputs.shape[-1], *(rider.shape[-1] for rider in riders.values())]
    if riders:
        step_inputs = tf.concat([step_inputs, *riders.values()], axis=-1)
    given = StepInputs(
        recurrent_kernel=weights.recurrent_kernel,
        recurrent_dropout_mask=noise.recurrent_dropout_mask,
        bias=step_bias,
        extra=weights.extra,
    )
    if plan.fused:
        given = dataclasses.replace(given, recurrent_kernel=tf.concat([weights.kernel, weights.recurrent_kernel], 0))
    step = _step_function(cell, units, plan, given, weights.kernel, bias, riders=list(riders), widths=widths)
    runner = None
    if plan.method == "manual_backward":
        runner = cell.sequence_runner(
            kernel=weights.kernel,
            bias=weights.bias,
            recurrent_kernel=weights.recurrent_kernel,
            recurrent_dropout_mask=noise.recurrent_dropout_mask,
        )
    return scan_rnn(
        step,
        step_inputs,
        initial_carry,
        mask=mask,
        go_backwards=readout.go_backwards,
        time_major=True,
        zero_output_for_mask=readout.zero_output_for_mask,
        return_sequences=readout.return_sequences or bool(collect),
        method=plan.method,
        runner=runner,
        collect=collect,
    )


def _step_function(cell: Cell, units: int, plan: Plan, given: StepInputs, kernel, bias, *, riders, widths):
    """The ``(carry, x_t) -> (new_carry, values)`` that `tf_lstm.scan_rnn` runs: the cell's step, given its
    share of the input projection (by `plan`) and its `StepInputs`, with the riders split off ``x_t``."""
    sizes = list(cell.state_sizes(units))

    def step(carry, x_t):
        x_t, *parts = tf.split(x_t, widths, axis=-1) if riders else (x_t,)
        per_step = dict(zip(riders, parts))
        probe_t = per_step.pop("probes", None)
        if plan.fused:
            projected_t = tf.zeros([], x_t.dtype) if bias is None else bias
            step_inputs = dataclasses.replace(given, noise=per_step, inputs_t=x_t)
        else:
            projected_t = x_t if plan.hoist else project(x_t, kernel, bias)
            step_inputs = dataclasses.replace(given, noise=per_step)
        new_carry, values = cell.step(carry, projected_t, step_inputs)
        if probe_t is not None:
            new_carry = tuple(s + p for s, p in zip(new_carry, tf.split(probe_t, sizes, axis=-1)))
        return new_carry, values

    return step


def _riders(cell: Cell, units: int, step_inputs: tf.Tensor, probes, noise_seed) -> dict[str, tf.Tensor]:
    """Per-step tensors that ride along with each step's inputs, so they follow them through reversal and masks:
    the probes, and the cell's fresh random masks of every step (zoneout), in training only."""
    riders = {} if probes is None else {"probes": tf.cast(probes, step_inputs.dtype)}
    if noise_seed is not None:
        steps, batch = tf.shape(step_inputs)[0], tf.shape(step_inputs)[1]
        for name, (rate, size) in cell.step_noise(units).items():
            draws = keras.random.uniform([steps, batch, size], seed=noise_seed)
            riders[name] = tf.cast(draws < rate, step_inputs.dtype)
    return riders
