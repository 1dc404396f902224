"""`check_layer`: what every tf_lstm layer must do, in the spirit of Keras' ``run_layer_test``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tests.tolerance import assert_close_f32
from tf_lstm.export import export_saved_model


def check_layer(
    make: Callable[[], keras.layers.Layer],
    x: np.ndarray,
    expected_shapes: list[tuple[int, ...]],
    tmp_path: Path,
    *,
    weights: int,
    terms: int,
) -> None:
    """Checks a layer made by `make` on inputs `x`.

    Its outputs have `expected_shapes` (flattened, in order) and those
    `compute_output_shape` gives; it has `weights` weights, all trainable, each
    its own name;
    ``from_config(get_config())`` gives the same config; a model of it saved
    as ``.keras`` (safe mode) and exported as a SavedModel computes the same
    outputs to eps32 × `terms` (a reload computes them with other kernels, in
    another order); an all-True mask changes nothing where it is supported.
    """
    layer = make()
    outputs = [np.asarray(o) for o in tf.nest.flatten(layer(x))]
    assert [o.shape for o in outputs] == expected_shapes
    assert [tuple(s) for s in _shapes(layer.compute_output_shape(x.shape))] == expected_shapes
    assert len(layer.weights) == weights and all(w.trainable for w in layer.weights)
    assert len({w.path for w in layer.weights}) == len(layer.weights)

    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config

    if layer.supports_masking:
        masked = tf.nest.flatten(layer(x, mask=np.ones(x.shape[:2], bool)))
        for got, expected in zip(masked, outputs):
            assert_close_f32(got, expected, terms)

    inputs = keras.Input(x.shape[1:])
    model = keras.Model(inputs, tf.nest.flatten(layer(inputs)))
    expected = [np.asarray(o) for o in tf.nest.flatten(model(x))]
    model.save(tmp_path / "layer.keras")
    loaded = keras.saving.load_model(tmp_path / "layer.keras", safe_mode=True)
    for got, want in zip(tf.nest.flatten(loaded(x)), expected):
        assert_close_f32(got, want, terms)
    assert loaded.layers[1].get_config() == model.layers[1].get_config()

    export_saved_model(model, tmp_path / "exported")
    serve = tf.saved_model.load(str(tmp_path / "exported")).signatures["serving_default"]
    served = serve(tf.constant(x))
    for got, want in zip([served[k] for k in sorted(served, key=_output_index)], expected):
        assert_close_f32(got, want, terms)


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
