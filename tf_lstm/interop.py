"""Interop: weights and whole models to and from Keras, PyTorch and TF1.

The one module that knows other frameworks' layers; it imports tf_lstm's
layers, and they never import it. Every weight conversion is the same two
moves: transpose where the frameworks store ``[out, in]`` against our
``[in, out]``, and permute the four gate blocks from one convention to the
other (`tf_lstm.gates.convert_gate_order`).

- Weights: `load_torch_state_dict` / `to_torch_state_dict`,
  `load_keras_lstm_weights`, `load_tf1_lstm_checkpoint`.
- Layers and models, holding the same weights, so that everything tf_lstm
  offers (`trace`, `gradients_through_time`, streaming export, builtin-only
  TFLite, ONNX) works on a user's trained model without retraining:
  - `from_keras_layer`: one ``keras.layers.LSTM`` as a `ScanLSTM` with the
    same configuration and weights (gate order ``ifco``, Keras' own, so the
    weights are copied as they are);
  - `from_keras`: a whole Sequential or functional model, nested models and
    ``Bidirectional(LSTM)`` included, with every ``keras.layers.LSTM``
    replaced and every other layer cloned with its weights;
  - `from_torch`: a ``torch.nn.LSTM`` (any ``num_layers``, ``bidirectional``,
    ``batch_first``, ``proj_size``, ``bias``) as a `MultiLayerLSTM`;
    `to_torch` goes back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import numpy as np

from tf_lstm.gates import KERAS_ORDER, TORCH_ORDER, convert_gate_order
from tf_lstm.layers import ScanLSTM
from tf_lstm.multilayer import MultiLayerLSTM


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float32)


def _torch_keys(model: MultiLayerLSTM) -> list[tuple[str, int, int]]:
    """(suffix, layer, direction) of every parameter group, in PyTorch's order."""
    suffixes = ["", "_reverse"][: model.num_directions]
    return [(suffix, k, d) for k in range(model.num_layers) for d, suffix in enumerate(suffixes)]


def _expected_torch_shapes(model: MultiLayerLSTM, input_size: int) -> dict[str, tuple[int, ...]]:
    hidden, output = model.hidden_size, model.output_size
    shapes: dict[str, tuple[int, ...]] = {}
    for suffix, k, _ in _torch_keys(model):
        features = input_size if k == 0 else model.num_directions * output
        shapes[f"weight_ih_l{k}{suffix}"] = (4 * hidden, features)
        shapes[f"weight_hh_l{k}{suffix}"] = (4 * hidden, output)
        if model.bias:
            shapes[f"bias_ih_l{k}{suffix}"] = (4 * hidden,)
            shapes[f"bias_hh_l{k}{suffix}"] = (4 * hidden,)
        if model.proj_size:
            shapes[f"weight_hr_l{k}{suffix}"] = (output, hidden)
    return shapes


def load_torch_state_dict(model: MultiLayerLSTM, state_dict: Mapping[str, Any]) -> None:
    """Copies the weights of a ``torch.nn.LSTM`` into `model`.

    PyTorch keeps ``weight_ih_l{k}`` as ``[4·H, in]`` and ``weight_hh_l{k}``
    as ``[4·H, H]`` (``[4·H, P]`` with ``proj_size`` P, whose projection is
    ``weight_hr_l{k}`` ``[P, H]``) with blocks ``i, f, g, o``, and two biases
    that add; the ``*_reverse`` keys hold the backward direction.

    Args:
        model: a `MultiLayerLSTM` with PyTorch's sizes (built here if needed).
        state_dict: ``lstm.state_dict()``; values torch tensors or arrays.

    Raises:
        TypeError: `model` is not a `MultiLayerLSTM`.
        ValueError: keys are missing or unexpected, or a shape differs.
    """
    if not isinstance(model, MultiLayerLSTM):
        raise TypeError(f"model must be a MultiLayerLSTM, got {type(model).__name__}.")
    if "weight_ih_l0" not in state_dict:
        raise ValueError(f"state_dict is missing key 'weight_ih_l0'; got keys {sorted(state_dict)}.")
    input_size = int(np.shape(_to_numpy(state_dict["weight_ih_l0"]))[-1])
    expected = _expected_torch_shapes(model, input_size)
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"state_dict does not match MultiLayerLSTM(hidden_size={model.hidden_size}, "
            f"num_layers={model.num_layers}, bidirectional={model.bidirectional}, bias={model.bias}, "
            f"proj_size={model.proj_size}): "
            f"missing keys {missing}, unexpected keys {unexpected}."
        )
    arrays = {key: _to_numpy(value) for key, value in state_dict.items()}
    for key, shape in expected.items():
        if arrays[key].shape != shape:
            raise ValueError(f"state_dict[{key!r}] must have shape {shape}, got shape {arrays[key].shape}.")
    if not model.built:
        model.build((None, None, input_size))
    for suffix, k, d in _torch_keys(model):
        lstm = model.directions(k)[d]
        order = lstm.gate_order
        lstm.kernel.assign(convert_gate_order(arrays[f"weight_ih_l{k}{suffix}"].T, TORCH_ORDER, order))
        lstm.recurrent_kernel.assign(convert_gate_order(arrays[f"weight_hh_l{k}{suffix}"].T, TORCH_ORDER, order))
        if lstm.bias is not None:
            bias = arrays[f"bias_ih_l{k}{suffix}"] + arrays[f"bias_hh_l{k}{suffix}"]
            lstm.bias.assign(convert_gate_order(bias, TORCH_ORDER, order))
        if model.proj_size:
            lstm.cell_weights["projection_kernel"].assign(arrays[f"weight_hr_l{k}{suffix}"].T)


def scan_lstm_to_torch(kernel, recurrent_kernel, bias, gate_order: str):
    """One direction's ScanLSTM arrays (or their gradients) in PyTorch's layout.

    Returns:
        ``(weight_ih [4·H, in], weight_hh [4·H, H], bias [4·H] or None)``, gate
        blocks ``i, f, g, o``; the bias is None when `bias` is.
    """
    return (
        convert_gate_order(np.asarray(kernel), gate_order, TORCH_ORDER).T,
        convert_gate_order(np.asarray(recurrent_kernel), gate_order, TORCH_ORDER).T,
        None if bias is None else convert_gate_order(np.asarray(bias), gate_order, TORCH_ORDER),
    )


def to_torch_state_dict(model: MultiLayerLSTM, *, as_torch: bool = False) -> dict[str, Any]:
    """The weights of `model` as a ``torch.nn.LSTM`` state dict.

    The summed bias goes to ``bias_ih_l{k}``; ``bias_hh_l{k}`` is zero (the
    two only ever appear added). A model without biases (``bias=False``)
    gives ``torch.nn.LSTM(bias=False)``'s keys: the weights only.

    Args:
        model: a built `MultiLayerLSTM`.
        as_torch: return torch tensors (imports torch) instead of NumPy arrays.
    """
    if not isinstance(model, MultiLayerLSTM):
        raise TypeError(f"model must be a MultiLayerLSTM, got {type(model).__name__}.")
    if not model.built:
        raise ValueError("model must be built (called once, or .build(shape)) before export.")
    state = {}
    for suffix, k, d in _torch_keys(model):
        lstm = model.directions(k)[d]
        bias = None if lstm.bias is None else lstm.bias.numpy()
        weight_ih, weight_hh, bias = scan_lstm_to_torch(
            lstm.kernel.numpy(), lstm.recurrent_kernel.numpy(), bias, lstm.gate_order
        )
        state[f"weight_ih_l{k}{suffix}"], state[f"weight_hh_l{k}{suffix}"] = weight_ih, weight_hh
        if bias is not None:
            state[f"bias_ih_l{k}{suffix}"] = bias
            state[f"bias_hh_l{k}{suffix}"] = np.zeros(4 * model.hidden_size, np.float32)
        if model.proj_size:
            state[f"weight_hr_l{k}{suffix}"] = lstm.cell_weights["projection_kernel"].numpy().T
    state = {key: np.ascontiguousarray(value, dtype=np.float32) for key, value in state.items()}
    if as_torch:
        import torch  # an optional extra (pip install -e ".[torch]")

        state = {key: torch.from_numpy(value) for key, value in state.items()}
    return state


def load_keras_lstm_weights(layer: ScanLSTM, keras_lstm) -> None:
    """Copies the weights of a built ``keras.layers.LSTM`` into `layer`.

    Keras stores ``kernel [in, 4·units]``, ``recurrent_kernel [units, 4·units]``
    and ``bias`` with gate blocks ``i, f, c, o``; they are permuted to
    `layer.gate_order`. `layer` is built here if needed.

    Raises:
        TypeError: the arguments are not a `ScanLSTM` and a built Keras LSTM.
        ValueError: units, input size or use of a bias differ.
    """
    if not isinstance(layer, ScanLSTM):
        raise TypeError(f"layer must be a ScanLSTM, got {type(layer).__name__}.")
    _refuse_coupled(layer, "Keras")
    cell = getattr(keras_lstm, "cell", None)
    if cell is None or not getattr(cell, "built", False):
        raise TypeError(
            f"keras_lstm must be a built keras.layers.LSTM, got {type(keras_lstm).__name__}"
            f"{'' if cell is None else ' (not built: call it once first)'}."
        )
    input_size = int(cell.kernel.shape[0])
    if cell.units != layer.units:
        raise ValueError(f"units differ: ScanLSTM has {layer.units}, keras_lstm has {cell.units}.")
    if cell.use_bias != layer.use_bias:
        raise ValueError(f"use_bias differs: ScanLSTM has {layer.use_bias}, keras_lstm has {cell.use_bias}.")
    if not layer.built:
        layer.build((None, None, input_size))
    if layer.input_size != input_size:
        raise ValueError(
            f"input sizes differ: ScanLSTM was built for {layer.input_size} features, keras_lstm for {input_size}."
        )
    order = layer.gate_order
    layer.kernel.assign(convert_gate_order(cell.kernel.numpy(), KERAS_ORDER, order))
    layer.recurrent_kernel.assign(convert_gate_order(cell.recurrent_kernel.numpy(), KERAS_ORDER, order))
    if layer.bias is not None:  # use_bias is the same on both sides (checked above)
        layer.bias.assign(convert_gate_order(cell.bias.numpy(), KERAS_ORDER, order))


def _refuse_coupled(layer: ScanLSTM, source: str) -> None:
    if layer.coupled:
        raise ValueError(
            f"layer {layer.name!r} has coupled=True: three gate blocks (no input gate), while {source} stores four; "
            "load into a ScanLSTM without coupled."
        )


TF1_ORDER = "ijfo"  # TF1's LSTMCell and BasicLSTMCell: blocks i, j (the candidate), f, o


def load_tf1_lstm_checkpoint(layer: ScanLSTM, checkpoint: str, scope: str = "rnn/lstm_cell") -> None:
    """Copies a TF1 ``LSTMCell``'s (or ``BasicLSTMCell``'s) weights from a checkpoint into `layer`.

    TF1 stores, under `scope` (``rnn/lstm_cell`` or ``rnn/basic_lstm_cell``
    by default names), ``kernel`` ``[in + h, 4·units]`` (one matrix over
    ``[x, h]``, blocks ``i, j, f, o``), ``bias`` ``[4·units]``, and for
    ``LSTMCell`` the peepholes ``w_i_diag``, ``w_f_diag``, ``w_o_diag``
    ``[units]`` and ``projection/kernel`` ``[units, num_proj]``. TF1 adds its
    ``forget_bias`` (1.0 by default) in the cell, not in the checkpoint: make
    `layer` with that ``forget_bias``, and with ``use_peepholes``,
    ``cell_clip``, ``proj_size`` (``num_proj``) and ``proj_clip`` as the
    TF1 cell had them.

    Args:
        layer: the `ScanLSTM` to fill (any gate order; built here if needed).
        checkpoint: a checkpoint prefix or the folder holding one.
        scope: the variables' scope in the checkpoint.

    Raises:
        ValueError: a variable is missing or unexpected for `layer`'s
            options, or a shape differs.
    """
    import tensorflow as tf  # only here: convert.py's other functions need NumPy only

    if not isinstance(layer, ScanLSTM):
        raise TypeError(f"layer must be a ScanLSTM, got {type(layer).__name__}.")
    _refuse_coupled(layer, "TF1")
    try:
        reader = tf.train.load_checkpoint(checkpoint)
    except (ValueError, tf.errors.NotFoundError) as error:
        raise ValueError(f"checkpoint {checkpoint!r} cannot be read: {error}") from error
    stored = {name: shape for name, shape in reader.get_variable_to_shape_map().items() if name.startswith(scope + "/")}
    expected = {"kernel"} | ({"bias"} if layer.use_bias else set())
    if layer.use_peepholes:
        expected |= {"w_i_diag", "w_f_diag", "w_o_diag"}
    if layer.proj_size:
        expected.add("projection/kernel")
    found = {name[len(scope) + 1 :] for name in stored}
    if found != expected:
        raise ValueError(
            f"checkpoint {checkpoint!r} under {scope!r} holds {sorted(found)}, but ScanLSTM(use_bias={layer.use_bias}, "
            f"use_peepholes={layer.use_peepholes}, proj_size={layer.proj_size}) needs {sorted(expected)}."
        )
    fused = reader.get_tensor(f"{scope}/kernel")
    h_size = layer.cell.output_size(layer.units)
    if fused.ndim != 2 or fused.shape[1] != 4 * layer.units or fused.shape[0] <= h_size:
        raise ValueError(
            f"{scope}/kernel must have shape [inputs + {h_size}, {4 * layer.units}], got shape {fused.shape}."
        )
    if not layer.built:
        layer.build((None, None, fused.shape[0] - h_size))
    if layer.input_size is None or fused.shape[0] != layer.input_size + h_size:
        raise ValueError(
            f"{scope}/kernel has {fused.shape[0] - h_size} input rows, but the layer was built for {layer.input_size}."
        )
    order = layer.gate_order
    layer.kernel.assign(convert_gate_order(fused[: layer.input_size], TF1_ORDER, order))
    layer.recurrent_kernel.assign(convert_gate_order(fused[layer.input_size :], TF1_ORDER, order))
    if layer.bias is not None:
        layer.bias.assign(convert_gate_order(reader.get_tensor(f"{scope}/bias"), TF1_ORDER, order))
    for name in sorted(expected - {"kernel", "bias"}):
        weight = layer.cell_weights["projection_kernel" if name == "projection/kernel" else name]
        value = reader.get_tensor(f"{scope}/{name}")
        if tuple(value.shape) != tuple(weight.shape):
            raise ValueError(f"{scope}/{name} must have shape {tuple(weight.shape)}, got shape {value.shape}.")
        weight.assign(value)


def from_keras_layer(lstm: keras.layers.LSTM) -> ScanLSTM:
    """A `ScanLSTM` configured as `lstm` (every argument, with Keras' meaning) and, if built, with its weights."""
    if not isinstance(lstm, keras.layers.LSTM):
        raise TypeError(f"lstm must be a keras.layers.LSTM, got {type(lstm).__name__}.")
    layer = ScanLSTM(gate_order=KERAS_ORDER, **lstm.get_config())
    if lstm.built:
        load_keras_lstm_weights(layer, lstm)
    return layer


LOOKUP_LAYERS = (keras.layers.TextVectorization, keras.layers.StringLookup, keras.layers.IntegerLookup)


def _replacement(layer: keras.layers.Layer) -> keras.layers.Layer:
    """What `from_keras` puts in `layer`'s place: a ScanLSTM for an LSTM, else a clone of the layer."""
    if isinstance(layer, keras.layers.LSTM):
        return from_keras_layer(layer)
    if isinstance(layer, keras.layers.Bidirectional) and isinstance(layer.forward_layer, keras.layers.LSTM):
        return keras.layers.Bidirectional(
            from_keras_layer(layer.forward_layer),
            backward_layer=from_keras_layer(layer.backward_layer),
            merge_mode=layer.merge_mode,
            name=layer.name,
        )
    if isinstance(layer, LOOKUP_LAYERS):
        return layer  # its vocabulary is a lookup table, not a weight: a clone would start empty
    return layer.__class__.from_config(layer.get_config())


def is_graph_model(model: keras.Model) -> bool:
    """Whether `model` is a Sequential or functional model (a graph of layers), not a subclassed one."""
    from keras.src.models.functional import Functional  # Keras 3 names no public class for it

    return isinstance(model, (keras.Sequential, Functional))


def from_keras(model: keras.Model) -> keras.Model:
    """`model` (Sequential or functional, nested models included) with every ``keras.layers.LSTM`` a `ScanLSTM`.

    The other layers are cloned, and every weight is copied (a
    ``TextVectorization`` or lookup layer, whose vocabulary is a table rather
    than a weight, is shared with `model`), so the new model
    computes what `model` computes (to float32 rounding: the same equations,
    added in another order). A subclassed model's structure is its own
    Python code, which cannot be rebuilt from outside: it is refused, naming
    what to do instead.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}.")
    if not is_graph_model(model):
        raise ValueError(
            f"model {model.name!r} is a subclassed keras.Model ({type(model).__name__}): its call is its own Python "
            "code, so tf_lstm cannot rebuild it; replace each keras.layers.LSTM attribute with "
            "tf_lstm.from_keras_layer(that_layer) in your class instead."
        )
    if not model.built:
        raise ValueError(f"model {model.name!r} is not built: call it once (or give it an Input) first.")
    clone = keras.models.clone_model(model, clone_function=_replacement, recursive=True)
    weights = model.get_weights()
    shapes = [tuple(w.shape) for w in clone.get_weights()]
    if shapes != [tuple(w.shape) for w in weights]:
        raise ValueError(f"the rebuilt model's weights {shapes} do not line up with model {model.name!r}'s.")
    clone.set_weights(weights)
    return clone


def from_torch(module: Any) -> MultiLayerLSTM:
    """A built `MultiLayerLSTM` equal to a ``torch.nn.LSTM`` (every option), with its weights."""
    import torch  # an optional extra (pip install -e ".[torch]")

    if not isinstance(module, torch.nn.LSTM):
        raise TypeError(f"module must be a torch.nn.LSTM, got {type(module).__name__}.")
    model = MultiLayerLSTM(
        module.hidden_size,
        num_layers=module.num_layers,
        bidirectional=module.bidirectional,
        batch_first=module.batch_first,
        bias=module.bias,
        proj_size=module.proj_size,
        dropout=module.dropout,
    )
    load_torch_state_dict(model, module.state_dict())
    return model


def to_torch(model: MultiLayerLSTM) -> Any:
    """The ``torch.nn.LSTM`` equal to a built `MultiLayerLSTM`, with its weights (`from_torch`'s inverse)."""
    import torch

    if not isinstance(model, MultiLayerLSTM):
        raise TypeError(f"model must be a MultiLayerLSTM, got {type(model).__name__}.")
    state = to_torch_state_dict(model, as_torch=True)
    module = torch.nn.LSTM(
        state["weight_ih_l0"].shape[1],
        model.hidden_size,
        num_layers=model.num_layers,
        bias=model.bias,
        batch_first=model.batch_first,
        dropout=model.dropout,
        bidirectional=model.bidirectional,
        proj_size=model.proj_size,
    )
    module.load_state_dict(state)
    return module
