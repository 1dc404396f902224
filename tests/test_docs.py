"""The documentation: every public name in the API reference, and every Python block of the README and the docs
runs (the blocks that read an export run after short exports made here)."""

import os
import re
import subprocess
import sys

import pytest

import tf_lstm
from tests.conftest import ROOT
from tests.test_imdb import write_aclimdb
from tests.test_resume import fake_mnist

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def blocks():
    return [
        pytest.param(code, id=f"{page.relative_to(ROOT)}:{k}")
        for page in PAGES
        for k, code in enumerate(BLOCK.findall(page.read_text()))
    ]


def test_every_public_name_is_in_the_api_reference_and_nothing_else():
    documented = re.findall(r"^::: tf_lstm\.(\w+)$", (ROOT / "docs" / "reference.md").read_text(), re.M)
    assert sorted(documented) == sorted(tf_lstm.__all__)


def test_the_docs_have_python_blocks_to_run():
    assert len(blocks()) >= 6


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """A folder holding short exports of the MNIST and IMDB reproductions, where the docs' blocks expect them."""
    root = tmp_path_factory.mktemp("docs")
    mnist = fake_mnist(root / "mnist")
    imdb = write_aclimdb(root / "imdb")
    common = [f"--output_dir={root / 'runs'}", "--notensorboard"]
    for args in (
        [
            "reproductions.mnist_lstm",
            f"--mnist_dir={mnist}",
            "--mnist_train_examples=1280",
            "--mnist_validation_images=0",
            "--mnist_hidden=16",
            "--seeds=1",
        ],
        [
            "reproductions.imdb_sentiment",
            f"--imdb_path={imdb}",
            "--imdb_max_epochs=1",
            "--imdb_layer=scan",
            "--imdb_valid_portion=0.4",
        ],
    ):
        run = subprocess.run(
            [sys.executable, "-m", *args, *common], capture_output=True, text=True, cwd=root, timeout=600
        )
        assert run.returncode in (0, 1), run.stderr[-3000:]  # short runs miss the articles' figures
    assert (root / "saved_models" / "mnist_lstm").is_dir() and (root / "saved_models" / "imdb_sentiment").is_dir()
    return root


@pytest.mark.slow  # two short trainings for the exports, then a process a block
@pytest.mark.parametrize("code", blocks())
def test_every_python_block_runs(code, exports):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=exports, timeout=300, env=env
    )
    assert run.returncode == 0, run.stderr[-3000:]
