"""The pictures of a trained LSTM's inside that the reproductions draw (`tf_lstm.trace`, `tf_lstm.pictures`), and
the interactive page (`tf_lstm.inside_page`) each run writes."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from reproductions.report import Report

if TYPE_CHECKING:  # imdb_sentiment imports this module
    from reproductions.imdb_sentiment import ImdbData


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
    traced_many = tf_lstm.trace(layer, many_x)
    report.log.gates(1, traced_many, "gates_after_training")
    saturated = tf_lstm.saturation(traced_many)
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


def _reading(classifier, ids, unit: int) -> dict[str, Any]:
    """One review's reading: `unit`'s c and input gate after each word, and the prediction after each word (the
    head on the mean of h so far, as the model pools)."""
    import tensorflow as tf

    import tf_lstm

    embedding, lstm, head = (classifier.get_layer(name) for name in ("embedding", "lstm", "classifier"))
    one = tf_lstm.trace(lstm, embedding(ids[None]))
    h = np.asarray(one["h"])[0]
    running = np.asarray(tf.nn.softmax(head(np.cumsum(h, axis=0) / np.arange(1, len(ids) + 1)[:, None])))[:, 1]
    return dict(c=np.asarray(one["c"])[0, :, unit], i=np.asarray(one["i"])[0, :, unit], running=running)


def _units_figure(correlation: np.ndarray, reviews: int):
    """The 12 units whose mean cell state correlates most with the prediction, as bars."""
    from matplotlib.figure import Figure

    top = np.argsort(-np.abs(correlation))[:12]
    figure = Figure(figsize=(7, 3.4), layout="constrained")
    axes = figure.subplots()
    axes.bar(
        [str(u) for u in top], correlation[top], color=["tab:red" if v > 0 else "tab:blue" for v in correlation[top]]
    )
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.set_xlabel("unit")
    axes.set_ylabel("correlation")
    axes.set_title(f"Units whose mean cell state follows the prediction most, over {reviews} test reviews", fontsize=10)
    return figure


def picture_imdb_reading(report: Report, classifier, data: ImdbData, *, reviews_for_units: int = 500) -> None:
    """The trained classifier reading a positive and a negative test review, word by word.

    Picks the unit whose cell state (averaged over a review's words)
    correlates most with the classifier's prediction over a seeded random
    sample of `reviews_for_units` test reviews (the test set comes sorted by
    class: its first reviews are all of one); draws the two reviews' words coloured
    by that unit's c and input gate, with the prediction after each word
    (the head applied to the mean of h so far, as the model pools), into
    ``inside_reading.png``, and the most correlated units into
    ``inside_units.png``.
    """
    import tensorflow as tf

    import tf_lstm
    from tf_lstm.pictures import reading_figure

    embedding, lstm = classifier.get_layer("embedding"), classifier.get_layer("lstm")
    vocabulary = np.asarray(data.vocabulary)
    n = min(reviews_for_units, len(data.y_test))
    sample = np.sort(np.random.default_rng(0).permutation(len(data.y_test))[:n])
    labels = np.asarray(data.y_test)[sample]
    ids = tf.gather(data.test_sequences, sample).to_tensor().numpy()
    mask = ids != 0
    traced = tf_lstm.trace(lstm, embedding(ids), mask=mask)
    report.log.gates(1, {k: np.asarray(v)[mask] for k, v in traced.items() if k in "ifgoc"}, "gates_after_training")
    weights = mask[:, :, None].astype(np.float64)
    mean_c = (np.asarray(traced["c"]) * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1)
    predicted = classifier.predict(ids, verbose=0)[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.nan_to_num([np.corrcoef(mean_c[:, u], predicted)[0, 1] for u in range(mean_c.shape[1])])
    unit = int(np.argmax(np.abs(correlation)))

    shown: list[dict[str, Any]] = []
    for label, name in ((1, "a positive review"), (0, "a negative review")):
        of_label = [k for k in range(n) if labels[k] == label and mask[k].any()]
        if not of_label:  # a small test subset may hold one class only
            continue
        k = next((k for k in of_label if 20 <= mask[k].sum() <= 90), of_label[0])
        reading = _reading(classifier, ids[k, : int(mask[k].sum())], unit)
        reading["words"] = [str(w) for w in vocabulary[ids[k, : int(mask[k].sum())]]]
        reading["label"] = f"test review {sample[k]}, {name} (p(positive) at the end {reading['running'][-1]:.2f})"
        shown.append(reading)
    report.plot(
        reading_figure(shown, unit=unit, title=f"IMDB: the LSTM reading, unit {unit} (the most sentiment-correlated)"),
        "inside_reading.png",
    )
    report.plot(_units_figure(correlation, n), "inside_units.png")
    report.record(
        "inside",
        dict(
            unit=unit,
            unit_correlations=correlation.tolist(),
            reading=[dict(label=r["label"], words=len(r["words"])) for r in shown],
        ),
    )


def write_inside_page(report: Report, model, x, *, what: str, **options) -> None:
    """Writes ``inside.html`` (`tf_lstm.inside_page` of `model` on `x`) into the run folder, records its size and
    the seconds it took under ``inside_page``; `options` go to `tf_lstm.inside_page`."""
    import tf_lstm

    path = report.run_dir / "inside.html"
    started = time.perf_counter()
    tf_lstm.inside_page(model, x, path, title=f"Inside {what}", **options)
    seconds = time.perf_counter() - started
    report.record("inside_page", dict(file=path.name, sequences=len(x), bytes=path.stat().st_size, seconds=seconds))
    print(f"inside page of {len(x)} sequences written to {path} ({path.stat().st_size:,} bytes, {seconds:.1f} s)")


def imdb_page_reviews(data: ImdbData, maxlen: int, count: int = 1000, seed: int = 0):
    """`count` test reviews of at most `maxlen` tokens (the length the model was trained on), a seeded random
    sample in their order in the test set, padded to `maxlen`: their ids and labels."""
    import tensorflow as tf

    lengths = np.asarray(data.test_sequences.row_lengths())
    short = np.flatnonzero((lengths <= maxlen) & (lengths > 0))
    chosen = np.sort(np.random.default_rng(seed).permutation(short)[:count])
    ids = tf.gather(data.test_sequences, chosen).to_tensor(shape=[None, maxlen]).numpy()
    return ids, np.asarray(data.y_test)[chosen]
