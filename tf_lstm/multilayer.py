"""`MultiLayerLSTM`: PyTorch's ``nn.LSTM`` interface built from `ScanLSTM` layers."""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from tf_lstm import checks, gates
from tf_lstm.layers import ScanLSTM


@keras.saving.register_keras_serializable(package="tf_lstm")
class MultiLayerLSTM(keras.layers.Layer):
    """Several (optionally bidirectional) LSTM layers, shaped like ``torch.nn.LSTM``.

    Layer k reads the output of layer k−1 (both directions concatenated);
    dropout is applied between layers, not after the last, as in PyTorch.
    Each direction of each layer is a `ScanLSTM`; the bidirectional ones are
    wrapped in `keras.layers.Bidirectional`.

    Args:
        hidden_size: units per direction, a positive integer.
        num_layers: number of stacked layers.
        bidirectional: run a second, backward LSTM per layer.
        batch_first: inputs and outputs are ``[batch, time, ...]``; otherwise
            ``[time, batch, ...]`` (PyTorch's default).
        dropout: rate of the dropout between layers, in training only.
        bias: whether the layers have biases (PyTorch's ``bias``).
        proj_size: if > 0, each layer projects h to this size (LSTMP, PyTorch's
            ``proj_size``; ``weight_hr_l{k}`` is the projection): the outputs
            and ``h_n`` have this size, ``c_n`` keeps ``hidden_size``.
        gate_order: the gate order the `ScanLSTM` weights are stored in (the
            torch conversion permutes blocks to and from it).
        seed: seed of the initial weights and of the dropout.

    Call returns:
        ``(output, (h_n, c_n))``: output ``[batch, time, D·hidden]`` (or
        time-major), ``h_n`` and ``c_n`` ``[num_layers·D, batch, hidden]``
        with D = 2 if bidirectional else 1, ordered layer by layer, forward
        before backward — PyTorch's shapes.

    >>> import numpy as np
    >>> lstm = MultiLayerLSTM(8, num_layers=2, bidirectional=True)
    >>> output, (h_n, c_n) = lstm(np.zeros((3, 5, 4), "float32"))
    >>> tuple(output.shape), tuple(h_n.shape), tuple(c_n.shape)
    ((3, 5, 16), (4, 3, 8), (4, 3, 8))
    """

    def __init__(
        self,
        hidden_size: int,
        *,
        num_layers: int = 1,
        bidirectional: bool = False,
        batch_first: bool = True,
        dropout: float = 0.0,
        bias: bool = True,
        proj_size: int = 0,
        gate_order: str = gates.TORCH_ORDER,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_size = checks.positive_int("hidden_size", hidden_size)
        self.num_layers = checks.positive_int("num_layers", num_layers)
        self.bidirectional = bool(bidirectional)
        self.batch_first = bool(batch_first)
        self.dropout = checks.rate("dropout", dropout)
        self.bias = checks.boolean("bias", bias)
        self.proj_size = checks.integer("proj_size", proj_size)
        if not 0 <= self.proj_size < self.hidden_size:
            raise ValueError(
                f"proj_size must be 0 (no projection) or in [1, hidden_size), got proj_size={proj_size} "
                f"with hidden_size={hidden_size}."
            )
        self.gate_order = gate_order
        gates.canonical_gate_order(gate_order)
        self.seed = seed
        # PyTorch's initialisation: every weight and bias U(−1/√H, 1/√H).
        bound = 1.0 / math.sqrt(hidden_size)
        self.lstm_layers = []
        for k in range(num_layers):

            def init(offset, k=k):
                return keras.initializers.RandomUniform(
                    -bound, bound, seed=None if seed is None else seed + 3 * k + offset
                )

            lstm = ScanLSTM(
                hidden_size,
                gate_order=gate_order,
                return_sequences=True,
                return_state=True,
                use_bias=self.bias,
                proj_size=self.proj_size or None,
                kernel_initializer=init(0),
                recurrent_initializer=init(1),
                bias_initializer=init(2),
                name=f"lstm_l{k}",
            )
            self.lstm_layers.append(
                keras.layers.Bidirectional(lstm, name=f"bidirectional_l{k}") if bidirectional else lstm
            )
        self.between_layers = keras.layers.Dropout(self.dropout, seed=seed)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """The size of h (and of each direction's outputs): proj_size if set, else hidden_size."""
        return self.proj_size or self.hidden_size

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"MultiLayerLSTM expects inputs of rank 3, got inputs with shape {tuple(input_shape)}.")
        features = input_shape[-1]
        for layer in self.lstm_layers:
            layer.build((None, None, features))
            features = self.num_directions * self.output_size
        self.built = True

    def compute_output_shape(self, input_shape):
        first, second, _ = input_shape
        batch, steps = (first, second) if self.batch_first else (second, first)
        output = (batch, steps) if self.batch_first else (steps, batch)
        layers = self.num_layers * self.num_directions
        h_state, c_state = (layers, batch, self.output_size), (layers, batch, self.hidden_size)
        return (*output, self.num_directions * self.output_size), (h_state, c_state)

    def directions(self, k: int) -> list[ScanLSTM]:
        """The `ScanLSTM` of each direction of layer `k`, forward first."""
        layer = self.lstm_layers[k]
        if self.bidirectional:
            return [layer.forward_layer, layer.backward_layer]
        return [layer]

    def call(self, inputs, training=None):
        x = tf.convert_to_tensor(inputs)
        if not self.batch_first:
            x = tf.transpose(x, [1, 0, 2])
        h_n, c_n = [], []
        for k, layer in enumerate(self.lstm_layers):
            if k > 0 and self.dropout > 0.0:
                x = self.between_layers(x, training=training)
            x, *states = layer(x, training=training)
            # Bidirectional returns (out, h_fwd, c_fwd, h_bwd, c_bwd).
            h_n.extend(states[0::2])
            c_n.extend(states[1::2])
        if not self.batch_first:
            x = tf.transpose(x, [1, 0, 2])
        return x, (tf.stack(h_n), tf.stack(c_n))

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
            batch_first=self.batch_first,
            dropout=self.dropout,
            bias=self.bias,
            proj_size=self.proj_size,
            gate_order=self.gate_order,
            seed=self.seed,
        )
        return config
