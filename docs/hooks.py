"""MkDocs hook: the pages' tables come from the code and from real runs, never typed by hand.

- ``<!-- figures: NAME -->``: the article's documented figures from
  `reproductions.documented`, beside what a real run reproduced
  (``docs/reports/NAME.json``, a `report.json` of ``python -m reproductions``);
- ``<!-- environment: NAME -->``: what produced that run (its environment block);
- ``<!-- pictures: NAME -->``: the run's pictures (``docs/reports/NAME/*.png``);
- ``<!-- benchmark -->``: the table of ``docs/reports/lstm_speed.json``, written by
  ``python -m benchmarks.lstm_speed --json_out=docs/reports/lstm_speed.json``;
- ``<!-- inside_page -->``: the size and speed of the IMDB run's ``inside.html``
  (``docs/reports/inside_page.json``, written by ``python -m benchmarks.inside_page``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

REPORTS = Path(__file__).parent / "reports"
MARKER = re.compile(r"<!-- (figures|environment|pictures): (\w+) -->|<!-- (benchmark|inside_page) -->")


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace("|", "\\|")


def figures(name: str) -> str:
    from reproductions.documented import DOCUMENTED

    report = json.loads((REPORTS / f"{name}.json").read_text())
    reproduced = {row["key"]: row for row in report["figures"]}
    lines = [
        "| figure | documented | tolerance | source | reproduced | result |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key, figure in DOCUMENTED[name].items():
        row = reproduced.get(key, {})
        lines.append(
            f"| {_cell(row.get('figure', figure.label))} | {_cell(figure.documented)} | "
            f"{_cell(figure.describe_tolerance())} | {_cell(figure.source)} | {_cell(row.get('reproduced', '–'))} | "
            f"{row.get('result', '–')} |"
        )
    extra = [row for row in report["figures"] if row["key"] not in DOCUMENTED[name]]
    for row in extra:  # e.g. the same figure judged in a second float type
        lines.append(
            f"| {_cell(row['figure'])} | {_cell(row['documented'])} | {_cell(row['tolerance'])} | "
            f"{_cell(row['source'])} | {_cell(row['reproduced'])} | {row['result']} |"
        )
    return "\n".join(lines) + f"\n\nVerdict of that run: **{report['status']}**."


def environment(name: str) -> str:
    from reproductions.environment import describe

    report = json.loads((REPORTS / f"{name}.json").read_text())
    return "\n".join(f"- {line}" for line in describe(report["environment"]))


def pictures(name: str) -> str:
    shown = sorted((REPORTS / name).glob("*.png"))
    return "\n\n".join(f"![{p.stem}](../reports/{name}/{p.name})" for p in shown)


def benchmark() -> str:
    from reproductions.environment import describe

    result = json.loads((REPORTS / "lstm_speed.json").read_text())
    lines = ["| case | task | contender | median ms (min–max) | / Keras best |", "| --- | --- | --- | --- | --- |"]
    for row in result["rows"]:
        if "ms" in row and "ratio_to_keras_best" in row:
            lines.append(
                f"| {row['case']} | {row['task']} | {row['contender']} | {row['ms']:.3g} "
                f"({row['ms_min']:.3g}–{row['ms_max']:.3g}) | {row['ratio_to_keras_best']:.2f}× |"
            )
    verdicts = [row for row in result["rows"] if "comparison" in row]
    if verdicts:
        lines += [
            "",
            "| case | task | comparison | ratio (per-repeat range) | verdict |",
            "| --- | --- | --- | --- | --- |",
        ]
        for row in verdicts:
            lines.append(
                f"| {row['case']} | {row['task']} | {row['comparison'].replace('_', ' ')} | {row['ratio']:.2f}× "
                f"({row['ratio_min']:.2f}–{row['ratio_max']:.2f}) | {row['verdict']} |"
            )
    made = "\n".join(f"- {line}" for line in describe(result["environment"]))
    return "\n".join(lines) + f"\n\nMeasured on:\n\n{made}\n"


def inside_page() -> str:
    from reproductions.environment import describe

    result = json.loads((REPORTS / "inside_page.json").read_text())

    def timing(key: str, digits: int) -> str:
        row = result[key]
        return f"{row['median']:.{digits}f} ({row['min']:.{digits}f}–{row['max']:.{digits}f})"

    lines = [
        "| page | bytes | sequences | steps held | units | first paint, ms | ready, ms | one match over every "
        "sequence, ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| `{result['page']}` | {result['bytes']:,} | {result['sequences']:,} | {result['steps']:,} | "
        f"{result['units']} | {timing('first_contentful_paint_ms', 0)} | {timing('ready_ms', 0)} | "
        f"{timing('match_ms', 1)} |",
    ]
    made = "\n".join(f"- {line}" for line in describe(result["environment"]))
    return (
        "\n".join(lines)
        + f"\n\nMedians (and ranges) of {result['repeats']} openings and {result['matches']['selections']} matches "
        f"in {result['browser']}. Measured on:\n\n{made}\n"
    )


def on_page_markdown(markdown: str, **_) -> str:
    def replace(match: re.Match) -> str:
        kind, name, bench = match.groups()
        if bench == "inside_page":
            return inside_page()
        if bench:
            return benchmark()
        return {"figures": figures, "environment": environment, "pictures": pictures}[kind](name)

    return MARKER.sub(replace, markdown)
