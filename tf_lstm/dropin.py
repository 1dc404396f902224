"""Drop-ins: a trained Keras model's LSTMs, or a ``torch.nn.LSTM``, as tf_lstm layers holding the same weights.

Everything tf_lstm offers (`trace`, `gradients_through_time`, streaming
export, builtin-only TFLite) works on its own layers; these functions bring a
user's model to them without retraining:

- `from_keras_layer` (also ``ScanLSTM.from_keras``): one ``keras.layers.LSTM``
  as a `ScanLSTM` with the same configuration and weights (gate order
  ``ifco``, Keras' own, so the weights are copied as they are);
- `from_keras`: a whole Sequential or functional model, nested models and
  ``Bidirectional(LSTM)`` included, with every ``keras.layers.LSTM`` replaced
  and every other layer cloned with its weights;
- `from_torch`: a ``torch.nn.LSTM`` (any ``num_layers``, ``bidirectional``,
  ``batch_first``, ``proj_size``, ``bias``) as a `MultiLayerLSTM`;
  `to_torch` goes back.
"""

from __future__ import annotations

from typing import Any

import keras

from tf_lstm.convert import load_keras_lstm_weights, load_torch_state_dict, to_torch_state_dict
from tf_lstm.gates import KERAS_ORDER
from tf_lstm.layers import ScanLSTM
from tf_lstm.multilayer import MultiLayerLSTM


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
            "tf_lstm.ScanLSTM.from_keras(that_layer) in your class instead."
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
