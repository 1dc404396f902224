"""The pictures of a trained LSTM's inside that the reproductions draw (`tf_lstm.trace`, `tf_lstm.pictures`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from reproductions.report import Report


def picture_the_inside(
    report: Report,
    model,
    layer,
    shown_x: np.ndarray,
    shown_y: np.ndarray,
    many_x: np.ndarray,
    loss: Callable[[Any, Any], Any],
    *,
    answers_of: Callable[[Any], np.ndarray],
    step_name: str,
    what: str,
    images: Sequence[np.ndarray] | None = None,
    labels: Sequence[Any] | None = None,
) -> None:
    """Draws `layer`'s gates, cell state and gradients for `shown_x`, and its gate saturation over `many_x`.

    Writes ``inside_gates.png`` and ``inside_saturation.png`` into the run
    folder and records the per-step gradient norms and saturation shares.

    Args:
        model, layer: the trained model and its LSTM layer (which reads the
            model's input).
        shown_x, shown_y: a few examples and their targets, one row each.
        many_x: more examples, for the saturation shares.
        loss: ``(targets, model outputs) -> per-example loss``.
        answers_of: ``trace -> [examples, steps]``, the answer after each step.
        step_name: what a step reads (``"row"``, ``"word"``).
        what: the model, for the titles.
        images: what to show of each example's input (default: `shown_x`).
        labels: each shown example's label.
    """
    import tf_lstm
    from tf_lstm.pictures import gates_figure, saturation_figure

    traced = tf_lstm.trace(layer, shown_x)
    gradients = tf_lstm.gradients_through_time(model, shown_x, shown_y, loss, layer=layer)
    figure = gates_figure(
        traced,
        examples=range(len(shown_x)),
        images=list(shown_x) if images is None else images,
        labels=labels,
        gradients=gradients["h"],
        answers=answers_of(traced).tolist(),
        step_name=step_name,
        title=f"{what}: gates and cell state at every {step_name}, and the gradient reaching it",
    )
    report.plot(figure, "inside_gates.png")
    saturated = tf_lstm.saturation(tf_lstm.trace(layer, many_x))
    report.plot(
        saturation_figure(saturated, f"{what}: gate saturation per unit over {len(many_x)} examples"),
        "inside_saturation.png",
    )
    report.record(
        "inside",
        dict(
            gradient_norm_h=gradients["h"].tolist(),
            gradient_norm_c=gradients["c"].tolist(),
            saliency_x=gradients["x"].tolist(),
            saturation={gate: {k: v.tolist() for k, v in shares.items()} for gate, shares in saturated.items()},
        ),
    )
