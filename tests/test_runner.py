"""`python -m reproductions`: the summary, skips and --require_all, exit statuses, TFDS downloads."""

import json
import os
import subprocess
import sys
import time

from reproductions import cli
from tests.conftest import ROOT

MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"


def run(args, tmp_path, env_extra=None, timeout=600):
    env = {k: v for k, v in os.environ.items() if k != "TF_LSTM_DATA_DIR"}
    env.update(env_extra or {})
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "reproductions",
            *args,
            f"--output_dir={tmp_path / 'out'}",
            "--export_dir=none",
            f"--tfds_data_dir={tmp_path / 'tfds'}",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        env=env,
    )


def without_torch(tmp_path):
    """An environment whose `import torch` fails, whether or not torch is installed."""
    (tmp_path / "fake").mkdir(exist_ok=True)
    (tmp_path / "fake" / "torch.py").write_text("raise ImportError('No module named torch')\n")
    return {"PYTHONPATH": f"{tmp_path / 'fake'}{os.pathsep}{ROOT}"}


def test_summary_counts_skips_and_require_all_turns_a_skip_into_a_failure(tmp_path):
    env = without_torch(tmp_path)
    result = run(["--only=counting_rnn,torch_equations"], tmp_path, env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [(row["reproduction"], row["status"]) for row in summary] == [
        ("counting_rnn", "PASS"),
        ("torch_equations", "SKIPPED"),
    ]
    assert "PyTorch is not installed" in summary[1]["reason"]
    # The shared flags given are said, with the reproductions each applies to: none is silently ignored.
    assert "--export_dir=none applies to none of counting_rnn, torch_equations" in result.stdout
    assert f"--tfds_data_dir={tmp_path / 'tfds'} applies to none of" in result.stdout
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("1 ran: 1 passed, 0 did not; 1 skipped (torch_equations: PyTorch is not installed")
    assert last.endswith("exit status 0")
    table = (tmp_path / "out" / "summary.md").read_text()
    assert "| counting_rnn | PASS |" in table and "GradientDescent final wx (float32): 1.06" in table

    strict = run(["--only=counting_rnn,torch_equations", "--require_all"], tmp_path, env)
    assert strict.returncode == 1, strict.stdout[-3000:] + strict.stderr[-3000:]
    assert "--require_all: a skip is a failure; exit status 1" in strict.stdout.strip().splitlines()[-1]


def test_nothing_run_is_not_a_pass(tmp_path):
    result = run(["--only=torch_equations"], tmp_path, without_torch(tmp_path))
    assert result.returncode == 1
    assert result.stdout.strip().splitlines()[-1].startswith("0 ran: 0 passed, 0 did not; 1 skipped")


# TEST-NET-1 (RFC 5737): an address no host answers, online or off, so the offline path runs on any machine.
UNREACHABLE = "http://192.0.2.1:9/"


def offline(module, args, tmp_path):
    """`module`'s command with TFDS's MNIST host pointed at an address that never answers."""
    script = (
        "import sys\n"
        "import reproductions.mnist_lstm as mnist\n"
        f"mnist.MNIST_URL = {UNREACHABLE!r}\n"
        f"import {module} as command\n"
        f"sys.argv = [{module!r}, *{args!r}]\n"
        "from reproductions import protocol\n"
        "command.run() if hasattr(command, 'run') else protocol.main(command)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_LSTM_DATA_DIR"}
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120, env=env
    )


def test_offline_without_local_data_skips_mnist_quickly_with_the_fix(tmp_path):
    start = time.monotonic()
    common = [f"--output_dir={tmp_path / 'out'}", "--export_dir=none", f"--tfds_data_dir={tmp_path / 'tfds'}"]
    result = offline("reproductions.__main__", ["--only=mnist_lstm", *common], tmp_path)
    assert time.monotonic() - start < 60  # not TFDS's minutes of retries
    assert result.returncode == 1, result.stderr[-2000:]  # nothing ran
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary[0]["status"] == "SKIPPED"
    assert f"{UNREACHABLE} cannot be reached" in summary[0]["reason"] and "--mnist_dir=DIR" in summary[0]["reason"]
    alone = offline(
        "reproductions.mnist_lstm", [f"--output_dir={tmp_path / 'o'}", f"--tfds_data_dir={tmp_path / 'tfds'}"], tmp_path
    )
    assert alone.returncode == 2 and "--mnist_dir=DIR" in alone.stderr and not (tmp_path / "o").exists()


def test_tfds_missing_downloads_and_prepares_when_the_host_answers(monkeypatch, tmp_path):
    import tensorflow_datasets as tfds

    calls = []
    monkeypatch.setattr(cli, "reachable", lambda url, timeout=5.0: True)
    monkeypatch.setattr(
        tfds.core.DatasetBuilder, "download_and_prepare", lambda self, *args, **kwargs: calls.append(self.name)
    )
    assert cli.tfds_missing("mnist", MNIST_URL, "pass --mnist_dir=DIR", data_dir=str(tmp_path)) is None
    assert calls == ["mnist"]

    def fail(self, *args, **kwargs):
        raise ConnectionError("connection reset\nby peer")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", fail)
    reason = cli.tfds_missing("mnist", MNIST_URL, "pass --mnist_dir=DIR", data_dir=str(tmp_path))
    assert reason.endswith("(ConnectionError: connection reset by peer); pass --mnist_dir=DIR")

    monkeypatch.setattr(cli, "reachable", lambda url, timeout=5.0: False)
    calls.clear()
    monkeypatch.setattr(
        tfds.core.DatasetBuilder, "download_and_prepare", lambda self, *args, **kwargs: calls.append(self.name)
    )
    reason = cli.tfds_missing("mnist", MNIST_URL, "pass --mnist_dir=DIR", data_dir=str(tmp_path))
    assert calls == [] and f"{MNIST_URL} cannot be reached" in reason


def test_same_seed_gives_the_same_figures(tmp_path):
    reports = []
    for run_name in ("first", "second"):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "reproductions.digits_lstm",
                "--seeds=1",
                "--digits_epochs=3",
                f"--output_dir={tmp_path / run_name}",
                "--export_dir=none",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=600,
        )
        assert result.returncode == 1, result.stderr[-2000:]  # three epochs miss the article's 0.98: FAIL
        results = json.loads((tmp_path / run_name / "digits_lstm" / "report.json").read_text())["results"]
        figures = {key: value for key, value in results["per_seed"][0].items() if key != "seconds"}
        reports.append((results["history_seed_0"], figures))
    assert reports[0] == reports[1]  # the weights' SHA-256 included: bit-equal weights
