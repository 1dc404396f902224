"""What produced a run's figures: the versions, the machine, the switches, and the lock they were checked against.

Every `report.json`, `summary.md`, `runs/index.html` and benchmark result
carries `environment()`, so a figure can be traced to the software and the
machine that gave it, and a figure that moves can be traced to what changed.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

# The distributions whose versions decide the figures (PyPI names).
KEY_PACKAGES = ("tensorflow", "keras", "numpy", "torch", "scikit-learn", "tensorflow-datasets", "ai-edge-litert")
# The environment variables that change TensorFlow's kernels.
KEY_VARIABLES = ("XLA_FLAGS", "TF_ENABLE_ONEDNN_OPTS")
# The project's folder in a clone (editable install), and the lock beside the code; a regular install carries none.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
LOCK_PATH = PROJECT_ROOT / "requirements" / "lock.txt"


def portable(path: str | Path, *bases: Path) -> str:
    """`path` relative to the first of `bases` (then the project's folder) that holds it, else as it is: a report
    names what it wrote and read without the folders of the machine that wrote it."""
    resolved = Path(path).resolve()
    for base in (*bases, PROJECT_ROOT):
        if resolved.is_relative_to(base.resolve()):
            return resolved.relative_to(base.resolve()).as_posix() or "."
    return str(path)


def installed_version(distribution: str) -> str | None:
    """The installed version of `distribution` (a PyPI name), or None when it is not installed."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def read_lock(path: Path) -> dict[str, str]:
    """``{canonical name: version}`` of the ``name==version`` pins in a pip-compile lock file."""
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if "==" in requirement and not requirement.startswith("-"):
            name, version = requirement.split("==", 1)
            pins[canonicalize_name(name.split("[", 1)[0])] = version.split(";", 1)[0].strip()
    return pins


def lock_differences(pins: dict[str, str]) -> list[str]:
    """The locked distributions installed at another version, as ``name installed (lock: version)``.

    A local label in the lock (``2.13.0+cpu``) must be installed as it is; one
    that only the installed version carries is accepted, as pip accepts it.
    Locked distributions that are not installed (an extra left out) are not
    differences: nothing of theirs produced the figures.
    """
    from packaging.specifiers import SpecifierSet

    differ = []
    for name, locked in sorted(pins.items()):
        version = installed_version(name)
        if version is not None and not SpecifierSet(f"=={locked}").contains(version, prereleases=True):
            differ.append(f"{name} {version} (lock: {locked})")
    return differ


def lock_status(path: Path = LOCK_PATH) -> dict[str, Any]:
    """The lock's path and SHA-256, and whether the installed versions are the locked ones."""
    if not path.is_file():
        return dict(path=None, sha256=None, matches=None, differences=[], note="no lock beside the code")
    pins = read_lock(path)
    differences = lock_differences(pins)
    return dict(
        path=portable(path),
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        matches=not differences,
        differences=differences,
    )


def cpu_model() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpus() -> list[str]:
    """The GPUs TensorFlow sees, when TensorFlow is already imported (asking does not import it)."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return []
    return [device.name for device in tf.config.list_physical_devices("GPU")]


def environment() -> dict[str, Any]:
    """The record written beside every figure: versions, machine, switches, lock."""
    return dict(
        python=platform.python_version(),
        packages={name: installed_version(name) for name in KEY_PACKAGES},
        platform=platform.platform(),
        cpu=cpu_model(),
        cpu_count=os.cpu_count(),
        gpus=gpus(),
        variables={name: os.environ.get(name) for name in KEY_VARIABLES},
        lock=lock_status(),
    )


def describe(record: dict[str, Any]) -> list[str]:
    """The record as short ``label: value`` lines, for summary.md, index.html and the benchmark's output."""
    packages = ", ".join(f"{name} {version or '-'}" for name, version in record["packages"].items())
    variables = ", ".join(
        f"{name}={value if value is not None else '(unset)'}" for name, value in record["variables"].items()
    )
    lock = record["lock"]
    if lock["path"] is None:
        lock_line = f"none ({lock['note']})"
    else:
        verdict = "installed versions match" if lock["matches"] else "differs: " + "; ".join(lock["differences"])
        lock_line = f"{lock['path']} (sha256 {lock['sha256'][:12]}): {verdict}"
    return [
        f"Python {record['python']} on {record['platform']}",
        f"packages: {packages}",
        f"CPU: {record['cpu']}, {record['cpu_count']} cores; GPU: {', '.join(record['gpus']) or 'none'}",
        f"variables: {variables}",
        f"lock: {lock_line}",
    ]


def lock_warning(record: dict[str, Any]) -> str | None:
    """One line when the installed versions are not the locked ones (the run goes on), else None."""
    lock = record["lock"]
    if lock["path"] is None or lock["matches"]:
        return None
    return (
        f"note: installed versions differ from {lock['path']}: {'; '.join(lock['differences'])} "
        "(figures may differ from the README's; pip install -e '.[torch]' -c requirements/lock.txt restores them)"
    )


def main() -> int:
    """Prints the record; exit status 1 when the installed versions differ from the lock beside the code."""
    record = environment()
    print("\n".join(describe(record)))
    return 1 if record["lock"]["matches"] is False else 0


if __name__ == "__main__":
    sys.exit(main())
