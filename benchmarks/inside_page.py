r"""How large an ``inside.html`` is, how soon it paints and is ready in headless chromium, and how long a match takes.

    python -m benchmarks.inside_page --page=runs/imdb_sentiment/inside.html [--page_json_out=FILE]

Opens the page from disk `--openings` times in Debian's chromium (through
Playwright), each in a fresh tab, and reads the browser's own clocks: the first
contentful paint, and the page's ``tf-lstm-inside-ready`` mark (every view
drawn, the controls live). Then, in one tab, `--selections` selections as a reader
makes them: a random sequence, a range of 1 to 4 steps, the threshold at the
median of the state there, `selectUnits`, then `findMatches` over every
sequence the page holds, timed by ``performance.now()``. Medians and ranges are
reported; the machine's other load shows in the ranges.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

from absl import app, flags

from benchmarks.browser import CHROMIUM_FLAGS, chromium_executable

FLAGS = flags.FLAGS
flags.DEFINE_string("page", "runs/imdb_sentiment/inside.html", "The inside.html to measure.")
flags.DEFINE_integer("openings", 5, "Times the page is opened.", lower_bound=1)
flags.DEFINE_integer("selections", 20, "Selections matched over all sequences.", lower_bound=1)
flags.DEFINE_string("page_json_out", "", "Where to write the results as JSON (default: print only).")

MATCHES_SCRIPT = """
([count]) => {
  const api = window.tfLstmInside, meta = api.meta, states = ["h", "c", "i", "f", "g", "o"];
  let seed = 12345;
  const random = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const times = [], found = [], units = [];
  for (let k = 0; k < count; k++) {
    const state = states[k % states.length];
    let sequence = Math.floor(random() * meta.sequences);
    while (meta.lengths[sequence] < 4) sequence = (sequence + 1) % meta.sequences;
    const start = Math.floor(random() * (meta.lengths[sequence] - 3)), end = start + Math.floor(random() * 4);
    const values = [];
    for (let u = 0; u < meta.tracks[0].units; u++) values.push(api.value(state, sequence, end, u));
    values.sort((a, b) => a - b);
    const threshold = values[Math.floor(values.length / 2)];
    const chosen = api.selectUnits(state, sequence, start, end, threshold);
    const t0 = performance.now();
    const matches = api.findMatches(state, chosen.length ? chosen : [0], threshold, 1);
    times.push(performance.now() - t0);
    found.push(matches.length);
    units.push(chosen.length);
  }
  return { times, found, units };
}
"""


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def measure(page_path: Path, repeats: int, matches: int) -> dict[str, Any]:
    """The page's bytes, paint and ready times (ms) over `repeats` openings, and `matches` timed matches."""
    from playwright.sync_api import sync_playwright

    executable = chromium_executable()
    if executable is None:
        raise SystemExit("error: no chromium on this machine (apt-get install chromium)")
    paints, readies = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        for _ in range(repeats):
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            tab.goto(page_path.resolve().as_uri())
            tab.wait_for_selector("body[data-ready=true]", timeout=60_000)
            paints.append(tab.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime"))
            readies.append(tab.evaluate("performance.getEntriesByName('tf-lstm-inside-ready')[0].startTime"))
            meta = tab.evaluate(
                "({sequences: tfLstmInside.meta.sequences, steps: tfLstmInside.meta.lengths"
                ".reduce((a, b) => a + b, 0), units: tfLstmInside.meta.tracks[0].units})"
            )
            tab.close()
        tab = browser.new_page()
        tab.goto(page_path.resolve().as_uri())
        tab.wait_for_selector("body[data-ready=true]", timeout=60_000)
        timed = tab.evaluate(MATCHES_SCRIPT, [matches])
        version = browser.version
        browser.close()
    return {
        "page": f"{page_path.parent.name}/{page_path.name}",  # the run's folder, not this machine's path
        "bytes": page_path.stat().st_size,
        **meta,
        "repeats": repeats,
        "first_contentful_paint_ms": _summary(paints),
        "ready_ms": _summary(readies),
        "match_ms": _summary(timed["times"]),
        "matches": {"selections": matches, "found": _summary(timed["found"]), "units": _summary(timed["units"])},
        "browser": f"chromium {version} (headless)",
    }


def main(argv: list[str]) -> int:
    del argv
    page = Path(FLAGS.page)
    if not page.is_file():
        print(f"error: --page={page}: no such file (run a reproduction first)", file=sys.stderr)
        return 2
    from reproductions.environment import environment

    result = measure(page, FLAGS.openings, FLAGS.selections)
    result["environment"] = environment()
    print(
        f"{page}: {result['bytes']:,} bytes, {result['sequences']:,} sequences ({result['steps']:,} steps, "
        f"{result['units']} units); first paint {result['first_contentful_paint_ms']['median']:.0f} ms, "
        f"ready {result['ready_ms']['median']:.0f} ms (median of {result['repeats']}); one match over every "
        f"sequence {result['match_ms']['median']:.1f} ms (median of {FLAGS.selections}, "
        f"{result['match_ms']['min']:.1f}–{result['match_ms']['max']:.1f})"
    )
    if FLAGS.page_json_out:
        Path(FLAGS.page_json_out).write_text(json.dumps(result, indent=2) + "\n")
        print(f"written to {FLAGS.page_json_out}")
    return 0


if __name__ == "__main__":
    app.run(lambda argv: sys.exit(main(argv)))
