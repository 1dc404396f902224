"""The inside page's selection and matching rules in NumPy: the independent oracle its script is checked against.

A unit is on at a step when its value is above the threshold and the step is
not masked. `select_units` keeps the units on at every step of a range;
`find_matches` lists every maximal stretch of at least `min_length` steps
where all chosen units are on, scored by Jaccard (the chosen units against the
units on at every step of the stretch), ranked by score, then length.
"""

from __future__ import annotations

import numpy as np


def on(values: np.ndarray, mask: np.ndarray | None, threshold: float) -> np.ndarray:
    """``[rows, units]`` booleans: above the threshold at an unmasked step."""
    above = values > threshold
    return above if mask is None else above & mask[:, None]


def rows_of(lengths, sequence: int) -> slice:
    first = int(np.sum(lengths[:sequence]))
    return slice(first, first + int(lengths[sequence]))


def select_units(values, mask, lengths, sequence, start, end, threshold) -> list[int]:
    rows = rows_of(lengths, sequence)
    stretch = on(values, mask, threshold)[rows][start : end + 1]
    return np.flatnonzero(stretch.all(axis=0)).tolist()


def find_matches(values, mask, lengths, units, threshold, min_length) -> list[dict]:
    chosen = set(units)
    lit = on(values, mask, threshold)
    found = []
    for sequence in range(len(lengths)):
        mine = lit[rows_of(lengths, sequence)]
        all_on = mine[:, sorted(chosen)].all(axis=1)
        t = 0
        while t < len(all_on):
            if not all_on[t]:
                t += 1
                continue
            end = t
            while end + 1 < len(all_on) and all_on[end + 1]:
                end += 1
            if end - t + 1 >= min_length:
                across = set(np.flatnonzero(mine[t : end + 1].all(axis=0)).tolist())
                score = len(chosen & across) / len(chosen | across)
                found.append(dict(sequence=sequence, start=t, end=end, score=score))
            t = end + 1
    return sorted(found, key=lambda m: (-m["score"], -(m["end"] - m["start"]), m["sequence"], m["start"]))
