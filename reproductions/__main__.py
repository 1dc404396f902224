r"""Runs every reproduction whose data is available, then one summary table.

    python -m reproductions [--mnist_dir=DIR] [--imdb_path=PATH] [--only=a,b]

Also installed as the console script ``tf-lstm-reproduce``. Writes
``<output_dir>/summary.json`` and ``summary.md``; exits 1 if any
reproduction fails, 2 on bad flags.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback

from absl import flags

from reproductions import cli
from reproductions.report import EXIT_FAIL, EXIT_PASS, write_atomically

FLAGS = flags.FLAGS

# Imported for their flags, so that one command line sets them all.
REPRODUCTIONS = ["counting_rnn", "digits_lstm", "mnist_lstm", "torch_equations", "imdb_sentiment"]
for _name in REPRODUCTIONS:
    importlib.import_module(f"reproductions.{_name}")

flags.DEFINE_list("only", [], f"Run only these reproductions (default: all of {', '.join(REPRODUCTIONS)}).")


def _validate_only(names):
    unknown = sorted(set(names) - set(REPRODUCTIONS))
    return not unknown


flags.register_validator("only", _validate_only, message=f"--only takes names among {', '.join(REPRODUCTIONS)}")


def main(argv) -> int:
    del argv
    names = FLAGS.only or REPRODUCTIONS
    summary = []
    for name in names:
        module = importlib.import_module(f"reproductions.{name}")
        missing = module.missing_requirement() if hasattr(module, "missing_requirement") else None
        if missing:
            print(f"\n### {name}: SKIPPED — {missing}")
            summary.append(dict(reproduction=name, status="SKIPPED", reason=missing))
            continue
        print(f"\n### {name}")
        start = time.perf_counter()
        try:
            report = module.reproduce_from_flags()
            code = report.finish()
            status = "PASS" if code == EXIT_PASS else "FAIL"
            figures = [f"{r['figure']}: {r['reproduced']:.4g}" if isinstance(r["reproduced"], float)
                       else f"{r['figure']}: {r['reproduced']}" for r in report.rows if r["result"] != "-"]
            summary.append(dict(reproduction=name, status=status, seconds=round(time.perf_counter() - start, 1),
                                figures=figures, report=str(report.run_dir / "report.json")))
        except cli.UsageError as error:
            print(f"error: {error}", file=sys.stderr)
            summary.append(dict(reproduction=name, status="ERROR", reason=str(error)))
        except Exception as error:  # one broken reproduction must not hide the others' results
            traceback.print_exc()
            summary.append(dict(reproduction=name, status="ERROR", reason=f"{type(error).__name__}: {error}"))

    lines = ["| reproduction | status | seconds | figures |", "| --- | --- | --- | --- |"]
    for row in summary:
        detail = ("; ".join(row.get("figures", [])) or row.get("reason", "")).replace("|", "\\|")
        lines.append(f"| {row['reproduction']} | {row['status']} | {row.get('seconds', '')} | {detail} |")
    table = "\n".join(lines)
    print("\n== summary ==\n" + table)
    out = cli.run_dir("")
    write_atomically(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    write_atomically(out / "summary.md", table + "\n")
    print(f"summary written to {out / 'summary.md'}")
    return EXIT_PASS if all(r["status"] in ("PASS", "SKIPPED") for r in summary) else EXIT_FAIL


def run() -> None:
    cli.run(main)


if __name__ == "__main__":
    run()
