"""Argument checks shared by the layers, the data and the backward pass: one message for each kind."""

from __future__ import annotations

from typing import Any


def positive_int(name: str, value: Any) -> int:
    """`value` if it is an int > 0 (not a bool); else a ValueError naming `name` and the value."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {name}={value!r}.")
    return value


def rate(name: str, value: Any) -> float:
    """`value` as a float if it lies in [0, 1); else a ValueError naming `name` and the value."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a float in [0, 1), got {name}={value!r}.")
    return float(value)
