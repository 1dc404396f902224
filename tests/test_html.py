"""``runs/index.html`` (`reproductions.html`): written by the runner, every figure and picture on it, rendered."""

import html.parser
import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, assert_renders_not_blank


class Page(html.parser.HTMLParser):
    """The page's pictures, text, and table rows (each a list of its cells' text)."""

    def __init__(self):
        super().__init__()
        self.images, self.text, self.rows, self.links = [], [], [], []
        self._cell = None

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        elif tag == "a":
            self.links.append(dict(attrs)["href"])
        elif tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The two quick reproductions through the runner, as a user runs it."""
    out = tmp_path_factory.mktemp("runs")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "reproductions",
            "--only=counting_rnn,torch_equations",
            f"--output_dir={out}",
            "--export_dir=none",
            "--notensorboard",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out


def test_the_page_holds_every_figure_and_picture_of_every_report(runs):
    page = Page()
    page.feed((runs / "index.html").read_text())
    text = " ".join(page.text)
    rows = {tuple(cells[:1]): cells for cells in page.rows}
    for name in ("counting_rnn", "torch_equations"):
        report = json.loads((runs / name / "report.json").read_text())
        for figure in report["figures"]:
            assert figure["figure"] in text, figure["figure"]
            cells = rows[(figure["figure"],)]  # its row: the reproduced figure and the verdict, as the report has them
            reproduced = figure["reproduced"]
            shown = f"{reproduced:.6g}" if isinstance(reproduced, float) else str(reproduced)
            assert cells[2] == shown and cells[4] == figure["result"], (cells, figure)
        for picture in report["plots"]:
            assert f"{name}/{picture}" in page.images
    assert page.images and all((runs / source).is_file() for source in page.images)
    assert "PASS" in text and "python -m reproductions --only=counting_rnn,torch_equations" in text
    assert not list(runs.glob(".index.html*"))  # written atomically: no temporary left


def test_each_runs_inside_page_is_linked_and_holds_what_its_report_says(runs):
    from tf_lstm.inside import read_inside_page

    page = Page()
    page.feed((runs / "index.html").read_text())
    for name, sequences, states in (("counting_rnn", 20, ["s"]), ("torch_equations", 16, list("hcifgo"))):
        assert f"{name}/inside.html" in page.links
        report = json.loads((runs / name / "report.json").read_text())["results"]["inside_page"]
        held = read_inside_page(runs / name / "inside.html")
        assert report["sequences"] == held["sequences"] == sequences
        assert report["bytes"] == (runs / name / "inside.html").stat().st_size
        assert list(held["tracks"][0]["states"]) == states
    # PyTorch's page: a two-layer bidirectional LSTM, every layer and direction a track of its own.
    held = read_inside_page(runs / "torch_equations" / "inside.html")
    assert [(t["name"].split(" ", 1)[1], t["direction"]) for t in held["tracks"]] == [
        ("layer 0 (forward)", "forward"),
        ("layer 0 (backward)", "backward"),
        ("layer 1 (forward)", "forward"),
        ("layer 1 (backward)", "backward"),
    ]


def test_the_page_renders_in_a_real_browser(runs, tmp_path):
    assert_renders_not_blank(runs / "index.html", tmp_path / "index.png")


def test_the_exported_files_are_listed_with_their_measures(tmp_path):
    from reproductions.html import index_page

    row = dict(accuracy=0.9663, max_abs_difference=1.6e-6, bytes=409_000, batch1_ms=0.17, batch1024_ms=50.2)
    report = dict(figures=[], plots=[], results=dict(tflite={"SavedModel": row, "model_int8.tflite": row}))
    (tmp_path / "mnist_lstm").mkdir()
    (tmp_path / "mnist_lstm" / "report.json").write_text(json.dumps(report))
    summary = [
        dict(reproduction="mnist_lstm", status="PASS", seconds=1.0, report=str(tmp_path / "mnist_lstm" / "report.json"))
    ]
    page = Page()
    from reproductions.environment import environment

    page.feed(index_page(summary, tmp_path, "python -m reproductions", environment()))
    text = " ".join(page.text)
    assert "model_int8.tflite" in text and "0.9663" in text and "1.6e-06" in text and "409000" in text
