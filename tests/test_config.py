"""Config-first scripts (`reproductions.config`): one dataclass per protocol, its flags, --help, report.json."""

import dataclasses
import json
import subprocess
import sys

import pytest
from absl import flags

from reproductions import config
from reproductions.__main__ import MODULES
from reproductions.digits_lstm import DigitsConfig
from reproductions.report import Report

FLAGS = flags.FLAGS
CONFIGS = {  # each script's protocol dataclass: the <Article>Config it defines
    name: next(
        v
        for v in vars(module).values()
        if dataclasses.is_dataclass(v)
        and isinstance(v, type)
        and v.__module__ == module.__name__
        and v.__name__.endswith("Config")
    )
    for name, module in MODULES.items()
}


def test_every_script_has_a_protocol_dataclass_whose_fields_are_its_prefixed_flags():
    for name, module in MODULES.items():
        fields = dataclasses.fields(CONFIGS[name])
        assert fields, name
        for field in fields:
            flag = FLAGS[f"{module.PREFIX}_{field.name}"]
            assert flag.default == field.default and flag.help.endswith(field.metadata["help"]), (name, field.name)


def test_from_flags_reads_the_command_line_into_the_dataclass():
    FLAGS["digits_epochs"].parse("7")
    try:
        assert config.from_flags(DigitsConfig, "digits") == DigitsConfig(epochs=7)
    finally:
        FLAGS["digits_epochs"].unparse()
    assert config.from_flags(DigitsConfig, "digits") == DigitsConfig()


def test_protocol_of_compares_each_protocol_setting_with_the_articles():
    from reproductions.mnist_lstm import MnistConfig

    protocol = config.protocol_of(MnistConfig(hidden=4, checkpoint_every=0))
    assert protocol["hidden"] == (4, 128) and protocol["train_examples"] == (100_000, 100_000)
    assert "checkpoint_every" not in protocol  # not part of what is measured


def test_report_json_holds_the_whole_config_and_names_the_changes(tmp_path):
    report = Report("digits_lstm", tmp_path, DigitsConfig(epochs=2), protocol=dict(seeds=(1, 3)))
    report.check("mean_test_accuracy", 0.9)
    report.check("min_train500_accuracy", 0.9)
    report.finish()
    written = json.loads((tmp_path / "report.json").read_text())
    assert written["config"] == dict(epochs=2, hidden=50, batches=14, tanh_experiment=True)
    assert written["protocol_changes"] == ["epochs", "seeds"]
    assert "PROTOCOL CHANGED: epochs=2 (article: 100), seeds=1 (article: 3)" in report.header()


@pytest.mark.parametrize("command", [["reproductions.digits_lstm"], ["reproductions"]])
def test_help_lists_every_flag_the_command_takes_with_its_default(command):
    result = subprocess.run([sys.executable, "-m", *command, "--help"], capture_output=True, text=True, timeout=60)
    shown = result.stdout  # absl exits 1 after --help
    assert "Traceback" not in result.stderr, result.stderr
    modules = MODULES.values() if command == ["reproductions"] else [MODULES["digits_lstm"]]
    expected = ["seeds", "seed", "output_dir", "export_dir", "strategy", "logical_cpus"]
    for module in modules:
        expected += [f"{module.PREFIX}_{f.name}" for f in dataclasses.fields(CONFIGS[module.NAME])]
    if command == ["reproductions"]:
        expected += ["only", "require_all", "mnist_dir", "imdb_path"]
    for name in expected:
        assert f"--{name}:" in shown or f"--[no]{name}:" in shown, name
    assert "(default: '100')" in shown  # --digits_epochs
