"""CI must not pass by skipping: skips are reported with their reasons, and skips for what CI has are failures."""

import configparser

import pytest

from tests.conftest import NO_SKIP_VARIABLE, ROOT, skip_unless_required


def test_a_skip_for_what_this_run_must_have_is_a_failure(monkeypatch):
    monkeypatch.setenv(NO_SKIP_VARIABLE, "1")
    with pytest.raises(pytest.fail.Exception, match=f"no data, and \\${NO_SKIP_VARIABLE} is set"):
        skip_unless_required("no data")
    for value in ("", "0"):
        monkeypatch.setenv(NO_SKIP_VARIABLE, value)
        with pytest.raises(pytest.skip.Exception, match="no data"):
            skip_unless_required("no data")


def test_ci_forbids_those_skips_and_pytest_reports_every_skip():
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"export {NO_SKIP_VARIABLE}=1" in ci
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert "-rs" in config["tool:pytest"]["addopts"].split()
