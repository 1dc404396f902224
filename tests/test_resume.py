"""Kill a MNIST run with SIGKILL mid-training, rerun it: it resumes and ends with an uninterrupted run's figures."""

import json
import signal
import subprocess
import sys
import time

import numpy as np

from tests.conftest import ROOT
from tf_lstm.data.mnist import write_idx

SAME_FIGURES = (
    "test_accuracy",
    "test128_accuracy",
    "final_minibatch_loss",
    "final_minibatch_accuracy",
    "final_iter",
    "weights_sha256",
)


def fake_mnist(root):
    rng = np.random.default_rng(0)
    root.mkdir()
    for stem, n in (("train", 1000), ("t10k", 300)):
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        images = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
        images[np.arange(n), labels * 2, :] = 255  # a learnable bright row per class
        write_idx(root / f"{stem}-images-idx3-ubyte.gz", images)
        write_idx(root / f"{stem}-labels-idx1-ubyte.gz", labels)
    return root


def command(mnist_dir, output_dir):
    # 2 seeds of 150 steps of 64 (several epochs of 1,000 images), a checkpoint every 10 steps.
    return [
        sys.executable,
        "-m",
        "reproductions.mnist_lstm",
        f"--mnist_dir={mnist_dir}",
        f"--output_dir={output_dir}",
        "--mnist_train_examples=9664",
        "--mnist_validation_images=0",
        "--mnist_batch_size=64",
        "--mnist_hidden=16",
        "--seeds=2",
        "--mnist_rotated_training=false",
        "--mnist_checkpoint_every=10",
        "--mnist_display_step=10",
        "--export_dir=none",
    ]


def per_seed(output_dir):
    report = json.loads((output_dir / "mnist_lstm" / "report.json").read_text())
    return [{key: run[key] for key in SAME_FIGURES} for run in report["results"]["per_seed"]]


def test_killed_run_resumes_to_the_uninterrupted_figures(tmp_path):
    mnist = fake_mnist(tmp_path / "mnist")
    whole = subprocess.run(command(mnist, tmp_path / "whole"), capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert whole.returncode in (0, 1), whole.stderr[-3000:]  # random images miss the article's figures: FAIL is 1

    out = tmp_path / "killed"
    progress = out / "mnist_lstm" / "checkpoints" / "seed_1" / "progress.json"
    run = subprocess.Popen(command(mnist, out), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not progress.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)
    assert run.returncode == -signal.SIGKILL, "the run ended before it could be killed mid-training"
    assert not (out / "mnist_lstm" / "report.json").exists()
    killed_at = json.loads(progress.read_text())["kept"][0]["checkpoint"]
    assert not list(out.rglob(".*.tmp*")) and not list(out.rglob("*.tempstate*"))

    resumed = subprocess.run(command(mnist, out), capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert resumed.returncode == whole.returncode, resumed.stderr[-3000:]
    assert "[seed 1] resuming after step" in resumed.stdout, (killed_at, resumed.stdout[-2000:])
    assert "[seed 0] resuming after step 150" in resumed.stdout  # the finished seed is not trained again
    assert per_seed(out) == per_seed(tmp_path / "whole")
    assert not (out / "mnist_lstm" / "checkpoints").exists()  # a finished run leaves no checkpoints behind


def test_checkpoints_of_other_settings_are_refused(tmp_path):
    mnist = fake_mnist(tmp_path / "mnist")
    checkpoints = tmp_path / "out" / "mnist_lstm" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "settings.json").write_text(json.dumps({"seed": 5}))
    result = subprocess.run(command(mnist, tmp_path / "out"), capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2
    assert "holds the checkpoints of an unfinished run with other settings" in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert not (tmp_path / "out" / "mnist_lstm" / "report.json").exists()
