"""Every reproduction has the shape `reproductions.protocol.Reproduction` names; the one driver runs a sixth,
written from CONTRIBUTING alone; a shared flag a reproduction does not read is refused, never ignored."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import types

import pytest

from reproductions import protocol
from reproductions.__main__ import MODULES, REPRODUCTIONS
from tests.conftest import ROOT
from tests.test_inspect import TF_NOTICE


@pytest.mark.parametrize("name", REPRODUCTIONS)
def test_every_reproduction_conforms(name):
    module = MODULES[name]
    assert protocol.conforms(module) == []
    assert name == module.NAME and set(protocol.SHARED) >= module.USES


def test_a_module_that_does_not_conform_is_told_what_it_lacks():
    import dataclasses

    from reproductions.digits_lstm import reproduce

    @dataclasses.dataclass
    class Loose:  # not frozen
        epochs: int = 1

    lacking = types.SimpleNamespace(NAME="x", PREFIX="x", reproduce=reproduce)
    assert protocol.conforms(lacking) == ["no Config", "no USES"]
    loose = types.SimpleNamespace(NAME="x", PREFIX="x", Config=Loose, USES=frozenset({"strategy", "colour"}))
    loose.reproduce = reproduce
    assert protocol.conforms(loose) == [
        "Config is not a frozen dataclass",
        "USES names flags that are not shared: colour",
        "strategy, deterministic, logical_cpus are read together",
        "reproduce's defaults are not Config() and RunOptions()",
    ]


def test_the_runner_says_which_reproductions_a_shared_flag_applies_to():
    assert protocol.applies_to("seeds", MODULES) == ["digits_lstm", "mnist_lstm"]
    assert protocol.applies_to("tfds_data_dir", MODULES) == ["mnist_lstm", "imdb_sentiment"]
    assert protocol.applies_to("export_dir", MODULES) == ["digits_lstm", "mnist_lstm", "imdb_sentiment"]


def contributing_block(marker: str) -> str:
    """The fenced block after `<!-- marker -->` in CONTRIBUTING.md, unindented."""
    text = (ROOT / "CONTRIBUTING.md").read_text()
    found = re.search(rf"<!-- {marker} -->\n\s*```python\n(.*?)\n\s*```", text, re.S)
    assert found, f"CONTRIBUTING.md has no block marked {marker}"
    lines = found.group(1).splitlines()
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return "\n".join(line[indent:] for line in lines) + "\n"


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """CONTRIBUTING's toy reproduction, as a module file, and how to run it."""
    folder = tmp_path_factory.mktemp("toy")
    (folder / "toy_sum.py").write_text(contributing_block("toy reproduction"))
    figures = contributing_block("toy figures").strip().rstrip(",")

    def run(*args):
        script = (
            "import sys\n"
            f"sys.path.insert(0, {str(folder)!r})\n"
            "from reproductions import documented, protocol\n"
            "from reproductions.documented import Figure\n"
            f"documented.DOCUMENTED.update({{{figures}}})\n"
            "import toy_sum\n"
            "assert protocol.conforms(toy_sum) == [], protocol.conforms(toy_sum)\n"
            f"sys.argv = ['toy_sum', *{list(map(str, args))!r}]\n"
            "protocol.main(toy_sum)\n"
        )
        return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)

    return run


def test_a_sixth_article_written_from_contributing_runs_and_is_judged(toy, tmp_path):
    result = toy(f"--output_dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-3000:]
    # It starts quietly, as every command does: none of TensorFlow's C++ start-up notices unless --verbose.
    assert not [line for line in result.stderr.splitlines() if TF_NOTICE.search(line)], result.stderr[-3000:]
    report = json.loads((tmp_path / "toy_sum" / "report.json").read_text())
    assert [(row["key"], row["reproduced"], row["result"]) for row in report["figures"]] == [("sum", 55.0, "PASS")]
    # Its own flag reaches its Config: another n is another sum, judged FAIL (exit 1).
    changed = toy(f"--output_dir={tmp_path / 'changed'}", "--toy_n=11")
    assert changed.returncode == 1, changed.stderr[-3000:]
    rows = json.loads((tmp_path / "changed" / "toy_sum" / "report.json").read_text())["figures"]
    assert [(row["reproduced"], row["result"]) for row in rows] == [(66.0, "FAIL")]


@pytest.mark.parametrize("flag", ["--seeds=2", "--seed=1", "--export_dir=elsewhere", "--notensorboard"])
def test_a_shared_flag_the_reproduction_does_not_read_is_refused_before_any_work(toy, tmp_path, flag):
    result = toy(f"--output_dir={tmp_path}", flag)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    name = flag.removeprefix("--no").removeprefix("--").split("=")[0]
    assert len(lines) == 1 and "toy_sum does not read it" in lines[0] and f"--{name}=" in lines[0], result.stderr
    assert not (tmp_path / "toy_sum").exists() and not (ROOT / "elsewhere").exists()
