"""``runs/index.html``: one static page with every reproduction's verdict, figures and pictures.

Self-contained: no script, no network; the pictures are the PNGs beside it in
each run folder, referenced by relative paths, and each run's interactive
``inside.html`` is linked.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; padding: 0 1.5em; max-width: 1400px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.PASS { background: #d9f2d9; } .FAIL, .ERROR, .BAD { background: #f8d0d0; }
.SKIPPED, .NO { background: #f4ecc8; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return html.escape(str(value))


def index_page(summary: list[dict], runs: Path, command: str, record: dict[str, Any]) -> str:
    """The page for the runner's `summary` rows, whose reports lie under `runs`; `record`: what produced them."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>tf_lstm reproductions</title>',
        f"<style>{STYLE}</style></head><body>",
        "<h1>tf_lstm: the five articles, documented vs reproduced</h1>",
        f"<p>Produced by <code>{html.escape(command)}</code>.</p>",
        "<table><tr><th>reproduction</th><th>status</th><th>seconds</th><th>protocol changes</th></tr>",
    ]
    for row in summary:
        status = row["status"]
        parts.append(
            f'<tr><td><a href="#{_cell(row["reproduction"])}">{_cell(row["reproduction"])}</a></td>'
            f'<td class="{status.split()[0]}">{_cell(status)}</td><td>{_cell(row.get("seconds", ""))}</td>'
            f"<td>{_cell(', '.join(row.get('protocol_changes', [])) or row.get('reason', ''))}</td></tr>"
        )
    parts.append("</table>")
    parts += _environment(record)
    for row in summary:
        parts += _section(row, runs)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _environment(record: dict[str, Any]) -> list[str]:
    """The versions, machine, switches and lock behind every figure on the page."""
    from reproductions.environment import describe

    rows = "".join(f"<li>{_cell(line)}</li>" for line in describe(record))
    return [f'<h2 id="environment">Environment</h2><ul class="environment">{rows}</ul>']


def _shipped(tflite: dict | None) -> list[str]:
    """The exported files (reproductions/shipping.py), each measured on the test set."""
    if not tflite:
        return []
    out = [
        "<h3>Exported: SavedModel and TFLite</h3>",
        "<table><tr><th>file</th><th>test accuracy</th><th>max |diff| from the SavedModel</th><th>bytes</th>"
        "<th>batch 1 (ms)</th><th>batch 1,024 (ms)</th></tr>",
    ]
    for name, row in tflite.items():
        out.append(
            f"<tr><td>{_cell(name)}</td><td>{_cell(row['accuracy'])}</td><td>{_cell(row['max_abs_difference'])}</td>"
            f"<td>{_cell(row['bytes'])}</td><td>{_cell(row['batch1_ms'])}</td><td>{_cell(row['batch1024_ms'])}</td></tr>"
        )
    out.append("</table>")
    return out


def _differences(found: list[dict]) -> list[str]:
    """Where the run differs from the article, and why (`reproductions.config.differences`)."""
    from reproductions.report import describe_difference

    if not found:
        return []
    items = "".join(f"<li>{_cell(describe_difference(difference))}</li>" for difference in found)
    return [f"<h3>Where this run differs from the article</h3><ul>{items}</ul>"]


def _experiments(experiments: dict | None) -> list[str]:
    """New experiments with no documented figure (the MNIST article's unfinished ones)."""
    if not experiments:
        return []
    rows = "".join(f"<tr><td>{_cell(name)}</td><td>{accuracy:.4f}</td></tr>" for name, accuracy in experiments.items())
    return [
        "<h3>The experiments the article left unfinished (no documented figure)</h3>",
        f"<table><tr><th>experiment</th><th>test accuracy</th></tr>{rows}</table>",
    ]


def _section(row: dict, runs: Path) -> list[str]:
    name = row["reproduction"]
    out = [f'<h2 id="{_cell(name)}">{_cell(name)}: {_cell(row["status"])}</h2>']
    if "report" not in row:
        return [*out, f"<p>{_cell(row.get('reason', ''))}</p>"]
    report_path = Path(row["report"])
    report = json.loads(report_path.read_text())
    command = f"python -m reproductions.{name}"
    out.append(f"<p><code>{html.escape(command)}</code> (as part of the command above), {_cell(row['seconds'])} s</p>")
    if report.get("protocol_changes"):
        changed = ", ".join(
            f"{key}={report['protocol'][key]['run']} (article: {report['protocol'][key]['article']})"
            for key in report["protocol_changes"]
        )
        out.append(f"<p><b>Protocol changed:</b> {_cell(changed)}</p>")
    out.append("<table><tr><th>figure</th><th>documented</th><th>reproduced</th><th>tolerance</th><th>result</th></tr>")
    for figure in report["figures"]:
        result = figure["result"]
        out.append(
            f"<tr><td>{_cell(figure['figure'])}</td><td>{html.escape(str(figure['documented']))}</td>"
            f"<td>{_cell(figure['reproduced'])}</td><td>{_cell(figure['tolerance'])}</td>"
            f'<td class="{result if result != "-" else ""}">{_cell(result)}</td></tr>'
        )
    out.append("</table>")
    out += _differences(report.get("differences", []))
    out += _experiments(report.get("results", {}).get("experiments"))
    out += _shipped(report.get("results", {}).get("tflite"))
    folder = report_path.parent.resolve().relative_to(runs.resolve())
    page = report.get("results", {}).get("inside_page")
    if page:
        out.append(
            f'<p class="inside"><a href="{html.escape((folder / page["file"]).as_posix())}">Open the inside page</a>: '
            f"every state and gate of the trained model at every step of {page['sequences']:,} sequences, to "
            f"question (brush steps, select units, find where they are on, read the input coloured by a unit); "
            f"{page['bytes']:,} bytes, one file.</p>"
        )
    for picture in report.get("plots", []):
        source = (folder / picture).as_posix()
        out.append(f'<figure><img src="{html.escape(source)}" alt="{_cell(picture)}">')
        out.append(f"<figcaption>{_cell(picture)}</figcaption></figure>")
    return out
