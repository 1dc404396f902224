"""MkDocs hook: the pages' tables come from the code and from real runs, never typed by hand.

- ``<!-- figures: NAME -->``: the article's documented figures from
  `reproductions.documented`, beside what a real run reproduced
  (``docs/reports/NAME.json``, a `report.json` of ``python -m reproductions``);
- ``<!-- environment: NAME -->``: what produced that run (its environment block);
- ``<!-- pictures: NAME -->``: the run's pictures (``docs/reports/NAME/*.png``);
- ``<!-- differences: NAME -->``: where that run differs from the article, and why
  (the report's ``differences``, from the article's config in `reproductions`);
- ``<!-- shipped: NAME -->``: that run's exported files, each measured on the test set;
- ``<!-- experiments: mnist_lstm -->``: the experiments the MNIST article left
  unfinished, as that run measured them;
- ``<!-- articles -->``: the five articles' table (`reproductions.article_table`, the README's too);
- ``<!-- benchmark -->``: the table of ``docs/reports/lstm_speed.json``, written by
  ``python -m benchmarks.lstm_speed --json_out=docs/reports/lstm_speed.json``;
- after the build, MathJax (the ``jupyter-server-mathjax`` package's copy, told to use its STIX-Web fonts) goes to
  ``assets/mathjax`` beside the pages, for the notebook pages' equations to render with
  no network;
- ``<!-- inside_page -->``: the size and speed of the IMDB run's ``inside.html``
  (``docs/reports/inside_page.json``, written by ``python -m benchmarks.inside_page``).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

REPORTS = Path(__file__).parent / "reports"
MARKER = re.compile(
    r"<!-- (figures|environment|pictures|differences|experiments|shipped): (\w+) -->"
    r"|<!-- (benchmark|inside_page|articles) -->"
)


def _cell(value) -> str:
    """A reproduced value, rounded for reading (documented figures are shown as printed: `_documented`)."""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace("|", "\\|")


def _documented(value) -> str:
    """A documented figure exactly as the article (or the target) writes it: printed text stays text."""
    return "yes" if value is True else str(value).replace("|", "\\|")


def figures(name: str) -> str:
    """Every row of the run's report in its order (a figure judged in two float types is two rows), then any
    documented figure that run did not judge."""
    from reproductions.documented import DOCUMENTED

    report = json.loads((REPORTS / f"{name}.json").read_text())
    lines = [
        "| figure | documented | tolerance | source | reproduced | result |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in report["figures"]:
        lines.append(
            f"| {_cell(row['figure'])} | {_documented(row['documented'])} | {_cell(row['tolerance'])} | "
            f"{_cell(row['source'])} | {_cell(row['reproduced'])} | {row['result']} |"
        )
    judged = {row["key"] for row in report["figures"]}
    for key, figure in DOCUMENTED[name].items():
        if key not in judged:
            lines.append(
                f"| {_cell(figure.label)} | {_documented(figure.documented)} | {_cell(figure.describe_tolerance())} "
                f"| {_cell(figure.source)} | – | – |"
            )
    return "\n".join(lines) + f"\n\nVerdict of that run: **{report['status']}**."


def differences(name: str) -> str:
    """The run's differences from the article, each with its reason; a run with none says so."""
    from reproductions.report import describe_difference

    report = json.loads((REPORTS / f"{name}.json").read_text())
    found = report.get("differences", [])
    if not found:
        return "None: that run follows the article in every setting."
    return "\n".join(f"- {describe_difference(difference)}" for difference in found)


def shipped(name: str) -> str:
    """The run's SavedModel and TFLite files, each measured on the real test set (`reproductions.shipping`)."""
    report = json.loads((REPORTS / f"{name}.json").read_text())
    lines = [
        "| file | test accuracy | max \\|diff\\| from the SavedModel | bytes | batch 1 | batch 1,024 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for file, row in report["results"]["tflite"].items():
        lines.append(
            f"| `{file}` | {row['accuracy']:.4f} | {row['max_abs_difference']:.2g} | {row['bytes']:,} | "
            f"{row['batch1_ms']:.2f} ms | {row['batch1024_ms']:.1f} ms |"
        )
    return "\n".join(lines)


def experiments(name: str) -> str:
    """The MNIST article's unfinished experiments, as the run measured them (no documented figure)."""
    report = json.loads((REPORTS / f"{name}.json").read_text())
    lines = ["| experiment | test accuracy |", "| --- | --- |"]
    lines += [f"| {what} | {accuracy:.4f} |" for what, accuracy in report["results"]["experiments"].items()]
    return "\n".join(lines)


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
            "| case | task | comparison | ratio (95% CI) | verdict |",
            "| --- | --- | --- | --- | --- |",
        ]
        for row in verdicts:
            lines.append(
                f"| {row['case']} | {row['task']} | {row['comparison'].replace('_', ' ')} | {row['ratio']:.2f}× "
                f"({row['ci_low']:.2f}–{row['ci_high']:.2f}) | "
                f"{row['verdict']} |"
            )
    lines += ["", *fastest_at_inference(result["rows"])]
    made = "\n".join(f"- {line}" for line in describe(result["environment"]))
    command = f"Written by `{result['command']}`. " if "command" in result else ""
    return "\n".join(lines) + f"\n\n{command}Measured on:\n\n{made}\n"


def fastest_at_inference(rows: list[dict]) -> list[str]:
    """Which runtime serves each inference shape fastest (the lowest median), from the benchmark's rows: in float32,
    and with int8 weights apart (their accuracy is judged by the reproductions, not by the benchmark's random
    weights). The exported rows (SavedModel, TFLite) were timed in a group of their own, in the same process."""
    timed = [row for row in rows if row.get("task") in ("infer", "infer_export") and "ms" in row]
    lines = ["Fastest at inference, per shape (lowest median; int8: the fastest with int8 weights):", ""]
    for case in dict.fromkeys(row["case"] for row in timed):
        here = [row for row in timed if row["case"] == case]
        best = min((row for row in here if not row["contender"].endswith("int8")), key=lambda row: row["ms"])
        line = f"- {case}: {best['contender']} ({best['ms']:.3g} ms)"
        quantized = [row for row in here if row["contender"].endswith("int8")]
        if quantized:
            fastest = min(quantized, key=lambda row: row["ms"])
            line += f"; int8: {fastest['contender']} ({fastest['ms']:.3g} ms)"
        lines.append(line)
    return lines if len(lines) > 2 else []


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
        if bench == "articles":
            from reproductions.article_table import article_table

            return article_table(REPORTS)
        if bench:
            return benchmark()
        makers = dict(
            figures=figures,
            environment=environment,
            pictures=pictures,
            differences=differences,
            experiments=experiments,
            shipped=shipped,
        )
        return makers[kind](name)

    return MARKER.sub(replace, markdown)


# The package's MathJax holds the STIX-Web fonts only: MathJax is told so, or it reaches for its TeX fonts, which are
# not there, and an equation with a prime fails to render.
MATHJAX_FONTS = """MathJax.Hub.Config({"HTML-CSS": {availableFonts: ["STIX-Web"], preferredFont: "STIX-Web",
  webFont: "STIX-Web", imageFont: null}});
MathJax.Ajax.loadComplete("[MathJax]/config/local/tf_lstm.js");
"""


def on_post_build(config, **_) -> None:
    import jupyter_server_mathjax

    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    target = Path(config["site_dir"]) / "assets" / "mathjax"
    shutil.copytree(source, target, dirs_exist_ok=True)
    (target / "config" / "local").mkdir(parents=True, exist_ok=True)
    (target / "config" / "local" / "tf_lstm.js").write_text(MATHJAX_FONTS)
