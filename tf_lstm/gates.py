"""Gate-order conventions and conversions between them.

An LSTM's fused weight has four column blocks, one per gate. Frameworks and
articles stack them in different orders; here an order is a 4-letter string.
The canonical letters are ``i`` (input gate), ``f`` (forget gate), ``g``
(candidate, the tanh branch) and ``o`` (output gate). The candidate goes by
other names in the literature, accepted as aliases: ``j`` (TF1
``BasicLSTMCell``), ``z`` (article C), ``c`` (Keras and the Theano tutorial).

Known conventions:

=========  ==========================================  =============
order      who uses it                                  canonical
=========  ==========================================  =============
``ifgo``   PyTorch ``nn.LSTM``                          ``ifgo``
``ifco``   Keras ``layers.LSTM``                        ``ifgo``
``ijfo``   TF1 ``BasicLSTMCell`` (article A)            ``igfo``
``zifo``   the scratch LSTM of article C                ``gifo``
``ifoc``   the Theano LSTM tutorial (article E)         ``ifog``
=========  ==========================================  =============
"""

from __future__ import annotations

import numpy as np

CANONICAL_GATES = "ifgo"
CANDIDATE_ALIASES = frozenset("gjzc")

TORCH_ORDER = "ifgo"
KERAS_ORDER = "ifco"


def canonical_gate_order(gate_order: str) -> str:
    """Returns `gate_order` with the candidate written ``g``, after checking it.

    Args:
        gate_order: a permutation of the four gates, e.g. ``"ijfo"``.

    Raises:
        TypeError: `gate_order` is not a string.
        ValueError: it is not a permutation of ``i``, ``f``, ``o`` and one
            candidate letter (``g``, ``j``, ``z`` or ``c``).
    """
    if not isinstance(gate_order, str):
        raise TypeError(
            f"gate_order must be a string such as 'ifgo', got {gate_order!r} of type {type(gate_order).__name__}."
        )
    letters = gate_order.lower()
    candidates = [ch for ch in letters if ch in CANDIDATE_ALIASES]
    canonical = "".join("g" if ch in CANDIDATE_ALIASES else ch for ch in letters)
    if len(letters) != 4 or len(candidates) != 1 or sorted(canonical) != sorted(CANONICAL_GATES):
        raise ValueError(
            f"gate_order must be a permutation of 'i', 'f', 'o' and one candidate "
            f"letter ('g', 'j', 'z' or 'c'), e.g. 'ifgo', 'ijfo', 'zifo', 'ifoc'; "
            f"got gate_order={gate_order!r}."
        )
    return canonical


def gate_positions(gate_order: str) -> dict[str, int]:
    """Maps each canonical gate letter to its block index in `gate_order`."""
    canonical = canonical_gate_order(gate_order)
    return {letter: canonical.index(letter) for letter in CANONICAL_GATES}


def gate_permutation(from_order: str, to_order: str) -> list[int]:
    """Block indices `p` such that ``blocks_to[k] = blocks_from[p[k]]``."""
    source = canonical_gate_order(from_order)
    target = canonical_gate_order(to_order)
    return [source.index(letter) for letter in target]


def convert_gate_order(array, from_order: str, to_order: str, axis: int = -1):
    """Reorders the four gate blocks of `array` along `axis`.

    Works on NumPy arrays and on anything `np.asarray` accepts; returns NumPy.

    Args:
        array: weights whose `axis` has length ``4 * units``.
        from_order: the gate order `array` is stacked in.
        to_order: the gate order wanted.
        axis: the axis holding the four blocks.

    Raises:
        ValueError: a gate order is invalid, or `axis` is not divisible by 4.

    >>> convert_gate_order(np.arange(4), "ifgo", "ijfo").tolist()  # PyTorch's blocks in TF1's order
    [0, 2, 1, 3]
    >>> convert_gate_order(np.arange(4), "ifgo", "ifco").tolist()  # Keras' c is PyTorch's g
    [0, 1, 2, 3]
    """
    permutation = gate_permutation(from_order, to_order)
    array = np.asarray(array)
    size = array.shape[axis]
    if size % 4:
        raise ValueError(f"the gate axis (axis={axis}) must have a length divisible by 4, got shape {array.shape}.")
    blocks = np.split(array, 4, axis=axis)
    return np.concatenate([blocks[k] for k in permutation], axis=axis)
