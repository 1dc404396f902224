"""Initializers of the articles' code that Keras does not ship."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="reproductions")
class BlockOrthogonal(keras.initializers.Initializer):
    """The tutorial's ``ortho_weight`` blocks side by side: a ``[n, blocks·n]`` matrix of `blocks` independent
    random orthogonal ``n×n`` matrices (one per gate). The tutorial takes each from the SVD of a normal draw,
    Keras' `Orthogonal` from its QR decomposition: either is a uniformly random orthogonal matrix."""

    def __init__(self, blocks: int = 4, seed: int | None = None):
        self.blocks, self.seed = blocks, seed

    def __call__(self, shape, dtype=None):
        rows, columns = shape
        if columns != self.blocks * rows:
            raise ValueError(f"BlockOrthogonal({self.blocks}) makes [n, {self.blocks}·n] matrices, got {shape}.")
        orthogonal = keras.initializers.Orthogonal(seed=self.seed)
        return keras.ops.concatenate([orthogonal((rows, rows), dtype) for _ in range(self.blocks)], axis=1)

    def get_config(self):
        return dict(blocks=self.blocks, seed=self.seed)
