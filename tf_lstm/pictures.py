"""Pictures of the inside of an LSTM, from `tf_lstm.trace`: gates and cell state over time, gate saturation.

The figures are `matplotlib.figure.Figure`s made without pyplot (no display
needed); save them with ``figure.savefig(path)``. Import this module
explicitly (``import tf_lstm.pictures``): `tf_lstm` itself does not import
matplotlib.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

GATE_TITLES = {"i": "input gate i", "f": "forget gate f", "o": "output gate o", "c": "cell state c"}


def gates_figure(
    traced: Mapping[str, Any],
    examples: Sequence[int] = (0,),
    *,
    images: Sequence[np.ndarray] | None = None,
    labels: Sequence[Any] | None = None,
    gradients: np.ndarray | None = None,
    answers: Sequence[Sequence[Any]] | None = None,
    step_name: str = "step",
    title: str = "",
) -> Figure:
    """For each example, a row: its input, heatmaps (units × steps) of i, f, o and c, and ‖∂L/∂h_t‖.

    Args:
        traced: `tf_lstm.trace` of one LSTM layer (one direction).
        examples: which examples of the batch, one row each.
        images: the input of each example shown (e.g. the image read row by
            row), aligned with `examples`; None leaves the column out.
        labels: each example's label, for its title.
        gradients: ``[batch, time]`` norms of ∂L/∂h_t
            (`tf_lstm.gradients_through_time`'s ``"h"``); None leaves it out.
        answers: per example, the answer after each step, written under the
            cell-state heatmap.
        step_name: what a step is (``"row"``, ``"word"``), for the axes.
        title: the figure's title.
    """
    columns = ["image"] * (images is not None) + list(GATE_TITLES) + ["gradient"] * (gradients is not None)
    figure = Figure(figsize=(2.9 * len(columns), 2.7 * len(examples) + 0.6), layout="constrained")
    axes = np.asarray(figure.subplots(len(examples), len(columns), squeeze=False))
    largest_c = float(np.max(np.abs(np.asarray(traced["c"])[list(examples)]))) or 1.0
    for row, example in enumerate(examples):
        for col, kind in enumerate(columns):
            ax = axes[row, col]
            if kind == "image" and images is not None:  # (the column is there only with images)
                ax.imshow(images[row], cmap="gray_r")
                label = "" if labels is None else f", label {labels[row]}"
                ax.set_title(f"example {example}{label}: input", fontsize=9)
                ax.set_xlabel("feature")
                ax.set_ylabel(step_name)
            elif kind == "gradient" and gradients is not None:  # (likewise, with gradients)
                steps = np.arange(1, gradients.shape[1] + 1)
                ax.semilogy(steps, np.maximum(gradients[example], 1e-30), marker=".")
                ax.set_title("‖∂L/∂h_t‖ (gradient reaching each step)", fontsize=9)
                ax.set_xlabel(step_name)
                ax.set_ylabel("norm (log)")
            else:
                values = np.asarray(traced[kind])[example].T  # [units, time]
                gate = kind != "c"
                shown = ax.imshow(
                    values,
                    aspect="auto",
                    interpolation="nearest",
                    cmap="viridis" if gate else "RdBu_r",
                    vmin=0.0 if gate else -largest_c,
                    vmax=1.0 if gate else largest_c,
                    extent=(0.5, values.shape[1] + 0.5, values.shape[0] - 0.5, -0.5),
                )
                figure.colorbar(shown, ax=ax, fraction=0.05)
                ax.set_title(GATE_TITLES[kind], fontsize=9)
                ax.set_xlabel(step_name)
                ax.set_ylabel("unit")
                if kind == "c" and answers is not None:
                    ax.set_xlabel(f"{step_name} (answer after it above)")
                    top = ax.secondary_xaxis("top")
                    top.set_xticks(np.arange(1, len(answers[row]) + 1), [str(a) for a in answers[row]], fontsize=6)
    if title:
        figure.suptitle(title)
    return figure


def saturation_figure(saturated: Mapping[str, Mapping[str, np.ndarray]], title: str = "") -> Figure:
    """Per gate, each unit as a point: the share of steps below 0.1 (x) against above 0.9 (y).

    The picture of Karpathy, Johnson and Fei-Fei (2015): units on the x axis
    are mostly closed, on the y axis mostly open, near the origin rarely
    saturated; no point lies beyond the diagonal x + y = 1.
    """
    gates = [gate for gate in "ifo" if gate in saturated]
    figure = Figure(figsize=(3.3 * len(gates), 3.4), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(gates)))
    for ax, gate in zip(axes, gates):
        ax.scatter(saturated[gate]["low"], saturated[gate]["high"], s=10, alpha=0.6)
        ax.plot([0, 1], [1, 0], color="grey", linewidth=0.8)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.set_title(GATE_TITLES[gate], fontsize=9)
        ax.set_xlabel("share of steps < 0.1")
        ax.set_ylabel("share of steps > 0.9")
    if title:
        figure.suptitle(title)
    return figure


def reading_figure(
    reviews: Sequence[Mapping[str, Any]],
    *,
    unit: int,
    title: str = "",
    chars_per_line: int = 180,
) -> Figure:
    """A model reading text: each word coloured by one unit's cell state and by its input gate.

    Args:
        reviews: each a mapping with ``words`` (the tokens read), ``c`` and
            ``i`` (that unit's cell state and input gate after each word),
            ``running`` (the prediction after each word) and ``label`` (a
            title for the review).
        unit: the unit shown, for the titles.
        title: the figure's title.
        chars_per_line: where the words wrap.
    """
    panels = []
    for review in reviews:
        lines = _wrap(list(review["words"]), chars_per_line)
        panels += [("c", review, lines), ("i", review, lines), ("running", review, lines)]
    heights = [max(len(lines), 1) * 0.22 + 0.35 if kind != "running" else 1.6 for kind, _, lines in panels]
    figure = Figure(figsize=(13, sum(heights) + 0.8), layout="constrained")
    axes = figure.subplots(len(panels), 1, gridspec_kw=dict(height_ratios=heights))
    largest_c = max(float(np.max(np.abs(review["c"]))) for review in reviews) or 1.0
    for ax, (kind, review, lines) in zip(np.atleast_1d(axes), panels):
        if kind == "running":
            steps = np.arange(1, len(review["running"]) + 1)
            ax.plot(steps, review["running"], marker=".")
            ax.axhline(0.5, color="grey", linewidth=0.8)
            ax.set_ylim(0, 1)
            ax.set_xlim(0.5, len(steps) + 0.5)
            ax.set_xlabel("words read")
            ax.set_ylabel("p(positive)")
            ax.set_title(f"{review['label']}: the prediction after each word", fontsize=9)
            continue
        values = np.asarray(review[kind])
        cmap = matplotlib_colormap("RdBu_r" if kind == "c" else "viridis")
        low, high = (-largest_c, largest_c) if kind == "c" else (0.0, 1.0)
        _draw_words(ax, lines, values, cmap, low, high, chars_per_line)
        what = f"cell state c of unit {unit}" if kind == "c" else f"input gate i of unit {unit}"
        ax.set_title(f"{review['label']}: each word coloured by the {what} after reading it", fontsize=9)
    if title:
        figure.suptitle(title)
    return figure


def matplotlib_colormap(name: str):
    from matplotlib import colormaps

    return colormaps[name]


def _wrap(words: list[str], width: int) -> list[list[tuple[int, str]]]:
    """Words, with their index, in lines of at most `width` characters."""
    lines: list[list[tuple[int, str]]] = [[]]
    used = 0
    for k, word in enumerate(words):
        if used + len(word) + 1 > width and lines[-1]:
            lines.append([])
            used = 0
        lines[-1].append((k, word))
        used += len(word) + 1
    return lines


def _draw_words(ax, lines, values, cmap, low, high, chars_per_line) -> None:
    ax.set_axis_off()
    ax.set_xlim(0, chars_per_line)
    ax.set_ylim(len(lines), 0)
    for row, line in enumerate(lines):
        column = 0.0
        for k, word in line:
            level = (values[k] - low) / (high - low) if high > low else 0.5
            color = cmap(float(np.clip(level, 0.0, 1.0)))
            dark = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2] < 0.5
            ax.text(
                column,
                row + 0.5,
                word,
                fontsize=8,
                family="monospace",
                va="center",
                color="white" if dark else "black",
                bbox=dict(facecolor=color, edgecolor="none", pad=1.0),
            )
            column += len(word) + 1
