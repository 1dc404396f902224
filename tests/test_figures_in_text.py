"""No figure in the README or the docs is typed by hand: each is found in a committed report, rounded as shown.

A figure is a number written with at least three significant digits (``0.9917``,
``435.951``, ``1.8e-7``), outside code blocks. It must be one of the committed
reports' numbers (``docs/reports/*.json``) or a documented figure
(`reproductions.documented`), rounded to the digits it is shown with. Settings
(``1e-5``, ``0.01``, ``128``) have fewer digits and are not figures. The README's
table of the articles is generated (`reproductions.article_table`) and must equal
what the reports give.
"""

import json
import re
from decimal import Decimal

import pytest

from reproductions.article_table import BEGIN, END, with_table
from reproductions.documented import DOCUMENTED
from tests.conftest import ROOT

PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("**/*.md"))]
NUMBER = re.compile(r"(?<![\w.\-/])(\d+\.\d+(?:e-?\d+)?|\d+e-?\d+)(?![\w.]*\d)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
REPORTS = sorted((ROOT / "docs" / "reports").glob("*.json"))


def significant_digits(text: str) -> int:
    return len(Decimal(text).normalize().as_tuple().digits) if "." in text else len(text.split("e")[0])


# A version after its package's name ("TensorFlow 2.21") is a fact of the lock, not a measured figure.
VERSION_OF = re.compile(r"(?:python|tensorflow|keras|numpy|torch|playwright|onnx|onnxruntime|chromium)\s*$", re.I)


def figures_in(page) -> list[str]:
    text = CODE.sub(" ", page.read_text())
    if page.name == "changelog.md":  # history, not a claim about the software as it is
        return []
    return [
        match.group(1)
        for match in NUMBER.finditer(text)
        if significant_digits(match.group(1)) >= 3
        and not VERSION_OF.search(text[max(0, match.start() - 12) : match.start()])
    ]


def numbers_in(value) -> list[float]:
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, str):
        try:
            return [float(value)]
        except ValueError:
            return []
    if isinstance(value, dict):
        return [n for item in value.values() for n in numbers_in(item)]
    if isinstance(value, list):
        return [n for item in value for n in numbers_in(item)]
    return []


@pytest.fixture(scope="module")
def known() -> list[float]:
    values = [n for path in REPORTS for n in numbers_in(json.loads(path.read_text()))]
    values += [n for figures in DOCUMENTED.values() for f in figures.values() for n in numbers_in(f.documented)]
    return values


def shown_as(value: float, text: str) -> bool:
    """`value` written with the digits of `text` is `text`."""
    shown = Decimal(text)
    exponent = shown.as_tuple().exponent
    assert isinstance(exponent, int)
    return abs(Decimal(repr(value)) - shown) <= Decimal(5).scaleb(exponent - 1)


def test_the_readme_table_is_the_one_the_reports_give():
    readme = (ROOT / "README.md").read_text()
    assert BEGIN in readme and END in readme
    assert readme == with_table(readme), "run tools/update_readme: the README's table differs from docs/reports"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_figure_in_the_text_is_a_report_figure_rounded_as_shown(page, known):
    missing = [text for text in figures_in(page) if not any(shown_as(value, text) for value in known)]
    assert not missing, f"{page.relative_to(ROOT)} states figures no committed report holds: {missing}"


def test_the_check_finds_a_typed_figure_and_accepts_a_rounded_one(tmp_path, known):
    page = tmp_path / "page.md"
    page.write_text(
        "The cost is 529.6915 and the accuracy 0.9917, the loss 0.123457; `0.4242` in code is skipped, "
        "and TensorFlow 2.21 is a version."
    )
    assert figures_in(page) == ["529.6915", "0.9917", "0.123457"]
    found = [any(shown_as(value, text) for value in known) for text in figures_in(page)]
    assert found[:1] == [True] and found[2] is False
    assert shown_as(0.99166666, "0.9917") and not shown_as(0.9916, "0.9917")
    assert shown_as(1.7881393432617188e-07, "1.8e-7") and not shown_as(2.2e-7, "1.8e-7")
