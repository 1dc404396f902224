import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest

from tf_lstm.distribute import split_cpu

# Two logical CPUs, so MirroredStrategy has two replicas here (tests/test_distribute.py);
# it must happen before TensorFlow's first op. Ops go to /cpu:0 unless a test says otherwise.
split_cpu(2)
LOGICAL_CPUS = ["/cpu:0", "/cpu:1"]

ROOT = pathlib.Path(__file__).resolve().parents[1]

# CI sets this: it installs torch and has ../shared/data, so a test skipped for
# want of either would hide a test that never ran. Such skips fail instead.
NO_SKIP_VARIABLE = "TF_LSTM_NO_SKIP"


def skip_unless_required(reason: str) -> None:
    """Skips the test for `reason`, or fails it when $TF_LSTM_NO_SKIP says this machine must have what it lacks."""
    if os.environ.get(NO_SKIP_VARIABLE, "") not in ("", "0"):
        pytest.fail(f"{reason}, and ${NO_SKIP_VARIABLE} is set: this run must not skip it", pytrace=False)
    pytest.skip(reason)


def require_torch():
    """The torch module; without it, `skip_unless_required`."""
    try:
        import torch
    except ImportError:
        skip_unless_required("PyTorch is not installed (pip install torch==2.13.0)")
    return torch


def shared_data_dir() -> pathlib.Path | None:
    """The real datasets (../shared/data), when this machine has them."""
    candidate = os.environ.get("TF_LSTM_DATA_DIR") or ROOT.parent / "shared" / "data"
    candidate = pathlib.Path(candidate)
    return candidate if candidate.is_dir() else None


@pytest.fixture
def data_dir() -> pathlib.Path:
    path = shared_data_dir()
    if path is None:
        skip_unless_required("the real datasets (../shared/data or $TF_LSTM_DATA_DIR) are not on this machine")
    return path


def assert_renders_not_blank(page: pathlib.Path, shot: pathlib.Path) -> None:
    """`page` rendered by a real headless browser (Debian's chromium in CI) is not blank: its tables, text and
    pictures cover a good share of the screenshot in many shades."""
    import shutil
    import subprocess

    import matplotlib.image
    import numpy as np

    browser = next(
        (shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None
    )
    if browser is None:
        skip_unless_required("no headless browser (chromium) on this machine; .ci/run installs Debian's")
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1280,2400",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert (pixels.mean(axis=-1) < 0.9).mean() > 0.02
    assert len(np.unique((pixels * 255).astype(int).reshape(-1, 3), axis=0)) > 100


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium driven by Playwright (no browser download: its own executable); skipped without either."""
    from benchmarks.browser import CHROMIUM_FLAGS, chromium_executable

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_unless_required("Playwright is not installed (the test extra has it)")
    executable = chromium_executable()
    if executable is None:
        skip_unless_required("no chromium on this machine; .ci/run installs Debian's")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()
