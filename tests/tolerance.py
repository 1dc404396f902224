"""Float32 tolerances derived, not guessed: machine epsilon × magnitude × the number of rounded terms.

Two float32 computations of one quantity (float32 against a float64
reference, or two float32 programs that add in different orders: two
replicas, two CPUs, XLA's fusion) differ by rounding alone. Each rounded
operation that feeds the result is off by at most eps/2 of the size of what
it handles, so the gap between the two is at most

    eps32 × magnitude × terms,

`terms` being how many rounded operations feed one result and `magnitude`
the size of the largest value they handle. This is the worst case, not the
typical one (errors of random sign grow like sqrt(terms)), so a test that
holds to it never fails by rounding, on any CPU, while any real mistake
(a wrong gate, scale or sign) is off by many orders of magnitude more.
"""

from __future__ import annotations

import numpy as np

EPS32 = float(np.finfo(np.float32).eps)  # 1.19e-7
EPS64 = float(np.finfo(np.float64).eps)  # 2.2e-16
EPS16 = float(np.finfo(np.float16).eps)  # 9.8e-4


def float32_tolerance(terms: int, magnitude: float = 1.0) -> float:
    """eps32 × magnitude × terms: the largest rounding gap between two float32 computations of one value.

    Always a Python float, whatever `magnitude` is (a NumPy float32 from a
    float32 array): tools such as `pytest.approx` accept only Python numbers.
    """
    if terms < 1 or not magnitude > 0:
        raise ValueError(f"terms must be >= 1 and magnitude > 0, got terms={terms}, magnitude={magnitude}")
    return float(EPS32 * float(magnitude) * terms)


def statistical_tolerance(terms: float, magnitude: float = 1.0, eps: float = EPS32) -> float:
    """6 standard deviations of the rounding gap, for a check that must also catch a 1% error.

    Each rounded operation is off by up to eps/2 of `magnitude`, uniformly
    and with random sign (standard deviation eps/(2·sqrt(3))); `terms` of them
    add up to a standard deviation of eps/(2·sqrt(3))·sqrt(terms). Six of
    those are not reached by rounding. Where the worst case
    (`float32_tolerance`) is hundreds of times the gaps measured, which can
    hide an error of a few percent, this bound is used instead. `eps`:
    that of the type the operations round to (`EPS16` for float16).
    """
    if terms < 1 or not magnitude > 0:
        raise ValueError(f"terms must be >= 1 and magnitude > 0, got terms={terms}, magnitude={magnitude}")
    return float(6.0 * eps / (2.0 * np.sqrt(3.0)) * float(magnitude) * np.sqrt(terms))


def assert_within(actual, expected, bound: float, what: str) -> None:
    """`actual` equals `expected` to `bound`, printing the largest difference beside the bound (``pytest -s``)."""
    gap = float(np.max(np.abs(np.asarray(actual, np.float64) - np.asarray(expected, np.float64))))
    print(f"{what}: largest difference {gap:.2e}, bound {bound:.2e}")
    np.testing.assert_allclose(
        np.asarray(actual, np.float64), np.asarray(expected, np.float64), rtol=0, atol=bound, err_msg=what
    )


def lstm_terms(steps: int, features: int, units: int, layers: int = 1) -> int:
    """Rounded operations behind one LSTM output.

    A step sums ``features + units`` products into each pre-activation, adds
    the bias, and applies seven elementwise operations (three sigmoids, two
    tanh, the products and the sum of the cell update); a step's error carries
    into the next through h and c (gains ≤ 1: σ' ≤ 1/4, tanh' ≤ 1, f < 1), and
    into the next layer's input.
    """
    return layers * steps * (features + units + 8)


def magnitude_of(*arrays, floor: float = 1.0) -> float:
    """The largest |value| among `arrays`, at least `floor` (activations and gates are of size ≤ 1)."""
    return max([floor, *(float(np.max(np.abs(a))) for a in arrays if np.size(a))])


def assert_close_f32(actual, expected, terms: int, magnitude: float | None = None, err_msg: str = "") -> None:
    """`actual` equals `expected` to ``float32_tolerance(terms, magnitude)`` (magnitude: that of the values)."""
    magnitude = magnitude_of(expected) if magnitude is None else magnitude
    np.testing.assert_allclose(
        np.asarray(actual, np.float64),
        np.asarray(expected, np.float64),
        rtol=0,
        atol=float32_tolerance(terms, magnitude),
        err_msg=err_msg,
    )
