"""`check_layer`: what every tf_lstm layer must do, in the spirit of Keras' ``run_layer_test``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tests.tolerance import EPS16, assert_close_f32, magnitude_of, statistical_tolerance
from tf_lstm.export import export_saved_model


def check_layer(
    make: Callable[[], keras.layers.Layer],
    x: np.ndarray,
    expected_shapes: list[tuple[int, ...]],
    tmp_path: Path,
    *,
    weights: int,
    terms: int,
    non_trainable: int = 0,
) -> None:
    """Checks a layer made by `make` on inputs `x`.

    Its outputs have `expected_shapes` (flattened, in order) and those
    `compute_output_shape` gives; it has `weights` trainable weights and
    `non_trainable` others (a stateful layer's state), each its own name;
    ``from_config(get_config())`` gives the same config; an all-True mask
    changes nothing where it is supported; under the ``mixed_float16`` policy
    it computes in float16 with float32 weights, the float32 outputs to
    float16's rounding; one training step gives every trainable weight a
    finite gradient, not all zero, and lowers the loss; a model of it, trained,
    saved as ``.keras`` (safe mode) and exported as a SavedModel computes the
    same outputs to eps32 × `terms` (a reload computes them with other
    kernels, in another order). A stateful layer starts each comparison from
    zeros (`reset_state`).
    """
    layer = make()
    outputs = [np.asarray(o) for o in tf.nest.flatten(layer(x))]
    assert [o.shape for o in outputs] == expected_shapes
    assert [tuple(s) for s in _shapes(layer.compute_output_shape(x.shape))] == expected_shapes
    assert len(layer.trainable_weights) == weights and len(layer.non_trainable_weights) == non_trainable
    assert len({w.path for w in layer.weights}) == len(layer.weights)

    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config

    if layer.supports_masking:
        _reset(layer)
        masked = tf.nest.flatten(layer(x, mask=np.ones(x.shape[:2], bool)))
        for got, expected in zip(masked, outputs):
            assert_close_f32(got, expected, terms)

    _check_mixed_precision(make, layer, x, outputs, terms)
    batch = x.shape[0] if getattr(layer, "stateful", False) else None
    inputs = keras.Input(x.shape[1:], batch_size=batch)
    model = keras.Model(inputs, tf.nest.flatten(layer(inputs)))
    _check_training_step(model, x)
    _reset(model)
    expected = [np.asarray(o) for o in tf.nest.flatten(model(x))]
    model.save(tmp_path / "layer.keras")
    loaded = keras.saving.load_model(tmp_path / "layer.keras", safe_mode=True)
    _reset(loaded)
    for got, want in zip(tf.nest.flatten(loaded(x)), expected):
        assert_close_f32(got, want, terms)
    assert loaded.layers[1].get_config() == model.layers[1].get_config()

    _reset(model)
    export_saved_model(model, tmp_path / "exported")
    serve = tf.saved_model.load(str(tmp_path / "exported")).signatures["serving_default"]
    served = serve(tf.constant(x))
    for got, want in zip([served[k] for k in sorted(served, key=_output_index)], expected):
        assert_close_f32(got, want, terms)


def _reset(layer_or_model: keras.layers.Layer) -> None:
    """Every stateful layer in it back to zeros, so that a call starts afresh."""
    for inner in [layer_or_model, *layer_or_model._flatten_layers(include_self=False)]:
        if getattr(inner, "stateful", False):
            inner.reset_state()


def _check_mixed_precision(make, layer, x, outputs, terms) -> None:
    """Under ``mixed_float16``: float32 weights, float16 outputs, the float32 layer's outputs to float16's
    rounding (six standard deviations of `terms` roundings of eps16/2 of the outputs' size, at least 1)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        mixed = make()
        mixed.build(x.shape)
    finally:
        keras.config.set_dtype_policy(previous)
    mixed.set_weights(layer.get_weights())
    _reset(layer)
    _reset(mixed)
    assert all(w.dtype == "float32" for w in mixed.weights)
    got = tf.nest.flatten(mixed(x))
    for g, want in zip(got, outputs):
        assert g.dtype == tf.float16 or not np.size(want)
        bound = statistical_tolerance(terms, magnitude_of(want), eps=EPS16)
        np.testing.assert_allclose(np.asarray(g, np.float64), want, rtol=0, atol=bound)


def _check_training_step(model: keras.Model, x) -> None:
    """Training mode gives every trainable weight a finite gradient; an SGD step on the inference loss (the sum
    of the squared outputs: deterministic, unlike dropout's) has gradients not all zero and lowers that loss."""
    if not model.trainable_weights:
        return
    for weight in model.trainable_weights:  # the optimizer applies them after its step: start inside them
        if weight.constraint is not None:
            weight.assign(weight.constraint(weight))

    def loss(training):
        _reset(model)
        return sum(tf.reduce_sum(tf.cast(o, tf.float32) ** 2) for o in tf.nest.flatten(model(x, training=training)))

    with tf.GradientTape(persistent=True) as tape:
        in_training, before = loss(True), loss(False)
    for weight, gradient in zip(model.trainable_weights, tape.gradient(in_training, model.trainable_weights)):
        assert gradient is not None and np.all(np.isfinite(gradient)), weight.path
    gradients = tape.gradient(before, model.trainable_weights)
    for weight, gradient in zip(model.trainable_weights, gradients):
        assert np.any(np.asarray(gradient) != 0), weight.path
    keras.optimizers.SGD(1e-3).apply_gradients(zip(gradients, model.trainable_weights))
    assert float(loss(False)) < float(before)


def _shapes(shape):
    """The shapes in a possibly nested `compute_output_shape` result."""
    if isinstance(shape, (tuple, list)) and shape and all(isinstance(d, (int, type(None))) for d in shape):
        return [shape]
    if isinstance(shape, (tuple, list)) and not shape:
        return [()]
    return [s for part in shape for s in _shapes(part)]


def _output_index(name: str) -> int:
    """Serving outputs are named ``output_0``, ``output_1``, ...: their order."""
    return int(name.rsplit("_", 1)[-1]) if name.rsplit("_", 1)[-1].isdigit() else 0


def assert_gradients_match_finite_differences(layer: keras.layers.Layer, loss: Callable[[], tf.Tensor]) -> None:
    """The autodiff gradient of `loss` (a float64 function of `layer`'s weights) equals central differences.

    float64 central differences with a step of 1e-6: truncation eps² × the
    third derivative ~ 1e-12, cancellation eps64 × |loss| / eps ~ 2e-9 for a
    loss of size <= 10, so 1e-8 absolute (and 1e-6 relative) holds.
    """
    with tf.GradientTape() as tape:
        value = loss()
    analytic = tape.gradient(value, layer.trainable_variables)
    eps = 1e-6
    for variable, grad in zip(layer.trainable_variables, analytic):
        base = variable.numpy()
        numeric = np.zeros_like(base)
        for index in np.ndindex(base.shape):
            shifted = base.copy()
            shifted[index] += eps
            variable.assign(shifted)
            up = loss().numpy()
            shifted[index] -= 2 * eps
            variable.assign(shifted)
            down = loss().numpy()
            numeric[index] = (up - down) / (2 * eps)
        variable.assign(base)
        np.testing.assert_allclose(grad.numpy(), numeric, rtol=1e-6, atol=1e-8, err_msg=variable.path)


def scan_lstm_reference(layer, x: np.ndarray, **kwargs):
    """`tf_lstm.reference.lstm_reference` with `layer`'s weights and every one of its options (a built ScanLSTM)."""
    from tf_lstm.reference import lstm_reference

    weights = {name: w.numpy() for name, w in layer.cell_weights.items()}
    peepholes = tuple(weights[f"w_{g}_diag"] for g in "ifo") if layer.use_peepholes else None
    return lstm_reference(
        x,
        layer.kernel.numpy(),
        layer.recurrent_kernel.numpy(),
        None if layer.bias is None else layer.bias.numpy(),
        gate_order=layer.gate_order,
        forget_bias=layer.forget_bias,
        peepholes=peepholes,
        cell_clip=layer.cell_clip,
        projection=weights.get("projection_kernel"),
        proj_clip=layer.proj_clip,
        coupled=layer.coupled,
        layer_norm=weights if layer.layer_norm else None,
        layer_norm_epsilon=layer.cell.layer_norm_epsilon,
        zoneout=(layer.zoneout_h, layer.zoneout_c),
        **kwargs,
    )
