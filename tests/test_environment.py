"""The lock pins every requirement, and every report records the environment that produced its figures."""

import configparser
import json
import os
import subprocess
import sys
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from reproductions import environment
from tests.conftest import ROOT

LOCK = ROOT / "requirements" / "lock.txt"


def declared_requirements() -> list[Requirement]:
    """Every requirement of setup.cfg: install_requires and every extra."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options"]["install_requires"].splitlines()
    for extra in config["options.extras_require"].values():
        lines += extra.splitlines()
    return [Requirement(line) for line in (line.strip() for line in lines) if line and not line.startswith("#")]


def test_every_requirement_of_setup_cfg_is_pinned_in_the_lock_within_its_range():
    pins = environment.read_lock(LOCK)
    requirements = declared_requirements()
    assert len(requirements) >= 15  # the parse found the requirements, not an empty section
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not pinned in {LOCK}"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"lock pins {name}=={pins[name]}"
    assert pins["torch"].startswith("2.13.0")  # the CPU build on CI's disk, not a CUDA build of several GB


def test_the_lock_pins_every_package_exactly_direct_and_transitive():
    pins = environment.read_lock(LOCK)
    lines = [line.strip() for line in LOCK.read_text().splitlines()]
    requirement_lines = [line for line in lines if line and not line.startswith(("#", "-"))]
    assert requirement_lines and all("==" in line for line in requirement_lines)
    # Transitive dependencies are there too: TensorFlow's own, and pytest's.
    assert {"protobuf", "ml-dtypes", "h5py", "pluggy", "iniconfig"} <= set(pins)


def test_lock_differences_name_each_package_installed_at_another_version():
    numpy_version = metadata.version("numpy")
    assert environment.lock_differences({"numpy": numpy_version}) == []
    assert environment.lock_differences({"numpy": "0.0.1"}) == [f"numpy {numpy_version} (lock: 0.0.1)"]
    # A package the lock names but this environment lacks did not produce the figures: not a difference.
    assert environment.lock_differences({"no-such-package-here": "1.0"}) == []


def test_a_local_label_in_the_lock_must_be_installed_as_it_is(monkeypatch):
    installed = {"torch": "2.13.0"}
    monkeypatch.setattr(environment, "installed_version", installed.get)
    assert environment.lock_differences({"torch": "2.13.0"}) == []
    assert environment.lock_differences({"torch": "2.13.0+cpu"}) == ["torch 2.13.0 (lock: 2.13.0+cpu)"]
    installed["torch"] = "2.13.0+cpu"
    assert environment.lock_differences({"torch": "2.13.0+cpu"}) == []
    assert environment.lock_differences({"torch": "2.13.0"}) == []  # as pip's ==2.13.0 accepts it


def test_the_lock_status_and_the_one_line_warning(tmp_path):
    lock = tmp_path / "lock.txt"
    lock.write_text(f"numpy=={metadata.version('numpy')}\n    # via tf_lstm (setup.cfg)\nkeras==0.1\n")
    status = environment.lock_status(lock)
    assert status["matches"] is False
    assert status["differences"] == [f"keras {metadata.version('keras')} (lock: 0.1)"]
    assert len(status["sha256"]) == 64
    warning = environment.lock_warning(dict(lock=status))
    assert warning is not None and "\n" not in warning and "keras" in warning and "numpy" not in warning
    assert environment.lock_warning(dict(lock=environment.lock_status(tmp_path / "none.txt"))) is None


def test_the_record_holds_the_installed_versions_machine_and_switches(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    record = environment.environment()
    assert record["python"] == ".".join(map(str, sys.version_info[:3]))
    assert record["packages"]["tensorflow"] == metadata.version("tensorflow")
    assert record["packages"]["numpy"] == metadata.version("numpy")
    assert record["cpu_count"] == os.cpu_count() and record["cpu"]
    assert record["variables"] == {"XLA_FLAGS": "--xla_cpu_enable_fast_math=false", "TF_ENABLE_ONEDNN_OPTS": None}
    lines = environment.describe(record)
    assert any(line.startswith("packages: tensorflow " + metadata.version("tensorflow")) for line in lines)
    assert any("XLA_FLAGS=--xla_cpu_enable_fast_math=false" in line for line in lines)


@pytest.mark.parametrize("module", ["reproductions.digits_lstm"])
def test_a_reports_environment_is_the_installed_one(tmp_path, module):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            module,
            "--digits_epochs=1",
            "--seeds=1",
            "--export_dir=none",
            "--notensorboard",
            f"--output_dir={tmp_path}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
        env={**os.environ, "TF_ENABLE_ONEDNN_OPTS": "0"},
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]  # one epoch may miss the article's figure
    report = json.loads((tmp_path / "digits_lstm" / "report.json").read_text())
    record = report["environment"]
    assert set(record) == {"python", "packages", "platform", "cpu", "cpu_count", "gpus", "variables", "lock"}
    for name, version in record["packages"].items():
        try:
            assert version == metadata.version(name), name
        except metadata.PackageNotFoundError:
            assert version is None, name
    assert record["variables"]["TF_ENABLE_ONEDNN_OPTS"] == "0"
    lock = record["lock"]
    assert lock["path"] == "requirements/lock.txt" and len(lock["sha256"]) == 64  # relative: no machine's folders
    assert lock["matches"] == (lock["differences"] == [])
