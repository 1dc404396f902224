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
            if kind == "image":
                assert images is not None
                ax.imshow(images[row], cmap="gray_r")
                label = "" if labels is None else f", label {labels[row]}"
                ax.set_title(f"example {example}{label}: input", fontsize=9)
                ax.set_xlabel("feature")
                ax.set_ylabel(step_name)
            elif kind == "gradient":
                assert gradients is not None
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
