r"""Runs every reproduction whose data is available, then one summary table.

    python -m reproductions [--mnist_dir=DIR] [--imdb_path=PATH] [--only=a,b] [--require_all]

Also installed as the console script ``tf-lstm-reproduce``. MNIST and IMDB
come from ``--mnist_dir``/``--imdb_path`` or ``$TF_LSTM_DATA_DIR`` when given,
else through TensorFlow Datasets, which downloads and prepares them the first
time (a reproduction whose data cannot be had is skipped, with the reason and
the flag that fixes it). Each trained model is exported to
``<export_dir>/<name>`` (default ``saved_models/<name>``). Every output and
export path is checked before the first reproduction starts. Writes ``<output_dir>/summary.json`` and
``summary.md``; the last line says how many ran, passed, failed and were
skipped.

The runner's status 0 means every reproduction that ran passed and at least
one ran; 1 also covers nothing having run, and with ``--require_all`` a skip.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback

from absl import flags

from reproductions import cli, environment, faults, protocol
from reproductions.html import index_page
from reproductions.report import EXIT_FAIL, EXIT_INTERNAL, EXIT_PASS, EXIT_USAGE, write_atomically

FLAGS = flags.FLAGS

# Imported for their flags, so that one command line sets them all.
REPRODUCTIONS = ["counting_rnn", "digits_lstm", "mnist_lstm", "torch_equations", "imdb_sentiment"]
MODULES = {name: importlib.import_module(f"reproductions.{name}") for name in REPRODUCTIONS}

flags.DEFINE_list("only", [], f"Run only these reproductions (default: all of {', '.join(REPRODUCTIONS)}).")
flags.DEFINE_bool(
    "require_all",
    False,
    "Treat a skipped reproduction (no data, no PyTorch) as a failure: the full check of CI and the README.",
)


def _validate_only(names):
    unknown = sorted(set(names) - set(REPRODUCTIONS))
    if unknown:  # named, so that the line says which name is wrong
        raise flags.ValidationError(
            f"--only={','.join(names)}: no reproduction named {', '.join(unknown)}; "
            f"--only takes names among {', '.join(REPRODUCTIONS)}"
        )
    return True


flags.register_validator("only", _validate_only)


def preflight(names: list[str]) -> None:
    """Every run folder and export path of `names`, checked before any training (UsageError if one is refused);
    each shared flag given, with the reproductions among `names` it applies to."""
    chosen = {name: MODULES[name] for name in names}
    for flag in protocol.given_shared_flags():
        readers = protocol.applies_to(flag, chosen)
        where = f"applies to {', '.join(readers)}" if readers else f"applies to none of {', '.join(names)}"
        print(f"--{flag}={FLAGS[flag].value} {where} (read by a reproduction that {protocol.SHARED[flag]})")
    for name in names:
        cli.claim_run_dir(name)
        if "export_dir" in MODULES[name].USES:
            cli.claim_export_dir(name)


def run_one(name: str) -> dict:
    """One reproduction's summary row: PASS, FAIL, NO VERDICT, SKIPPED, BAD INPUT or ERROR."""
    module = MODULES[name]
    missing = module.missing_requirement() if hasattr(module, "missing_requirement") else None
    if missing:
        print(f"\n### {name}: SKIPPED — {missing}")
        return dict(reproduction=name, status="SKIPPED", reason=missing)
    print(f"\n### {name}")
    start = time.perf_counter()
    try:
        report = protocol.from_flags(module)
        report.finish()
    except cli.UsageError as error:
        cli.print_usage_error(error)
        return dict(reproduction=name, status="BAD INPUT", reason=str(error))
    except faults.WriteError:  # a full disk stops every reproduction: one line, exit 2
        raise
    except Exception as error:  # one broken reproduction must not hide the others' results
        traceback.print_exc()
        return dict(reproduction=name, status="ERROR", reason=f"{type(error).__name__}: {error}")
    figures = [
        f"{r['figure']}: {r['reproduced']:.4g}"
        if isinstance(r["reproduced"], float)
        else f"{r['figure']}: {r['reproduced']}"
        for r in report.rows
        if r["result"] != "-"
    ]
    return dict(
        reproduction=name,
        status=report.status,
        seconds=round(time.perf_counter() - start, 1),
        figures=figures,
        protocol_changes=sorted(report.protocol_changes),
        report=str(report.run_dir / "report.json"),
    )


def counts(summary: list[dict]) -> str:
    """The last line: how many ran, passed, failed and were skipped, and why."""
    ran = [row for row in summary if row["status"] != "SKIPPED"]
    skipped = [row for row in summary if row["status"] == "SKIPPED"]
    passed = sum(row["status"] == "PASS" for row in ran)
    line = f"{len(ran)} ran: {passed} passed, {len(ran) - passed} did not"
    not_passed = [f"{row['reproduction']} {row['status']}" for row in ran if row["status"] != "PASS"]
    if not_passed:
        line += f" ({', '.join(not_passed)})"
    line += f"; {len(skipped)} skipped"
    if skipped:
        line += " (" + "; ".join(f"{row['reproduction']}: {row['reason']}" for row in skipped) + ")"
    return line


def exit_status(summary: list[dict], require_all: bool) -> int:
    statuses = {row["status"] for row in summary}
    if "ERROR" in statuses:
        return EXIT_INTERNAL
    if "BAD INPUT" in statuses:
        return EXIT_USAGE
    ran = [row for row in summary if row["status"] != "SKIPPED"]
    if not ran or any(row["status"] != "PASS" for row in ran) or (require_all and len(ran) < len(summary)):
        return EXIT_FAIL
    return EXIT_PASS


def main(argv) -> int:
    del argv
    names = FLAGS.only or REPRODUCTIONS
    cli.export_dir_holds_one_per_reproduction = True
    preflight(names)
    summary = [run_one(name) for name in names]

    lines = ["| reproduction | status | seconds | figures |", "| --- | --- | --- | --- |"]
    for row in summary:
        detail = "; ".join(row.get("figures", [])) or row.get("reason", "")
        if row.get("protocol_changes"):
            detail = f"(protocol changed: {', '.join(row['protocol_changes'])}) {detail}"
        lines.append(
            f"| {row['reproduction']} | {row['status']} | {row.get('seconds', '')} | "
            f"{detail.replace('|', chr(92) + '|')} |"
        )
    table = "\n".join(lines)
    status = exit_status(summary, FLAGS.require_all)
    last = counts(summary)
    if FLAGS.require_all and any(row["status"] == "SKIPPED" for row in summary):
        last += " — --require_all: a skip is a failure"
    out = cli.claim_run_dir("")
    record = environment.environment()
    made_by = "\n".join(f"- {line}" for line in environment.describe(record))
    write_atomically(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    write_atomically(out / "summary.md", f"{table}\n\n{last}\n\n## Environment\n\n{made_by}\n")
    command = "python -m reproductions " + " ".join(sys.argv[1:])
    write_atomically(out / "index.html", index_page(summary, out, command.strip(), record))
    print("\n== summary ==\n" + table)
    print(f"summary written to {out / 'summary.md'}; open {out / 'index.html'} for the whole report")
    print(f"{last}; exit status {status}")
    return status


def run() -> None:
    cli.run(main)


if __name__ == "__main__":
    run()
