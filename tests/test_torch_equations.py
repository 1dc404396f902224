import json
import os
import subprocess
import sys

from tests.conftest import ROOT, require_torch


def test_reproduction_passes_on_a_small_grid(tmp_path):
    require_torch()
    result = subprocess.run(
        [sys.executable, "-m", "reproductions.torch_equations", "--torch_max_layers=2", f"--output_dir={tmp_path}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "torch_equations" / "report.json").read_text())
    # 2 layer counts x uni/bi x batch_first on/off x bias on/off x projection on/off
    assert len(report["results"]["grid"]) == 32
    assert all(row["result"] == "PASS" for row in report["figures"])
    assert max(report["results"]["one_step_equations"].values()) < 1e-6
    assert "o⊙tanh(c')" in result.stdout


def test_without_torch_says_how_to_install_and_exits_2(tmp_path):
    (tmp_path / "torch.py").write_text("raise ImportError('No module named torch')\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    result = subprocess.run(
        [sys.executable, "-m", "reproductions.torch_equations", f"--output_dir={tmp_path / 'out'}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env=env,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: PyTorch is not installed: pip install -e '.[torch]' (CI pins torch==2.13.0)"
    assert not (tmp_path / "out").exists()
