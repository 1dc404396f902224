import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def test_runner_summarises_and_skips_what_has_no_data(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_LSTM_DATA_DIR"}
    result = subprocess.run(
        [sys.executable, "-m", "reproductions", "--only=counting_rnn,mnist_lstm", f"--output_dir={tmp_path}",
         "--export_dir=none", f"--tfds_data_dir={tmp_path / 'tfds'}"],
        capture_output=True, text=True, cwd=ROOT, timeout=600, env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [(row["reproduction"], row["status"]) for row in summary] == [
        ("counting_rnn", "PASS"), ("mnist_lstm", "SKIPPED")
    ]
    assert "MNIST is not prepared" in summary[1]["reason"]
    table = (tmp_path / "summary.md").read_text()
    assert "| counting_rnn | PASS |" in table and "GD final wx: 1.06" in table


def test_same_seed_gives_the_same_figures(tmp_path):
    reports = []
    for run in ("first", "second"):
        subprocess.run(
            [sys.executable, "-m", "reproductions.digits_lstm", "--seeds=1", "--digits_epochs=3",
             f"--output_dir={tmp_path / run}", "--export_dir=none"],
            capture_output=True, text=True, cwd=ROOT, timeout=600, check=False,
        )
        results = json.loads((tmp_path / run / "digits_lstm" / "report.json").read_text())["results"]
        figures = {key: value for key, value in results["per_seed"][0].items() if key != "seconds"}
        reports.append((results["history_seed_0"], figures))
    assert reports[0] == reports[1]  # the weights' SHA-256 included: bit-equal weights
