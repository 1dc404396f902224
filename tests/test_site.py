"""The documentation site: `mkdocs build --strict` (no broken link, no missing reference), and its home page and an
article page render in a real browser with their pictures."""

import html.parser
import subprocess
import sys

import pytest

from tests.conftest import ROOT, assert_renders_not_blank

ARTICLES = ["a-mnist", "b-counting", "c-digits", "d-pytorch", "e-imdb"]


class Images(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs)["src"])


def build_site(out, execute_notebooks: bool = False):
    """`mkdocs build --strict` into `out`, the notebooks run while it builds when `execute_notebooks`."""
    import os

    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=1800 if execute_notebooks else 600,
        env={**os.environ, "TF_LSTM_EXECUTE_NOTEBOOKS": "true" if execute_notebooks else "false"},
    )
    assert built.returncode == 0, built.stderr[-4000:]
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_site(tmp_path_factory.mktemp("site"))


def test_every_page_is_built_with_its_generated_tables(site):
    for page in ["index.html", "reference/index.html", *(f"articles/{name}/index.html" for name in ARTICLES)]:
        assert (site / page).is_file(), page
    mnist = (site / "articles" / "a-mnist" / "index.html").read_text()
    # The documented figure from reproductions/documented.py, beside a real run's verdict and environment.
    assert "0.976562" in mnist and "PASS" in mnist and "tensorflow 2.21.0" in mnist
    reference = (site / "reference" / "index.html").read_text()
    assert "tf_lstm.ScanLSTM" in reference and "from_keras" in reference


@pytest.mark.parametrize("page", ["index.html", "articles/a-mnist/index.html"])
def test_a_page_renders_in_a_real_browser_with_its_pictures(site, page, tmp_path):
    parser = Images()
    parser.feed((site / page).read_text())
    folder = (site / page).parent
    assert all((folder / source).resolve().is_file() for source in parser.sources if "://" not in source)
    if page.startswith("articles"):
        assert len(parser.sources) >= 3  # the run's pictures
    assert_renders_not_blank(site / page, tmp_path / "page.png")


def test_seeing_inside_embeds_a_live_inside_page_its_picture_and_its_measured_figures(site, chromium):
    import json

    from tf_lstm.inside import read_inside_page

    page = site / "seeing-inside" / "index.html"
    text = page.read_text()
    measured = json.loads((ROOT / "docs" / "reports" / "inside_page.json").read_text())
    assert f"{measured['bytes']:,}" in text and f"{measured['sequences']:,}" in text  # from the report, not typed
    embedded = (page.parent / "../reports/digits_lstm/inside.html").resolve()
    assert 'src="../reports/digits_lstm/inside.html"' in text and read_inside_page(embedded)["sequences"] == 360
    parser = Images()
    parser.feed(text)
    assert any(
        source.endswith("inside_page.png") and (page.parent / source).resolve().is_file() for source in parser.sources
    )
    tab = chromium.new_page()
    requests = []
    # The inside page's own requests (the theme's may reach for web fonts, which fail offline).
    tab.on("request", lambda request: requests.append(request.url) if request.frame != tab.main_frame else None)
    try:
        tab.goto(page.as_uri())
        frame = tab.frame_locator("iframe").first
        frame.locator("body[data-ready=true]").wait_for(timeout=30_000)
        assert frame.locator("#title").inner_text().startswith("Inside the digits LSTM")
        assert requests == [embedded.as_uri()]
    finally:
        tab.close()


@pytest.fixture(scope="module")
def executed_site(tmp_path_factory):
    """The site built with every notebook run (TF_LSTM_EXECUTE_NOTEBOOKS=true, as CI builds it; CI passes its
    build in TF_LSTM_EXECUTED_SITE so that it is not built twice)."""
    import os
    from pathlib import Path

    if os.environ.get("TF_LSTM_EXECUTED_SITE"):
        return Path(os.environ["TF_LSTM_EXECUTED_SITE"])
    return build_site(tmp_path_factory.mktemp("executed_site"), execute_notebooks=True)


@pytest.mark.slow
def test_a_notebook_page_shows_its_outputs_and_renders_its_equations_offline(executed_site, chromium):
    """The digits notebook's page: its printed accuracy and its pictures are on the page, and MathJax, served
    with the site, typesets its equations with no request leaving the machine."""
    page = executed_site / "notebooks" / "c_digits" / "index.html"
    text = page.read_text()
    assert "test accuracy 0." in text  # the printed output of a cell that ran
    assert "$z = [x_t, h]W + b$" in text  # the source equation, for MathJax to typeset
    tab = chromium.new_page()
    outside = []
    local = ("file:", "data:", "about:")  # the page, its assets, inline images, MathJax's blank frame
    tab.on("request", lambda request: None if request.url.startswith(local) else outside.append(request.url))
    try:
        tab.goto(page.as_uri())
        tab.wait_for_function("window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0", timeout=60_000)
        rendered = tab.locator(".MathJax, .MathJax_CHTML, .MathJax_SVG")
        assert rendered.count() >= 5  # every inline equation of the markdown cells
        assert "[x_t, h]W" not in tab.locator("body").inner_text()  # no raw LaTeX left on screen
        pictures = tab.locator(".jp-OutputArea-output img")
        assert pictures.count() >= 2  # the run's pictures, shown by its cells
        widths = pictures.evaluate_all("images => images.map(image => image.naturalWidth)")
        assert min(widths) > 100
        assert outside == []
    finally:
        tab.close()
