"""Argument checks, with one rule: a wrong type is a TypeError, a wrong value a ValueError,
and both name the argument and the value it got.

>>> positive_int("units", 0)
Traceback (most recent call last):
    ...
ValueError: units must be a positive integer, got units=0.
>>> rate("dropout", float("nan"))
Traceback (most recent call last):
    ...
ValueError: dropout must be a finite number, got dropout=nan.
>>> positive_int("units", "8")
Traceback (most recent call last):
    ...
TypeError: units must be an integer, got units='8' (str).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from numbers import Integral, Real
from typing import Any


def _type_error(name: str, expected: str, value: Any) -> TypeError:
    return TypeError(f"{name} must be {expected}, got {name}={value!r} ({type(value).__name__}).")


def integer(name: str, value: Any) -> int:
    """`value` as an int if it is an integer (a bool is not); else a TypeError."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise _type_error(name, "an integer", value)
    return int(value)


def positive_int(name: str, value: Any) -> int:
    """`value` if it is an integer > 0."""
    if integer(name, value) <= 0:
        raise ValueError(f"{name} must be a positive integer, got {name}={value!r}.")
    return int(value)


def number(name: str, value: Any) -> float:
    """`value` as a float if it is a finite real number (a bool is not a number: TypeError; NaN, ±inf: ValueError).

    NaN passes every range check written as comparisons (each comparison with
    NaN is false), so it is refused here, before any range is checked.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise _type_error(name, "a number", value)
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{name} must be a finite number, got {name}={value!r}.")
    return result


def non_negative(name: str, value: Any, *, below: float | None = None) -> float:
    """`value` as a float if it is a number >= 0 (and < `below`, if given)."""
    result = number(name, value)
    if not (result >= 0.0 and (below is None or result < below)):
        bound = f" below {below:g}" if below is not None else ""
        raise ValueError(f"{name} must be a non-negative number{bound}, got {name}={value!r}.")
    return result


def rate(name: str, value: Any) -> float:
    """`value` as a float if it is a number in [0, 1)."""
    result = number(name, value)
    if not 0.0 <= result < 1.0:
        raise ValueError(f"{name} must be a float in [0, 1), got {name}={value!r}.")
    return result


def boolean(name: str, value: Any) -> bool:
    """`value` if it is a bool (NumPy's too); else a TypeError."""
    if not isinstance(value, bool) and type(value).__name__ != "bool_":
        raise _type_error(name, "True or False", value)
    return bool(value)


def one_of(name: str, value: Any, choices: Collection[Any]) -> Any:
    """`value` if it is one of `choices`; else a ValueError listing them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {name}={value!r}.")
    return value
