"""The five articles in one table, made from the committed reports (``docs/reports/*.json``).

The README's table (between its ``<!-- articles: begin -->`` and ``<!-- articles: end -->``
lines, rewritten by ``tools/update_readme``) and the documentation's front page
(``<!-- articles -->``, through ``docs/hooks.py``) are this table: no figure in them is
typed by hand, and a test fails when the README's differs from what the reports give.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reproductions.environment import PROJECT_ROOT

REPORTS = PROJECT_ROOT / "docs" / "reports"
BEGIN, END = "<!-- articles: begin -->", "<!-- articles: end -->"


def _rows(report: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [row for row in report["figures"] if row["key"].startswith(prefix)]


def _passed(rows: list[dict[str, Any]]) -> str:
    return f"{sum(row['result'] == 'PASS' for row in rows)} of {len(rows)}"


def _row(report: dict[str, Any], key: str) -> dict[str, Any]:
    return next(row for row in report["figures"] if row["key"] == key)


def counting(report: dict[str, Any]) -> list[list[str]]:
    gd, rmsprop = _rows(report, "gd_cost_epoch_"), _rows(report, "rmsprop_cost_epoch_")
    rounding = [row for row in rmsprop if row["tolerance"].startswith("follows rounding")]
    onset = report["results"]["gd_divergence"]
    scan = [row for row in report["figures"] if row["key"].startswith("scan_")]
    return [
        [
            "B counting RNN, GD lr 1e-5",
            "`python -m reproductions.counting_rnn`",
            f"20 costs, {gd[0]['documented']} … {gd[-1]['documented']}; final wx "
            f"{_row(report, 'gd_final_wx')['documented']}, wRec {_row(report, 'gd_final_wrec')['documented']}; "
            "larger rates diverge",
            f"{_passed(gd)} costs to their printed digits; final {_row(report, 'gd_final_wx')['reproduced']:.6g}, "
            f"{_row(report, 'gd_final_wrec')['reproduced']:.6g}; diverges from "
            f"{onset['onset']['multiple']:.4g}× the rate; both scan examples exactly ({_passed(scan)})",
            report["status"],
        ],
        [
            "B counting RNN, RMSProp lr 1e-3",
            "same",
            f"20 costs, {rmsprop[0]['documented']} … {rmsprop[-1]['documented']}; final wx "
            f"{_row(report, 'rmsprop_final_wx')['documented']}, "
            f"wRec {_row(report, 'rmsprop_final_wrec')['documented']}",
            f"{_passed(rmsprop)} costs ({len(rounding)} of them, which rounding moves, within the span of runs that "
            f"differ only in rounding); final {_row(report, 'rmsprop_final_wx')['reproduced']:.6g}, "
            f"{_row(report, 'rmsprop_final_wrec')['reproduced']:.6g}",
            report["status"],
        ],
    ]


def digits(report: dict[str, Any]) -> list[list[str]]:
    seeds = report["results"]["per_seed"]
    tanh = _row(report, "tanh_claim")
    return [
        [
            "C scratch LSTM, digits",
            "`python -m reproductions.digits_lstm`",
            "a plot (target: mean test ≥ "
            f"{_row(report, 'mean_test_accuracy')['documented']}); the tanh before the output gate is unnecessary",
            " / ".join(f"{seed['test_accuracy']:.4f}" for seed in seeds)
            + f" ({len(seeds)} seeds); with the tanh {tanh['reproduced']:+.4f}",
            report["status"],
        ]
    ]


def mnist(report: dict[str, Any]) -> list[list[str]]:
    seeds = report["results"]["per_seed"]
    sigmoids = _rows(report, "sigmoid_")
    remarks = _rows(report, "nsteps_")
    return [
        [
            "A MNIST row by row",
            "`python -m reproductions.mnist_lstm --mnist_dir=DIR`",
            f"{_row(report, 'upstream_test128_accuracy')['documented']} (first 128 test images); "
            "ten sigmoids to 9 digits; four remarks on the answers of n_steps",
            f"{_row(report, 'mean_test_accuracy')['reproduced']:.4f} mean on 10,000 ("
            + " / ".join(f"{seed['test_accuracy']:.4f}" for seed in seeds)
            + f"); {_row(report, 'mean_test128_accuracy')['reproduced']:.4f} on the first 128; sigmoids "
            f"{_passed(sigmoids)}; remarks {_passed(remarks)}",
            report["status"],
        ]
    ]


def torch(report: dict[str, Any]) -> list[list[str]]:
    return [
        [
            "D PyTorch equations",
            "`python -m reproductions.torch_equations`",
            "equal to `torch.nn.LSTM`",
            f"largest difference {_row(report, 'max_abs_difference')['reproduced']:.2g} over "
            f"{len(report['results']['grid'])} settings (outputs, h_n, c_n, logits, gradients)",
            report["status"],
        ]
    ]


def imdb(report: dict[str, Any]) -> list[list[str]]:
    results = report["results"]["results"]
    scan, keras = results["scan"], results["keras"]
    return [
        [
            f"E Theano tutorial, IMDB (maxlen {report['config']['maxlen']})",
            "`python -m reproductions.imdb_sentiment --imdb_path=…`",
            f"no figure (target: ≥ {_row(report, 'scan_test_accuracy')['documented']} and within "
            f"{_row(report, 'accuracy_gap_to_keras')['documented']} of Keras)",
            f"ScanLSTM {scan['test_accuracy']:.4f}, `keras.layers.LSTM` {keras['test_accuracy']:.4f} on all "
            f"{report['results']['data']['test_reviews']:,} test reviews ({scan['epochs']} / {keras['epochs']} "
            f"epochs, {scan['seconds_per_epoch']:.1f} / {keras['seconds_per_epoch']:.1f} s each)",
            report["status"],
        ]
    ]


MAKERS = dict(counting_rnn=counting, digits_lstm=digits, mnist_lstm=mnist, torch_equations=torch, imdb_sentiment=imdb)


def article_table(reports: Path = REPORTS) -> str:
    """The markdown table of the five articles: documented, reproduced and verdict, from the reports."""
    lines = ["| article | command | documented | reproduced | |", "| --- | --- | --- | --- | --- |"]
    for name, make in MAKERS.items():
        report = json.loads((reports / f"{name}.json").read_text())
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in make(report)]
    return "\n".join(lines)


def with_table(readme: str, reports: Path = REPORTS) -> str:
    """`readme` with the text between its markers replaced by the table."""
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    return readme[:start] + "\n" + article_table(reports) + "\n" + readme[end:]
