"""The pictures of the inside (`tf_lstm.pictures`, `reproductions.inside`): what each panel shows, files written."""

import json

import keras
import numpy as np

import tf_lstm
from reproductions.inside import picture_the_inside
from reproductions.report import Report
from tf_lstm.pictures import gates_figure, saturation_figure

BATCH, STEPS, FEATURES, UNITS = 3, 6, 4, 5


def _traced():
    layer = tf_lstm.ScanLSTM(UNITS)
    x = np.random.default_rng(0).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    layer(x)
    return layer, x, tf_lstm.trace(layer, x)


def test_gates_figure_has_a_row_per_example_and_a_labelled_panel_per_quantity():
    _, x, traced = _traced()
    figure = gates_figure(
        traced,
        examples=[0, 2],
        images=list(x[[0, 2]]),
        labels=[7, 1],
        gradients=np.ones((BATCH, STEPS)),
        answers=[[1] * STEPS, [2] * STEPS],
        step_name="row",
    )
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert titles.count("forget gate f") == 2 and titles.count("cell state c") == 2
    assert "example 2, label 1: input" in titles
    heatmap = next(ax for ax in figure.axes if ax.get_title() == "input gate i")
    assert heatmap.get_xlabel() == "row" and heatmap.get_ylabel() == "unit"
    np.testing.assert_array_equal(heatmap.images[0].get_array(), np.asarray(traced["i"])[0].T)
    assert len(gates_figure(traced).axes) == 4 + 4  # four heatmaps and their colour bars, no image or gradient


def test_saturation_figure_shows_every_unit_of_every_gate():
    _, _, traced = _traced()
    figure = saturation_figure(tf_lstm.saturation(traced), "title")
    assert [ax.get_title() for ax in figure.axes] == ["input gate i", "forget gate f", "output gate o"]
    assert all(len(ax.collections[0].get_offsets()) == UNITS for ax in figure.axes)


def test_picture_the_inside_writes_both_pictures_and_records_the_figures(tmp_path):
    inputs = keras.Input((STEPS, FEATURES))
    lstm = tf_lstm.ScanLSTM(UNITS, name="lstm")
    model = keras.Model(inputs, keras.layers.Dense(3)(lstm(inputs)))
    x = np.random.default_rng(0).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    report = Report("digits_lstm", tmp_path)
    picture_the_inside(
        report,
        model,
        lstm,
        x[:2],
        np.array([0, 1]),
        x,
        lambda y, out: keras.losses.sparse_categorical_crossentropy(y, out, from_logits=True),
        answers_of=lambda traced: np.zeros((2, STEPS), int),
        step_name="row",
        what="test",
    )
    assert report.plots == ["inside_gates.png", "inside_saturation.png"]
    for name in report.plots:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    inside = json.loads(json.dumps(report.results["inside"]))
    assert np.asarray(inside["gradient_norm_h"]).shape == (2, STEPS)
    assert len(inside["saturation"]["f"]["high"]) == UNITS


def test_reading_figure_colours_every_word_and_wraps_long_reviews():
    from tf_lstm.pictures import reading_figure

    words = [f"w{k}" for k in range(120)]
    review = dict(
        words=words,
        c=np.linspace(-1, 1, 120),
        i=np.linspace(0, 1, 120),
        running=np.linspace(0.2, 0.9, 120),
        label="a review",
    )
    figure = reading_figure([review], unit=3, title="t", chars_per_line=60)
    c_panel, i_panel, running_panel = figure.axes
    assert [t.get_text() for t in c_panel.texts] == words and len(i_panel.texts) == 120
    assert c_panel.get_ylim()[0] > 1  # wrapped over several lines
    first, last = (t.get_bbox_patch().get_facecolor() for t in (c_panel.texts[0], c_panel.texts[-1]))
    assert first != last  # coloured by the value
    assert "cell state c of unit 3" in c_panel.get_title() and running_panel.get_ylabel() == "p(positive)"


def only_test_reviews(test_sequences, y_test):
    """IMDB data holding only test reviews (ids of the words t2..t49), as the inside pictures read them."""
    from reproductions.imdb_sentiment import ImdbData

    empty = np.zeros((0, 1), np.int64)
    return ImdbData(
        vocabulary=["", "[UNK]", *[f"t{k}" for k in range(2, 50)]],
        x_train=empty,
        y_train=empty[:, 0],
        x_valid=empty,
        y_valid=empty[:, 0],
        test_sequences=test_sequences,
        y_test=y_test,
    )


def test_picture_imdb_reading_draws_a_review_of_each_class(tmp_path):
    import tensorflow as tf

    from reproductions.imdb_sentiment import build_classifier
    from reproductions.inside import picture_imdb_reading

    classifier = build_classifier("scan", vocabulary_size=50, embedding_dim=4, units=3)
    rng = np.random.default_rng(0)
    rows = [rng.integers(2, 50, size=n).tolist() for n in (30, 8, 25, 40, 12, 22)]
    data = only_test_reviews(
        tf.ragged.constant(rows, dtype=tf.int64),
        np.array([1, 0, 0, 1, 1, 0]),
    )
    report = Report("imdb_sentiment", tmp_path)
    picture_imdb_reading(report, classifier, data, reviews_for_units=6)
    assert report.plots == ["inside_reading.png", "inside_units.png"]
    inside = report.results["inside"]
    assert 0 <= inside["unit"] < 3 and len(inside["unit_correlations"]) == 3
    assert [r["words"] for r in inside["reading"]] == [30, 25]  # the first of each class with 20-90 words


def test_the_reviews_come_from_both_classes_when_the_test_set_is_sorted_by_class(tmp_path):
    import tensorflow as tf

    from reproductions.imdb_sentiment import build_classifier
    from reproductions.inside import picture_imdb_reading

    classifier = build_classifier("scan", vocabulary_size=50, embedding_dim=4, units=3)
    rows = [np.random.default_rng(k).integers(2, 50, size=25).tolist() for k in range(8)]
    data = only_test_reviews(
        tf.ragged.constant(rows, dtype=tf.int64),
        np.array([1, 1, 1, 1, 0, 0, 0, 0]),  # as the IMDB test files come: by class
    )
    report = Report("imdb_sentiment", tmp_path)
    picture_imdb_reading(report, classifier, data, reviews_for_units=4)
    labels = [r["label"] for r in report.results["inside"]["reading"]]
    assert len(labels) == 2 and "positive" in labels[0] and "negative" in labels[1]
