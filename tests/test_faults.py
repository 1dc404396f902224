"""Faults during a run, injected for real: signals, damaged checkpoints, a full disk, NaN, two runs at once.

Each ends in one line and a clear next step (never a traceback), with the
exit status the README's table gives, and loses nothing: the files before
and after are checked.
"""

import contextlib
import errno
import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from reproductions import faults
from tests.conftest import ROOT
from tests.test_resume import command, fake_mnist, per_seed


def run(args, cwd=ROOT, timeout=300, env=None):
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env)


def one_line(stderr: str) -> str:
    """The one line a fault leaves on stderr (TensorFlow's own start-up lines aside)."""
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [
        line for line in stderr.splitlines() if line.strip() and not line.startswith(("I0000", "W0000", "WARNING: All"))
    ]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


def temporary_leftovers(folder):
    return [p for p in folder.rglob("*") if p.name.startswith(".") or "temp" in p.name or ".new." in p.name]


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    """Fake MNIST files and the figures of an uninterrupted run on them (2 seeds, a checkpoint every 10 steps)."""
    root = tmp_path_factory.mktemp("mnist")
    data = fake_mnist(root / "mnist")
    whole = run(command(data, root / "whole"))
    assert whole.returncode in (0, 1), whole.stderr[-3000:]  # random images miss the article's figures: 1
    return data, whole.returncode, per_seed(root / "whole")


def start_and_wait_for(args, path, timeout=240):
    """Starts `args` and returns the process once `path` exists (it must still be running)."""
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while not path.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before the fault could be injected"
    return process


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_ends_in_one_line_and_the_rerun_ends_as_an_uninterrupted_run(tmp_path, mnist, signum):
    data, whole_status, whole_figures = mnist
    out = tmp_path / "out"
    progress = out / "mnist_lstm" / "checkpoints" / "seed_0" / "progress.json"
    process = start_and_wait_for(command(data, out), progress)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signum
    line = one_line(stderr)
    assert line.startswith("interrupted after step ") and line.endswith("; rerun the same command to resume"), line
    stopped_at = int(line.split()[3].rstrip(";"))
    kept = json.loads(progress.read_text())["kept"]
    # Within a step or two of the signal, and the checkpoint is the newest one made by then.
    assert int(kept[0]["checkpoint"].rsplit("-", 1)[1]) == stopped_at // 10 * 10 > 0
    assert not (out / "mnist_lstm" / "report.json").exists() and not temporary_leftovers(out)

    rerun = run(command(data, out))
    assert rerun.returncode == whole_status, rerun.stderr[-3000:]
    assert f"[seed 0] resuming after step {stopped_at // 10 * 10}" in rerun.stdout
    assert per_seed(out) == whole_figures  # the same figures, the weights' digest included


def interrupted_after_two_checkpoints(data, out):
    """A run stopped by SIGINT once seed 0 has kept two checkpoints; returns their entries, newest first."""
    progress = out / "mnist_lstm" / "checkpoints" / "seed_0" / "progress.json"
    process = start_and_wait_for(command(data, out), progress)
    deadline = time.monotonic() + 120
    while len(json.loads(progress.read_text())["kept"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode == 130
    kept = json.loads(progress.read_text())["kept"]
    assert len(kept) == 2
    return kept


def damage(checkpoint: str) -> None:
    """Truncates the checkpoint's data file to half its size, as a disk or a copy would."""
    data_file = next(p for p in (checkpoint + ".data-00000-of-00001",) if os.path.exists(p))
    size = os.path.getsize(data_file)
    with open(data_file, "r+b") as handle:
        handle.truncate(size // 2)


def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before_with_the_same_figures(tmp_path, mnist):
    data, whole_status, whole_figures = mnist
    out = tmp_path / "out"
    newest, previous = interrupted_after_two_checkpoints(data, out)
    damage(newest["checkpoint"])
    rerun = run(command(data, out))
    assert rerun.returncode == whole_status, rerun.stderr[-3000:]
    assert f"checkpoint {newest['checkpoint']} cannot be read" in rerun.stdout
    assert f"resuming from the previous good checkpoint, {previous['checkpoint']}" in rerun.stdout
    assert per_seed(out) == whole_figures


def test_no_readable_checkpoint_exits_2_naming_the_folder_and_how_to_start_afresh(tmp_path, mnist):
    data, _, _ = mnist
    out = tmp_path / "out"
    kept = interrupted_after_two_checkpoints(data, out)
    os.remove(kept[0]["checkpoint"] + ".index")  # one lost, one damaged
    damage(kept[1]["checkpoint"])
    before = sorted(p.name for p in (out / "mnist_lstm" / "checkpoints" / "seed_0").iterdir())
    rerun = run(command(data, out))
    assert rerun.returncode == 2
    line = one_line(rerun.stderr)
    folder = out / "mnist_lstm" / "checkpoints" / "seed_0"
    assert line.startswith(f"error: no checkpoint in {folder} can be read") and "delete that folder" in line, line
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing deleted or overwritten


@pytest.mark.parametrize("name", ["settings.json", "seed_0/progress.json"])
def test_an_unreadable_settings_or_progress_file_exits_2_naming_it(tmp_path, mnist, name):
    data, _, _ = mnist
    out = tmp_path / "out"
    interrupted_after_two_checkpoints(data, out) if name != "settings.json" else None
    path = out / "mnist_lstm" / "checkpoints" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"seed": 0, "half a copy')
    result = run(command(data, out))
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith(f"error: {path} cannot be read (JSONDecodeError"), line
    assert path.read_text() == '{"seed": 0, "half a copy'  # left as it was, for the user to look at


@contextlib.contextmanager
def small_filesystem(tmp_path, kilobytes):
    """A real tmpfs of that size where this process may mount one (root on Linux), else None."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={kilobytes}k", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        yield None
        return
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder, leave_kilobytes):
    stats = os.statvfs(folder)
    free = stats.f_bavail * stats.f_frsize
    with open(folder / "filler", "wb") as handle:
        handle.write(b"\0" * max(0, free - leave_kilobytes * 1024))


def digits_command(out, export):
    return [
        sys.executable,
        "-m",
        "reproductions.digits_lstm",
        "--digits_epochs=1",
        "--seeds=1",
        "--notensorboard",
        f"--output_dir={out}",
        f"--export_dir={export}",
    ]


def test_a_full_disk_during_an_export_is_one_line_and_the_earlier_export_is_intact(tmp_path):
    with small_filesystem(tmp_path, 6 * 1024) as disk:
        if disk is None:
            pytest.skip("cannot mount a tmpfs here; test_a_write_error_injected_is_one_line covers the path")
        export = disk / "digits"
        first = run(digits_command(tmp_path / "runs", export))
        assert first.returncode in (0, 1), first.stderr[-3000:]
        before = {p.relative_to(export): p.read_bytes() for p in export.rglob("*") if p.is_file()}
        fill(disk, leave_kilobytes=100)  # room for the report, not for a SavedModel
        second = run(digits_command(tmp_path / "runs", export))
        assert second.returncode == 2, second.stdout[-2000:] + second.stderr[-3000:]
        assert one_line(second.stderr) == f"error: cannot write {export}: No space left on device"
        after = {p.relative_to(export): p.read_bytes() for p in export.rglob("*") if p.is_file()}
        assert after == before  # the earlier export, byte for byte
        assert sorted(p.name for p in disk.iterdir()) == ["digits", "filler"]  # no staging folder left
        loaded = run([sys.executable, "-c", f"import tensorflow as tf; tf.saved_model.load({str(export)!r})"])
        assert loaded.returncode == 0, loaded.stderr[-2000:]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES, errno.EROFS, errno.ENAMETOOLONG])
def test_a_write_error_injected_is_one_line_and_leaves_the_earlier_report_intact(tmp_path, code):
    out = tmp_path / "runs"
    report = out / "counting_rnn" / "report.json"
    report.parent.mkdir(parents=True)
    report.write_text('{"earlier": true}\n')
    # The report's writer fails as the OS would, after the training: what was there stays.
    script = (
        "import errno, os, sys\n"
        "import reproductions.report as report\n"
        "real = os.fdopen\n"
        "def failing(fd, *args, **kwargs):\n"
        f"    raise OSError({code}, os.strerror({code}))\n"
        "report.os.fdopen = failing\n"
        "from reproductions import counting_rnn, protocol\n"
        f"sys.argv = ['counting_rnn', '--output_dir={out}', '--notensorboard', '--counting_optimizer=gd']\n"
        "protocol.main(counting_rnn)\n"
    )
    result = run([sys.executable, "-c", script])
    assert result.returncode == 2, result.stderr[-3000:]
    assert one_line(result.stderr) == f"error: cannot write {out / 'counting_rnn'}/loss_curves.png: {os.strerror(code)}"
    assert report.read_text() == '{"earlier": true}\n'
    assert not temporary_leftovers(out)


def test_counting_gd_at_50_times_the_rate_diverges_fails_and_the_other_runs_go_on(tmp_path):
    result = run(
        [
            sys.executable,
            "-m",
            "reproductions.counting_rnn",
            "--counting_gd_learning_rate=5e-4",
            f"--output_dir={tmp_path}",
        ]
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "GradientDescent (float32, learning rate 0.0005): diverged at step 17 (loss inf)" in result.stdout
    report = json.loads((tmp_path / "counting_rnn" / "report.json").read_text())
    assert report["status"] == "FAIL"
    assert report["results"]["diverged"] == {
        "GradientDescent (float32, learning rate 0.0005)": dict(step=17, loss="inf")
    }
    assert "gd_float32" not in report["results"]  # nothing recorded of the run after it diverged
    rmsprop = [row for row in report["figures"] if row["figure"].startswith("RMSProp") and row["result"] != "-"]
    # judged as ever: 20 costs, the late maximum, the 2-cycle's mean and the final weights
    assert len(rmsprop) == 25 and all(row["result"] == "PASS" for row in rmsprop)
    costs = np.asarray(report["results"]["rmsprop_float32"]["costs_every_100"])
    assert costs.shape == (20,)


def test_mnist_with_an_overflowing_learning_rate_stops_each_seed_at_once_and_exports_nothing(tmp_path, mnist):
    data, _, _ = mnist
    args = [a for a in command(data, tmp_path / "out") if not a.startswith("--export_dir")]
    result = run([*args, "--mnist_learning_rate=1e36", f"--export_dir={tmp_path / 'model'}"])
    assert result.returncode == 1, result.stderr[-3000:]
    for seed in (0, 1):
        assert f"seed {seed}: diverged at step 2 (loss inf); this run is judged FAIL" in result.stdout
    assert "Iter 640," not in result.stdout  # stopped at once, not trained on
    report = json.loads((tmp_path / "out" / "mnist_lstm" / "report.json").read_text())
    assert report["status"] == "FAIL" and set(report["results"]["diverged"]) == {"seed 0", "seed 1"}
    assert not (tmp_path / "model").exists()  # a diverged model replaces no export


def test_two_runs_into_the_same_folders_one_finishes_the_other_is_refused(tmp_path, mnist):
    data, whole_status, whole_figures = mnist
    out = tmp_path / "out"
    first = start_and_wait_for(command(data, out), out / "mnist_lstm" / "checkpoints" / "seed_0" / "progress.json")
    second = run(command(data, out))
    assert second.returncode == 2
    line = one_line(second.stderr)
    assert line.startswith(f"error: --output_dir: {out / 'mnist_lstm'} is in use by another tf_lstm run (process "), (
        line
    )
    first.communicate(timeout=300)
    assert first.returncode == whole_status
    assert per_seed(out) == whole_figures  # whole and loadable, as if alone
    again = run(command(data, out))  # the lock went with the process
    assert again.returncode == whole_status, again.stderr[-2000:]


def test_the_lock_is_taken_once_per_process_and_refuses_another(tmp_path):
    faults.hold(tmp_path / "a", "--output_dir")
    faults.hold(tmp_path / "a", "--output_dir")  # the same process again: fine
    script = f"from reproductions import faults\nfaults.hold({str(tmp_path / 'a')!r}, '--output_dir')\n"
    other = run([sys.executable, "-c", script])
    assert other.returncode == 1 and f"faults.InUse: --output_dir: {tmp_path / 'a'} is in use" in other.stderr
    assert f"(process {os.getpid()})" in other.stderr
    assert not (tmp_path / "a").exists()  # the lock lies outside the user's folders


@pytest.mark.parametrize(
    "flag",
    ["--counting_gd_learning_rate", "--counting_rmsprop_learning_rate", "--mnist_learning_rate", "--imdb_dropout"],
)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_float_flag_refuses_nan_and_infinities_by_name(tmp_path, flag, value):
    result = run([sys.executable, "-m", "reproductions", f"{flag}={value}", f"--output_dir={tmp_path}"])
    assert result.returncode == 2
    line = one_line(result.stderr)
    # NaN passes absl's range checks and meets ours; an infinity may meet absl's own first: both name it.
    assert line.startswith(f"error: flag {flag}={value}: ") and "number" in line, line
    assert not any(tmp_path.iterdir())


def test_every_float_flag_has_the_finite_check():
    from absl import flags

    import reproductions.__main__  # noqa: F401  (defines every flag)

    float_flags = {
        flag.name: flag
        for module, defined in flags.FLAGS.flags_by_module_dict().items()
        if module.startswith("reproductions")
        for flag in defined
        if isinstance(flag.parser, flags.FloatParser)
    }
    assert len(float_flags) >= 5
    for flag in float_flags.values():
        checks = [v for v in flag.validators if "finite" in v.message]
        assert checks, flag.name
        assert not checks[0].checker(math.nan) and not checks[0].checker(math.inf) and checks[0].checker(flag.default)


def test_a_failed_save_removes_only_what_it_left_of_its_own_checkpoint(tmp_path):
    for name in ("ckpt-20.index", "ckpt-20.data-00000-of-00001", "ckpt-2.index", "ckpt-200.index", "notes.txt"):
        (tmp_path / name).write_text("x")
    (tmp_path / "ckpt-20_temp").mkdir()
    (tmp_path / "ckpt-20_temp" / "part-00000-of-00001.index").write_text("x")
    faults.remove_partial_checkpoint(tmp_path, "ckpt-20")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-2.index", "ckpt-200.index", "notes.txt"]
