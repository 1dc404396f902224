import json

import numpy as np
import pytest

from reproductions.documented import DOCUMENTED, Figure
from reproductions.report import EXIT_FAIL, EXIT_PASS, Report


def test_every_documented_figure_names_its_source_and_a_known_kind():
    for article, figures in DOCUMENTED.items():
        for key, figure in figures.items():
            assert figure.source, (article, key)
            assert figure.kind in {"rel", "abs", "min", "max", "true", "digits", "equal", "info"}, (article, key)
            if figure.kind == "digits":  # the text as printed: a number, its last digit the unit
                assert isinstance(figure.documented, str) and float(figure.documented) == pytest.approx(
                    float(figure.documented)
                ), (article, key)


@pytest.mark.parametrize(
    "figure, good, bad",
    [
        (Figure("x", 100.0, "rel", 1e-3), 100.09, 100.2),
        (Figure("x", 1.0, "abs", 1e-3), 1.0009, 1.002),
        (Figure("x", 0.95, "min"), 0.95, 0.9499),
        (Figure("x", 0.0075, "max"), 0.0075, 0.0076),
        (Figure("x", True, "true"), True, False),
        # Printed digits, one unit either way: 0.0663 takes 0.06625 (rounds to 0.0662 or 0.0663) up to 0.06645.
        (Figure("x", "0.0663", "digits"), 0.06644, 0.06646),
        (Figure("x", "0.0663", "digits"), 0.06616, 0.06614),
        (Figure("x", "529.6915", "digits"), 529.69155, 529.6937),
        (Figure("x", "8.07410061e-01", "digits"), 0.807410062, 0.8074101),
        (Figure("x", "0.0900", "digits"), 0.09003, 0.0902),
        (Figure("x", "[10, 20, 40]", "equal"), [10, 20, 40], [10, 20, 41]),
        (Figure("x", "[[2., 1.], [4., 3.]]", "equal"), [[2.0, 1.0], [4.0, 3.0]], [[2.0, 1.0], [4.0, 3.0000001]]),
    ],
)
def test_figure_judgement(figure, good, bad):
    assert figure.passes(good) is True
    assert figure.passes(bad) is False
    for broken in (float("nan"), float("inf"), -float("inf"), None, "0.99", "yes", b"1", [1.0]):
        assert figure.passes(broken) is False, broken


def test_digits_unit_is_the_last_printed_digit():
    assert Figure("x", "0.0663", "digits").unit == pytest.approx(1e-4)
    assert Figure("x", "529.6915", "digits").unit == pytest.approx(1e-4)
    assert Figure("x", "3.92260008e-05", "digits").unit == pytest.approx(1e-13)
    with pytest.raises(ValueError, match="finite number"):
        _ = Figure("x", "nan", "digits").unit


def test_equal_kind_refuses_other_shapes():
    figure = Figure("x", "[10, 20, 40]", "equal")
    for other in ([10, 20], [[10, 20, 40]], "10 20 40", None):
        assert figure.passes(other) is False, other


def test_a_figure_rounding_moves_is_judged_within_the_span_of_rounding_variants(tmp_path):
    report = Report("counting_rnn", tmp_path)
    # Variants within one printed unit: the figure is judged to its digits (0.3247 is not 0.3313).
    assert report.check("rmsprop_cost_epoch_200", 0.32467, envelope=(0.32467, 0.32470)) is False
    # Variants that rounding spreads over 0.3247-0.3337: the printed 0.3313 lies inside.
    assert report.check("rmsprop_cost_epoch_200", 0.32467, envelope=(0.32467, 0.33365)) is True
    # ... and a printed value outside the span still fails.
    assert report.check("rmsprop_cost_epoch_200", 0.23109, envelope=(0.23109, 0.24711)) is False
    rows = report.rows
    assert "follows rounding" in rows[1]["tolerance"] and rows[1]["envelope"] == [0.32467, 0.33365]
    assert rows[0]["tolerance"] == "printed digits ±1"


def test_true_kind_takes_only_true():
    figure = Figure("x", True, "true")
    assert figure.passes(np.bool_(True)) is True
    for other in (1, 1.0, "True", "false", float("nan"), np.float64("nan"), [True], np.bool_(False)):
        assert figure.passes(other) is False, other


def test_report_marks_fail_and_exits_1_on_a_wrong_figure(tmp_path, capsys):
    report = Report("counting_rnn", tmp_path)
    assert report.check("gd_cost_epoch_100", 529.6915) is True
    assert report.check("gd_final_wx", 1.2) is False
    assert report.finish() == EXIT_FAIL
    out = capsys.readouterr().out
    assert "GD final wx" in out and "FAIL" in out
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["passed"] is False
    assert [row["result"] for row in saved["figures"]][:2] == ["PASS", "FAIL"]


def test_report_passes_and_exits_0(tmp_path):
    report = Report("torch_equations", tmp_path)
    report.check("max_abs_difference", 2e-7)
    report.check("max_abs_difference_keras", 1e-7)
    report.record("extra", {"a": float("inf")})
    assert report.finish() == EXIT_PASS
    assert json.loads((tmp_path / "report.json").read_text())["results"]["extra"]["a"] == "inf"


def test_unknown_figure_is_an_error(tmp_path):
    with pytest.raises(KeyError, match="no documented figure 'nope'"):
        Report("counting_rnn", tmp_path).check("nope", 1.0)


def test_an_expected_figure_never_judged_fails_the_report(tmp_path, capsys):
    report = Report("torch_equations", tmp_path)
    report.check("max_abs_difference", 2e-7)  # the difference to Keras is never judged
    assert report.finish() == EXIT_FAIL
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["status"] == "FAIL"
    assert ("max_abs_difference_keras", "never judged", "FAIL") in [
        (row["key"], row["reproduced"], row["result"]) for row in saved["figures"]
    ]
    assert "never judged: max_abs_difference_keras" in capsys.readouterr().out


def test_a_report_that_judged_nothing_is_not_a_pass(tmp_path, capsys):
    report = Report("torch_equations", tmp_path)
    report.not_run("max_abs_difference", "a reason")
    report.not_run("max_abs_difference_keras", "a reason")
    assert report.finish() == EXIT_FAIL
    assert report.status == "NO VERDICT"
    assert "no figure was judged" in capsys.readouterr().out


def test_figures_left_out_by_the_settings_are_shown_not_failed(tmp_path):
    report = Report("torch_equations", tmp_path)
    report.check("max_abs_difference", 2e-7)
    report.not_run("max_abs_difference_keras", "a reason")
    assert report.finish() == EXIT_PASS
    rows = json.loads((tmp_path / "report.json").read_text())["figures"]
    assert rows[-1]["reproduced"] == "not run (a reason)" and rows[-1]["result"] == "-"
    with pytest.raises(KeyError):
        report.not_run("no_such_figure", "typo")


def test_a_changed_protocol_is_named_in_the_header(tmp_path, capsys):
    report = Report("digits_lstm", tmp_path, protocol=dict(epochs=(2, 100), hidden=(50, 50)))
    report.check("mean_test_accuracy", 0.5, label="test accuracy after 2 epochs, mean of 3 seeds")
    report.check("min_train500_accuracy", 0.5)
    report.finish()
    out = capsys.readouterr().out
    assert "PROTOCOL CHANGED: epochs=2 (article: 100) ==" in out and "hidden" not in out.split("\n")[1]
    assert "test accuracy after 2 epochs, mean of 3 seeds" in out and "after 100 epochs" not in out
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["protocol_changes"] == ["epochs"] and saved["protocol"]["epochs"] == {"run": 2, "article": 100}


def test_nan_among_differences_is_not_dropped():
    from reproductions.torch_equations import largest, largest_difference

    assert largest([0.0, 1e-7]) == 1e-7
    assert np.isnan(largest([1e-7, float("nan"), 1e-8]))  # Python's max() would give 1e-7
    assert np.isnan(largest_difference(np.array([0.0, np.nan]), np.zeros(2)))
    assert np.isinf(largest_difference(np.array([np.inf]), np.zeros(1)))
    report = Report("torch_equations", "/nonexistent")
    assert report.check("max_abs_difference", largest([1e-7, float("nan")])) is False
