import json

import pytest

from reproductions.documented import DOCUMENTED, Figure
from reproductions.report import EXIT_FAIL, EXIT_PASS, Report


def test_every_documented_figure_names_its_source_and_a_known_kind():
    for article, figures in DOCUMENTED.items():
        for key, figure in figures.items():
            assert figure.source, (article, key)
            assert figure.kind in {"rel", "abs", "min", "max", "true", "info"}, (article, key)


@pytest.mark.parametrize(
    "figure, good, bad",
    [
        (Figure("x", 100.0, "rel", 1e-3), 100.09, 100.2),
        (Figure("x", 1.0, "abs", 1e-3), 1.0009, 1.002),
        (Figure("x", 0.95, "min"), 0.95, 0.9499),
        (Figure("x", 0.0075, "max"), 0.0075, 0.0076),
        (Figure("x", True, "true"), True, False),
    ],
)
def test_figure_judgement(figure, good, bad):
    assert figure.passes(good) is True
    assert figure.passes(bad) is False
    assert figure.passes(float("nan")) is (figure.kind == "true")


def test_report_marks_fail_and_exits_1_on_a_wrong_figure(tmp_path, capsys):
    report = Report("counting_rnn", tmp_path)
    assert report.check("gd_cost_epoch_100", 529.6915) is True
    assert report.check("gd_final_wx", 1.2) is False
    assert report.finish() == EXIT_FAIL
    out = capsys.readouterr().out
    assert "GD final wx" in out and "FAIL" in out
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["passed"] is False
    assert [row["result"] for row in saved["figures"]] == ["PASS", "FAIL"]


def test_report_passes_and_exits_0(tmp_path):
    report = Report("counting_rnn", tmp_path)
    report.check("initial_wx", 0.09)
    report.record("extra", {"a": float("inf")})
    assert report.finish() == EXIT_PASS
    assert json.loads((tmp_path / "report.json").read_text())["results"]["extra"]["a"] == "inf"


def test_unknown_figure_is_an_error(tmp_path):
    with pytest.raises(KeyError, match="no documented figure 'nope'"):
        Report("counting_rnn", tmp_path).check("nope", 1.0)
