"""Image transforms for the experiments article A left unfinished."""

from __future__ import annotations

import numpy as np


def rotate90(images: np.ndarray) -> np.ndarray:
    """Rotates ``[n, rows, cols]`` images by 90° counter-clockwise: rows become columns."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images must be [n, rows, cols], got shape {images.shape}.")
    return np.ascontiguousarray(np.rot90(images, k=1, axes=(1, 2)))


def black_out_rows(images: np.ndarray, first: int, last: int) -> np.ndarray:
    """A copy of ``[n, rows, cols]`` images with rows `first`..`last` (inclusive) set to 0."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images must be [n, rows, cols], got shape {images.shape}.")
    rows = images.shape[1]
    if not 0 <= first <= last < rows:
        raise ValueError(f"need 0 <= first <= last < {rows}, got first={first}, last={last}.")
    out = images.copy()
    out[:, first : last + 1] = 0
    return out
