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
        if columns % self.blocks:
            raise ValueError(f"BlockOrthogonal({self.blocks}) splits the columns in {self.blocks}, got shape {shape}.")
        block = (rows, columns // self.blocks)  # square in the tutorial (dim_proj × dim_proj); else semi-orthogonal
        # One initializer per block: a Keras initializer draws the same values at every call.
        seeds = [None if self.seed is None else self.seed + k for k in range(self.blocks)]
        draws = [keras.initializers.Orthogonal(seed=seed)(block, dtype) for seed in seeds]
        return keras.ops.concatenate(draws, axis=1)

    def get_config(self):
        return dict(blocks=self.blocks, seed=self.seed)
