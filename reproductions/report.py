"""The report every reproduction ends with: documented vs reproduced, PASS/FAIL.

Prints ``figure | documented | reproduced | tolerance | result``, writes
``report.json`` (atomically) and the plots into the run directory, and gives
the exit status: 0 when every judged figure passes, 1 otherwise.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from reproductions.documented import documented

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def write_atomically(path: Path, data: bytes | str) -> None:
    """Writes `data` to `path` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "w" if isinstance(data, str) else "wb"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def weights_digest(model) -> str:
    """SHA-256 of a model's weights, bytes as they are: equal digests mean identical weights."""
    import hashlib

    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(weight.tobytes())
    return digest.hexdigest()


def save_figure(figure, path: Path) -> Path:
    """Saves a matplotlib figure as PNG atomically, then closes it."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    write_atomically(Path(path), buffer.getvalue())
    return Path(path)


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.6g}"
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if hasattr(value, "item"):
        return _jsonable(value.item())
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class Report:
    """Collects a reproduction's figures and judges them against `documented`.

    Args:
        article: the key of the article in `reproductions.documented.DOCUMENTED`.
        run_dir: where ``report.json`` and the plots go.
    """

    def __init__(self, article: str, run_dir: str | os.PathLike):
        self.article = article
        self.run_dir = Path(run_dir)
        self.rows: list[dict[str, Any]] = []
        self.results: dict[str, Any] = {}
        self.plots: list[str] = []

    def check(self, key: str, reproduced: Any) -> bool | None:
        """Judges `reproduced` against the documented figure `key`."""
        figure = documented(self.article, key)
        if reproduced is not None and not isinstance(reproduced, bool) and hasattr(reproduced, "item"):
            reproduced = reproduced.item()
        if isinstance(reproduced, (int, float)) and not isinstance(reproduced, bool):
            reproduced = float(reproduced)
        verdict = figure.passes(reproduced)
        self.rows.append(
            dict(
                key=key,
                figure=figure.label,
                documented=figure.documented,
                reproduced=reproduced,
                tolerance=figure.describe_tolerance(),
                source=figure.source,
                result={True: "PASS", False: "FAIL", None: "-"}[verdict],
            )
        )
        return verdict

    def record(self, key: str, value: Any) -> None:
        """Keeps a result that has no documented figure (new experiments, timings)."""
        self.results[key] = value

    def plot(self, figure, name: str) -> Path:
        path = save_figure(figure, self.run_dir / name)
        self.plots.append(name)
        return path

    @property
    def passed(self) -> bool:
        return all(row["result"] != "FAIL" for row in self.rows)

    def table(self) -> str:
        header = ["figure", "documented", "reproduced", "tolerance", "result"]
        lines = [[r["figure"], _format(r["documented"]), _format(r["reproduced"]), r["tolerance"], r["result"]]
                 for r in self.rows]
        widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]
        fmt = " | ".join(f"{{:<{w}}}" for w in widths)
        out = [fmt.format(*header), "-+-".join("-" * w for w in widths)]
        out += [fmt.format(*line) for line in lines]
        return "\n".join(out)

    def finish(self) -> int:
        """Prints the table, writes report.json, returns the exit status."""
        print(f"\n== {self.article}: documented vs reproduced ==")
        print(self.table())
        status = "PASS" if self.passed else "FAIL"
        print(f"{self.article}: {status} ({sum(r['result'] == 'PASS' for r in self.rows)}"
              f"/{sum(r['result'] != '-' for r in self.rows)} figures pass); report in {self.run_dir}")
        payload = dict(
            article=self.article,
            passed=self.passed,
            figures=self.rows,
            results=self.results,
            plots=self.plots,
        )
        write_atomically(self.run_dir / "report.json", json.dumps(_jsonable(payload), indent=2) + "\n")
        return EXIT_PASS if self.passed else EXIT_FAIL
