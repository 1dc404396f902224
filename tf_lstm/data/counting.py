"""The counting article's data: 20 binary sequences of 10 steps and their sums."""

from __future__ import annotations

import numpy as np

from tf_lstm import checks


def counting_data(num_samples: int = 20, seq_len: int = 10, seed: int = 1):
    """The data and initial weights, drawn exactly as the article draws them.

    `numpy.random.seed(seed)`, then for each sample ``round(uniform[0, 1))``
    per step, drawn row by row; the target is the row's sum. Then ``w_x`` and
    ``w_rec`` from U(−0.1, 0.1), in that order, after the data. With the
    defaults this gives wx = 0.0900, wRec = 0.0113.

    Returns:
        ``(x [num_samples, seq_len] float32, y [num_samples] float32, w_x, w_rec)``.
    """
    checks.positive_int("num_samples", num_samples)
    checks.positive_int("seq_len", seq_len)
    np.random.seed(seed)
    x = np.zeros((num_samples, seq_len))
    for row in range(num_samples):
        x[row, :] = np.around(np.random.rand(seq_len))
    y = np.sum(x, axis=1)
    w_x = float(np.random.uniform(-0.1, 0.1, 1)[0])
    w_rec = float(np.random.uniform(-0.1, 0.1, 1)[0])
    return x.astype(np.float32), y.astype(np.float32), w_x, w_rec
