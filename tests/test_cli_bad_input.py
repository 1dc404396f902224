"""Bad input at every reproduction CLI: one line on stderr, exit status 2, nothing written."""

import importlib
import subprocess
import sys
import tarfile
import time

import pytest

from tests.conftest import ROOT
from tf_lstm.data.mnist import write_idx


def _mnist_dir(root, damage):
    import numpy as np

    root.mkdir()
    for stem, n in (("train", 4), ("t10k", 2)):
        write_idx(root / f"{stem}-images-idx3-ubyte.gz", np.zeros((n, 28, 28), np.uint8))
        write_idx(root / f"{stem}-labels-idx1-ubyte.gz", np.zeros((n,), np.uint8))
    damage(root)
    return root


def truncated(root):
    import gzip

    path = root / "train-images-idx3-ubyte.gz"
    with gzip.open(path) as handle:
        data = handle.read()
    with gzip.open(path, "wb") as handle:
        handle.write(data[:-50])


def not_gzip(root):
    (root / "t10k-labels-idx1-ubyte.gz").write_bytes(b"plain bytes, not gzip")


def missing_labels(root):
    (root / "train-labels-idx1-ubyte.gz").unlink()


def _imdb_tar(root, members):
    import io

    path = root / "imdb.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _imdb_folder_without_neg(root):
    (root / "aclImdb" / "train" / "pos").mkdir(parents=True)
    return root / "aclImdb"


def _long_reviews_folder(root):
    for split in ("train", "test"):
        for label in ("pos", "neg"):
            folder = root / "aclImdb" / split / label
            folder.mkdir(parents=True)
            (folder / "0_5.txt").write_text("a review of several words that is too long for maxlen")
    return root / "aclImdb"


def _not_gzip_tarball(root):
    path = root / "imdb.tar.gz"
    path.write_bytes(b"this is no archive")
    return path


CASES = [
    # (id, module, arguments (a callable of tmp_path gives the path argument), expected text)
    (
        "counting-optimizer",
        "reproductions.counting_rnn",
        ["--counting_optimizer=adam"],
        "flag --counting_optimizer=adam: ",
    ),
    ("counting-epochs", "reproductions.counting_rnn", ["--counting_epochs=0"], "flag --counting_epochs=0: "),
    (
        "counting-lr",
        "reproductions.counting_rnn",
        ["--counting_gd_learning_rate=-1"],
        "flag --counting_gd_learning_rate=-1: ",
    ),
    (
        "counting-dtype",
        "reproductions.counting_rnn",
        ["--counting_rmsprop_dtype=float16"],
        "flag --counting_rmsprop_dtype=float16: ",
    ),
    ("counting-positional", "reproductions.counting_rnn", ["stray"], "unexpected arguments"),
    ("digits-seeds", "reproductions.digits_lstm", ["--seeds=0"], "flag --seeds=0: "),
    ("digits-epochs", "reproductions.digits_lstm", ["--digits_epochs=-5"], "flag --digits_epochs=-5: "),
    ("digits-unknown-flag", "reproductions.digits_lstm", ["--no_such_flag=1"], "no_such_flag"),
    ("digits-not-a-number", "reproductions.digits_lstm", ["--digits_hidden=many"], "flag --digits_hidden=many: "),
    (
        "mnist-no-dir",
        "reproductions.mnist_lstm",
        [lambda t: f"--mnist_dir={t / 'nowhere'}"],
        "--mnist_dir must name an existing directory",
    ),
    (
        "mnist-blackout-order",
        "reproductions.mnist_lstm",
        ["--mnist_blackout_first=20", "--mnist_blackout_last=10"],
        "--mnist_blackout_first must be <= --mnist_blackout_last",
    ),
    (
        "mnist-blackout-range",
        "reproductions.mnist_lstm",
        ["--mnist_blackout_last=40"],
        "flag --mnist_blackout_last=40: ",
    ),
    ("mnist-examples", "reproductions.mnist_lstm", ["--mnist_train_examples=0"], "flag --mnist_train_examples=0: "),
    (
        "mnist-truncated",
        "reproductions.mnist_lstm",
        [lambda t: f"--mnist_dir={_mnist_dir(t / 'm', truncated)}"],
        "train-images-idx3-ubyte.gz holds",
    ),
    (
        "mnist-not-gzip",
        "reproductions.mnist_lstm",
        [lambda t: f"--mnist_dir={_mnist_dir(t / 'm', not_gzip)}"],
        "is not a valid gzip file",
    ),
    (
        "mnist-missing-file",
        "reproductions.mnist_lstm",
        [lambda t: f"--mnist_dir={_mnist_dir(t / 'm', missing_labels)}"],
        "train-labels-idx1-ubyte[.gz] not found",
    ),
    (
        "imdb-no-path",
        "reproductions.imdb_sentiment",
        [lambda t: f"--imdb_path={t / 'nope.tar.gz'}"],
        "--imdb_path must name an existing file or directory",
    ),
    ("imdb-layer", "reproductions.imdb_sentiment", ["--imdb_layer=pytorch"], "flag --imdb_layer=pytorch: "),
    ("imdb-maxlen", "reproductions.imdb_sentiment", ["--imdb_maxlen=0"], "flag --imdb_maxlen=0: "),
    ("imdb-valid", "reproductions.imdb_sentiment", ["--imdb_valid_portion=0.9"], "flag --imdb_valid_portion=0.9: "),
    (
        "imdb-not-gzip",
        "reproductions.imdb_sentiment",
        [lambda t: f"--imdb_path={_not_gzip_tarball(t)}"],
        "is not a readable tar archive",
    ),
    (
        "imdb-no-layout",
        "reproductions.imdb_sentiment",
        [lambda t: f"--imdb_path={_imdb_tar(t, {'other/readme.txt': 'hello'})}"],
        "no train reviews found",
    ),
    (
        "imdb-folder-layout",
        "reproductions.imdb_sentiment",
        [lambda t: f"--imdb_path={_imdb_folder_without_neg(t)}"],
        "lacks the aclImdb layout",
    ),
    (
        "imdb-maxlen-empties",
        "reproductions.imdb_sentiment",
        [lambda t: f"--imdb_path={_long_reviews_folder(t)}", "--imdb_maxlen=2"],
        "--imdb_maxlen=2 leaves 0 training reviews",
    ),
    (
        "mnist-batch-above-data",
        "reproductions.mnist_lstm",
        [
            lambda t: f"--mnist_dir={_mnist_dir(t / 'm', lambda root: None)}",
            "--mnist_batch_size=10",
            "--mnist_validation_images=0",
        ],
        "--mnist_batch_size=10 is larger than the 4 training images",
    ),
    ("digits-strategy", "reproductions.digits_lstm", ["--strategy=horovod"], "flag --strategy=horovod: "),
    (
        "counting-multi-worker-without-tf-config",
        "reproductions.counting_rnn",
        ["--strategy=multi_worker"],
        "TF_CONFIG is not set",
    ),
    ("mnist-logical-cpus", "reproductions.mnist_lstm", ["--logical_cpus=-2"], "flag --logical_cpus=-2: "),
    (
        "mnist-checkpoint-every",
        "reproductions.mnist_lstm",
        ["--mnist_checkpoint_every=-1"],
        "flag --mnist_checkpoint_every=-1: ",
    ),
    ("torch-hidden", "reproductions.torch_equations", ["--torch_hidden_dim=0"], "flag --torch_hidden_dim=0: "),
    (
        "runner-only",
        "reproductions",
        ["--only=counting_rnn,nope"],
        "--only=counting_rnn,nope: no reproduction named nope",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_exit_2(tmp_path, case):
    _, module, arguments, expected = case
    arguments = [a(tmp_path) if callable(a) else a for a in arguments]
    out = tmp_path / "out"
    # --export_dir where the module reads it, so that a refused export would show as a written model folder.
    exports = module == "reproductions" or "export_dir" in importlib.import_module(module).USES
    export = [f"--export_dir={tmp_path / 'model'}"] if exports else []
    result = subprocess.run(
        [sys.executable, "-m", module, *arguments, f"--output_dir={out}", *export],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert not out.exists() and not (tmp_path / "model").exists()


def _user_project(tmp_path):
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "notes.txt").write_text("mine")
    return project


@pytest.mark.parametrize("target", ["models", "project", "dot"])
def test_export_dir_holding_user_files_is_refused_before_training(tmp_path, target):
    project = _user_project(tmp_path)
    export = {"models": project / "models", "project": project, "dot": "."}[target]
    start = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reproductions.digits_lstm",
            f"--export_dir={export}",
            f"--output_dir={tmp_path / 'out'}",
        ],
        capture_output=True,
        text=True,
        cwd=project / "models",
        timeout=300,
    )
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --export_dir: export path") and str(export) in lines[0]
    assert "[seed" not in result.stdout  # no training started
    assert time.monotonic() - start < 60
    assert (project / "models" / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in project.rglob("*")) == ["models", "notes.txt"]
    assert not (tmp_path / "out").exists()


def test_runner_checks_every_export_path_before_the_first_reproduction(tmp_path):
    # The runner exports each reproduction to <export_dir>/<name>: here digits' folder is the user's.
    project = _user_project(tmp_path)
    (project / "digits_lstm").mkdir()
    (project / "digits_lstm" / "notes.txt").write_text("mine")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reproductions",
            "--only=counting_rnn,digits_lstm",
            f"--export_dir={project}",
            f"--output_dir={tmp_path / 'out'}",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "### counting_rnn" not in result.stdout  # refused before counting ran
    assert f"export path '{project / 'digits_lstm'}'" in result.stderr
    assert (project / "digits_lstm" / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in project.rglob("*")) == ["digits_lstm", "models", "notes.txt", "notes.txt"]


@pytest.mark.parametrize("module", ["reproductions.counting_rnn", "reproductions.mnist_lstm", "reproductions"])
def test_output_dir_that_is_a_file_exits_2_at_once(tmp_path, module):
    target = tmp_path / "results.txt"
    target.write_text("keep")
    # Checked as the flags are read, before TensorFlow is imported: here importing it would fail.
    without_tensorflow = (
        "import runpy, sys; sys.modules['tensorflow'] = None; sys.argv[0] = 'prog'; "
        f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
    )
    for output_dir in (target, target / "sub"):
        result = subprocess.run(
            [sys.executable, "-c", without_tensorflow, f"--output_dir={output_dir}"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr[-2000:]
        assert result.stderr.strip() == (
            f"error: flag --output_dir={output_dir}: --output_dir must name a folder "
            "(or a path where one can be made), not a file"
        )
    assert target.read_text() == "keep"


@pytest.mark.parametrize("error", ["FileNotFoundError", "RuntimeError"])
def test_a_bug_is_an_internal_error_with_its_traceback_and_exit_3(tmp_path, error):
    raising = {
        "FileNotFoundError": "open('/nonexistent/file')",
        "RuntimeError": "(_ for _ in ()).throw(RuntimeError('bug'))",
    }
    script = f"from reproductions import cli\ncli.run(lambda argv: {raising[error]})\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 3
    assert "Traceback" in result.stderr and error in result.stderr
    assert "internal error" in result.stderr.strip().splitlines()[-1]
    assert not any(line.startswith("error: ") for line in result.stderr.splitlines())
