"""The report every reproduction ends with: documented vs reproduced, PASS/FAIL.

Prints ``figure | documented | reproduced | tolerance | result``, writes
``report.json`` (atomically) and the plots into the run directory, and gives
the exit status: 0 when every judged figure passes, 1 otherwise. Every
judged figure of the article's table is expected: one that the run never
judged fails the report, unless the run said why it could not (`not_run`,
e.g. ``--counting_optimizer=gd`` leaves out the RMSProp figures); a report that
judged no figure at all is not a pass either.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from reproductions import faults
from reproductions.config import differences, protocol_of
from reproductions.documented import DOCUMENTED, documented
from reproductions.environment import environment, portable
from reproductions.runlog import RunLog

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


def write_atomically(path: Path, data: bytes | str) -> None:
    """Writes `data` to `path` through a temporary file and a rename (a failed write: `faults.WriteError`)."""
    path = Path(path)
    with faults.writing(path):
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

    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(weight.tobytes())
    return digest.hexdigest()


def pyplot():
    """`matplotlib.pyplot` drawing to files only (the Agg backend): the reproductions need no display."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path: Path) -> Path:
    """Saves a matplotlib figure as PNG atomically, then closes it."""

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


def describe_difference(difference: dict[str, Any]) -> str:
    """One line of "where this run differs from the article": what, the two values when a setting, and why."""
    if difference.get("article") is None:
        return f"{difference['what']}: {difference['why']}"
    return f"{difference['what']} = {difference['run']} (the article: {difference['article']}): {difference['why']}"


class Report:
    """Collects a reproduction's figures and judges them against `documented`.

    Args:
        article: the key of the article in `reproductions.documented.DOCUMENTED`.
        run_dir: where ``report.json`` and the plots go.
        config: the run's protocol dataclass (`reproductions.config`): recorded
            whole, and each of its settings compared with the article's.
        protocol: more ``{setting: (value run, the article's value)}`` (the
            shared flags, such as ``seeds``). The settings that differ from the
            article's are named in the report's header.
        tensorboard: also write a TensorBoard log (`self.log`, a
            `reproductions.runlog.RunLog`) into ``run_dir/tensorboard``.
    """

    def __init__(
        self,
        article: str,
        run_dir: str | os.PathLike,
        config: Any = None,
        protocol: dict[str, tuple[Any, Any]] | None = None,
        tensorboard: bool = False,
    ):
        self.article = article
        self.config = None if config is None else dataclasses.asdict(config)
        self.run_dir = Path(run_dir)
        self.rows: list[dict[str, Any]] = []
        self.results: dict[str, Any] = {}
        self.plots: list[str] = []
        self.protocol = {**({} if config is None else protocol_of(config)), **(protocol or {})}
        # Where this run differs from the article, and why (`reproductions.config.differences`).
        self.differences = [] if config is None else differences(config)
        self.not_run_reasons: dict[str, str] = {}
        self.log = RunLog(self.run_dir, tensorboard)

    @property
    def protocol_changes(self) -> dict[str, tuple[Any, Any]]:
        """The settings run with another value than the article's: ``{setting: (run, article)}``."""
        return {name: (run, article) for name, (run, article) in self.protocol.items() if run != article}

    def check(
        self, key: str, reproduced: Any, label: str | None = None, envelope: tuple[float, float] | None = None
    ) -> bool | None:
        """Judges `reproduced` against the documented figure `key`; `label` says what was run, if not the article's.

        `envelope` is the span of the figure over runs that differ from this one by rounding alone (initial
        weights nudged by one unit in the last place). A printed figure that they move by more than one unit
        of its last digit follows rounding, not the algorithm: it is judged by whether the printed value lies
        within that span, and the row says so.
        """
        figure = documented(self.article, key)
        if reproduced is not None and not isinstance(reproduced, bool) and hasattr(reproduced, "item"):
            reproduced = reproduced.item()
        if isinstance(reproduced, (int, float)) and not isinstance(reproduced, bool):
            reproduced = float(reproduced)
        verdict, tolerance = figure.passes(reproduced), figure.describe_tolerance()
        row: dict[str, Any] = dict(key=key, figure=label or figure.label, documented=figure.documented)
        if envelope is not None and figure.kind == "digits":
            row["envelope"] = list(envelope)
            if figure.in_units(envelope[1]) - figure.in_units(envelope[0]) > 1:
                verdict = figure.within_envelope(*envelope)
                spread = f"{envelope[0]:.6g}–{envelope[1]:.6g}"
                tolerance = f"follows rounding: rounding variants span {spread}; the printed value must lie inside"
        row.update(
            reproduced=reproduced,
            tolerance=tolerance,
            source=figure.source,
            result={True: "PASS", False: "FAIL", None: "-"}[verdict],
        )
        self.rows.append(row)
        return verdict

    def diverged(self, run: str, diverged: faults.Diverged) -> None:
        """Fails the report: training `run` stopped where its loss turned NaN or Inf (`diverged`)."""
        line = diverged.line()
        print(f"{run}: {line}; this run is judged FAIL")
        self.rows.append(
            dict(
                key=f"diverged:{run}",
                figure=f"{run}: training",
                documented="a finite loss",
                reproduced=line,
                tolerance="-",
                source="-",
                result="FAIL",
            )
        )
        self.results.setdefault("diverged", {})[run] = dict(step=diverged.step, loss=float(diverged.loss))

    def not_run(self, key: str, reason: str) -> None:
        """Says why the run could not judge the documented figure `key` (its settings leave it out)."""
        documented(self.article, key)  # a typo must not excuse a figure
        self.not_run_reasons[key] = reason

    def record(self, key: str, value: Any) -> None:
        """Keeps a result that has no documented figure (new experiments, timings)."""
        self.results[key] = value

    def plot(self, figure, name: str) -> Path:
        path = save_figure(figure, self.run_dir / name)
        self.plots.append(name)
        return path

    def export(self, model, path: str | os.PathLike, what: str, **options) -> Path:
        """Exports `model` as a SavedModel (`tf_lstm.export_saved_model`), says so, and records where."""
        from tf_lstm.export import export_saved_model

        with faults.writing(path):
            exported = export_saved_model(model, path, **options)
        print(f"exported {what} to {exported}")
        self.record("export_dir", portable(exported))
        return exported

    def _never_judged(self) -> list[str]:
        judged = {row["key"] for row in self.rows}
        return [
            key
            for key, figure in DOCUMENTED.get(self.article, {}).items()
            if figure.kind != "info" and key not in judged and key not in self.not_run_reasons
        ]

    @property
    def judged(self) -> int:
        return sum(row["result"] in ("PASS", "FAIL") for row in self.rows)

    @property
    def passed(self) -> bool:
        return self.judged > 0 and not self._never_judged() and all(row["result"] != "FAIL" for row in self.rows)

    @property
    def status(self) -> str:
        """PASS, FAIL, or NO VERDICT (nothing was judged: not a pass)."""
        if self.judged == 0 and not self._never_judged():
            return "NO VERDICT"
        return "PASS" if self.passed else "FAIL"

    def _all_rows(self) -> list[dict[str, Any]]:
        rows = list(self.rows)
        for key in self._never_judged():
            figure = documented(self.article, key)
            rows.append(
                dict(
                    key=key,
                    figure=figure.label,
                    documented=figure.documented,
                    reproduced="never judged",
                    tolerance=figure.describe_tolerance(),
                    source=figure.source,
                    result="FAIL",
                )
            )
        for key, reason in self.not_run_reasons.items():
            figure = documented(self.article, key)
            rows.append(
                dict(
                    key=key,
                    figure=figure.label,
                    documented=figure.documented,
                    reproduced=f"not run ({reason})",
                    tolerance=figure.describe_tolerance(),
                    source=figure.source,
                    result="-",
                )
            )
        return rows

    def table(self) -> str:
        header = ["figure", "documented", "reproduced", "tolerance", "result"]
        lines = [
            [r["figure"], _format(r["documented"]), _format(r["reproduced"]), r["tolerance"], r["result"]]
            for r in self._all_rows()
        ]
        widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]
        fmt = " | ".join(f"{{:<{w}}}" for w in widths)
        out = [fmt.format(*header), "-+-".join("-" * w for w in widths)]
        out += [fmt.format(*line) for line in lines]
        return "\n".join(out)

    def header(self) -> str:
        changes = self.protocol_changes
        if not changes:
            return f"== {self.article}: documented vs reproduced (the article's protocol) =="
        changed = ", ".join(f"{name}={run} (article: {article})" for name, (run, article) in changes.items())
        return f"== {self.article}: documented vs reproduced; PROTOCOL CHANGED: {changed} =="

    def finish(self) -> int:
        """Prints the table, writes report.json, returns the exit status."""
        rows = self._all_rows()
        print("\n" + self.header())
        print(self.table())
        never = self._never_judged()
        detail = (
            f"{sum(r['result'] == 'PASS' for r in rows)}/{sum(r['result'] != '-' for r in rows)} judged figures pass"
        )
        if never:
            detail += f"; never judged: {', '.join(never)}"
        if self.status == "NO VERDICT":
            detail = "no figure was judged, so this run cannot pass"
        if self.differences:
            print("Where this run differs from the article:")
            for difference in self.differences:
                print(f"  - {describe_difference(difference)}")
        print(f"{self.article}: {self.status} ({detail}); report in {self.run_dir}")
        if self.log.enabled:
            self.log.hparams({**(self.config or {}), **{name: run for name, (run, _) in self.protocol.items()}})
            self.log.pictures(self.run_dir, self.plots)
            self.log.close()
            self.results["tensorboard"] = portable(self.log.directory, self.run_dir)
        payload = dict(
            article=self.article,
            status=self.status,
            passed=self.passed,
            config=self.config,
            protocol={name: dict(run=run, article=article) for name, (run, article) in self.protocol.items()},
            protocol_changes=sorted(self.protocol_changes),
            differences=self.differences,
            figures=rows,
            results=self.results,
            plots=self.plots,
            environment=environment(),
        )
        write_atomically(self.run_dir / "report.json", json.dumps(_jsonable(payload), indent=2) + "\n")
        return EXIT_PASS if self.passed else EXIT_FAIL
