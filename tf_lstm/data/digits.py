"""scikit-learn's 8x8 digits, split as article C splits them."""

from __future__ import annotations

import numpy as np

from tf_lstm.data.split import Split


def load_digits(test_size: float = 0.2, random_state: int = 42) -> Split:
    """The digits as 8 steps of 8 pixels, values 0-16 (not rescaled).

    Returns:
        a `Split`, ``(x_train, y_train, x_test, y_test)``: images ``[n, 8, 8]`` float32,
        labels one-hot ``[n, 10]`` float32; 1,437 / 360 with the defaults
        (``train_test_split(test_size=0.2, random_state=42)``).
    """
    from sklearn import datasets  # scikit-learn is slow to import and needed for this data only
    from sklearn.model_selection import train_test_split

    digits = datasets.load_digits()
    images = digits.images.astype(np.float32)
    labels = np.eye(10, dtype=np.float32)[digits.target]
    x_train, x_test, y_train, y_test = train_test_split(images, labels, test_size=test_size, random_state=random_state)
    return Split(x_train, y_train, x_test, y_test)
