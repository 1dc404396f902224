"""inside.html in a real browser (Debian's chromium through Playwright) and in Python.

The page's numbers are checked against `tf_lstm.trace` (within the bound the
page states) and its selection and matching against the NumPy rules of
tests/inside_rules.py; the mouse brushes and clicks as a reader would; planted
mistakes in the page's script must be caught by the same checks.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import tf_lstm
from tests import inside_rules
from tests.test_inspect import inspect
from tests.test_model_kinds import BATCH, KINDS, build
from tf_lstm.inside import InsidePageError, inside_page, read_inside_page

WORDS = ["", "[UNK]", "good", "bad", "not", "movie", "the", "plot", "great", "awful", "was", "very", "and", "a"]
T_TEXT = 12
F64 = np.finfo(np.float64).eps


def held_within_bound(held_values: np.ndarray, traced: np.ndarray, spec: dict) -> float:
    """The largest gap between the page's values and the trace's, after checking it against the stated bound:
    half a quantization level, plus float64's rounding of ``low + q·step`` (two operations on the magnitude)."""
    magnitude = max(abs(spec["min"]), abs(spec["max"]), 1e-30)
    bound = spec["bound"] + 4 * F64 * magnitude
    gap = float(np.max(np.abs(held_values - traced)))
    assert gap <= bound, f"largest gap {gap:.3g} exceeds the stated bound {bound:.3g}"
    return gap


def text_data(n: int, seed: int):
    """Reviews of 4..12 words, right-padded with 0, every third with a gap (0) at step 2; the label says whether
    "good" appears without "not" before it."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, T_TEXT), "int32")
    y = np.zeros(n, "int32")
    for k in range(n):
        length = rng.integers(4, T_TEXT + 1)
        x[k, :length] = rng.integers(2, len(WORDS), size=length)
        if k % 3 == 0:
            x[k, 2] = 0  # a masked step inside the review: never "on", shaded, its state carried
        words = [WORDS[i] for i in x[k, :length]]
        y[k] = int("good" in words and "not" not in words[: words.index("good")])
    return x, y


@pytest.fixture(scope="module")
def text_page(tmp_path_factory):
    """A Keras LSTM text model (an Embedding with mask_zero and a vocabulary) trained here, saved, and its page
    written by ``tf-lstm inspect``; the model as inspect converts it, and the inputs."""
    folder = tmp_path_factory.mktemp("text")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((T_TEXT,), dtype="int32"),
            keras.layers.Embedding(len(WORDS), 8, mask_zero=True),
            keras.layers.LSTM(10),
            keras.layers.Dense(2),
        ]
    )
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    x, y = text_data(600, 0)
    model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    model.save(folder / "model.keras")
    x_shown, y_shown = text_data(60, 1)
    np.savez(folder / "reviews.npz", x=x_shown, y=y_shown)
    (folder / "words.txt").write_text("\n".join(word or "<pad>" for word in WORDS) + "\n")
    result = inspect(
        folder / "model.keras",
        f"--inputs={folder / 'reviews.npz'}",
        f"--vocabulary={folder / 'words.txt'}",
        f"--output_dir={folder / 'look'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    converted = tf_lstm.from_keras(keras.saving.load_model(folder / "model.keras"))
    return converted, x_shown, folder / "look" / "inside.html"


def open_page(chromium, path, hash_part=""):
    """The page opened from disk, with every request it makes and every console error or page error recorded."""
    page = chromium.new_page(viewport={"width": 1300, "height": 900})
    page.requests, page.errors = [], []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(path.as_uri() + hash_part)
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    return page


@pytest.fixture(scope="module")
def text_browser(chromium, text_page):
    model, x, path = text_page
    page = open_page(chromium, path)
    yield page
    page.close()


def test_the_page_opens_from_disk_makes_no_request_and_logs_no_error(text_browser, text_page, tmp_path):
    page = text_browser
    assert page.requests == [text_page[2].as_uri()]
    assert page.errors == []
    assert "Content-Security-Policy" in text_page[2].read_text()[:1000]  # no request can leave, by the page's rule
    assert page.title().startswith("Inside")
    page.screenshot(path=tmp_path / "inside.png", full_page=True)
    assert (tmp_path / "inside.png").stat().st_size > 20_000


def test_value_equals_the_trace_within_the_stated_bound(text_browser, text_page):
    model, x, path = text_page
    traced = tf_lstm.trace(model, x)
    held = read_inside_page(path)
    rng = np.random.default_rng(3)
    lengths = held["lengths"]
    points = [(int(s), int(rng.integers(lengths[s])), int(rng.integers(10))) for s in rng.integers(len(x), size=150)]
    for state in "hcifgo":
        spec = held["tracks"][0]["spec"][state]
        shown = np.asarray(
            text_browser.evaluate(
                "([state, points]) => points.map(([s, t, u]) => window.tfLstmInside.value(state, s, t, u))",
                [state, points],
            )
        )
        expected = np.asarray([float(traced[state][s, t, u]) for s, t, u in points])
        gap = held_within_bound(shown, expected, spec)
        print(f"{state}: largest gap {gap:.3g} against the stated bound {spec['bound']:.3g}")
    # Past a sequence's end (padding, not stored) the page holds nothing.
    short = int(np.argmin(lengths))
    assert text_browser.evaluate(f"window.tfLstmInside.value('h', {short}, {T_TEXT - 1}, 0)") is None
    assert lengths.count(T_TEXT) < len(lengths)  # some sequences are padded: the rule above was exercised


def _compare_rules(page, held, cases) -> list[str]:
    """Where the page's selectUnits/findMatches differ from the NumPy rules, over `cases`."""
    differences = []
    track = held["tracks"][0]
    for state, sequence, start, end, threshold, min_length in cases:
        values = track["states"][state]
        units = page.evaluate(f"window.tfLstmInside.selectUnits('{state}', {sequence}, {start}, {end}, {threshold})")
        expected = inside_rules.select_units(values, track["mask"], held["lengths"], sequence, start, end, threshold)
        if units != expected:
            differences.append(f"selectUnits {state} {sequence} {start}-{end} > {threshold}: {units} != {expected}")
        chosen = expected or [0, 1]
        found = page.evaluate(f"window.tfLstmInside.findMatches('{state}', {chosen}, {threshold}, {min_length})")
        want = inside_rules.find_matches(values, track["mask"], held["lengths"], chosen, threshold, min_length)
        if found != want:
            differences.append(f"findMatches {state} {chosen} > {threshold} ≥{min_length}: {len(found)} vs {len(want)}")
    return differences


def rule_cases(held, count=40, seed=5):
    """Ranges of 1 to 4 steps in random sequences, each with the threshold at the median of its last step's values
    (so that every step of the range, the last included, decides some units), on every state in turn."""
    rng = np.random.default_rng(seed)
    lengths = held["lengths"]
    cases = []
    for k in range(count):
        state = "hcifgo"[k % 6]
        sequence = int(rng.choice([s for s in range(len(lengths)) if lengths[s] >= 4]))
        start = int(rng.integers(lengths[sequence] - 3))
        end = start + int(rng.integers(4))
        row = inside_rules.rows_of(lengths, sequence).start + end
        threshold = round(float(np.median(held["tracks"][0]["states"][state][row])), 4)
        cases.append((state, sequence, start, end, threshold, int(rng.integers(1, 3))))
    return cases


def test_select_units_and_find_matches_equal_the_numpy_rules(text_browser, text_page):
    held = read_inside_page(text_page[2])
    assert _compare_rules(text_browser, held, rule_cases(held)) == []
    found = text_browser.evaluate("window.tfLstmInside.findMatches('h', [0, 1], -0.3, 1)")
    assert len(found) > 0  # the cases above match something: the comparison compared lists, not two empties
    assert all(0 < m["score"] <= 1 for m in found)


@pytest.mark.parametrize(
    "mistake, planted",
    [
        (
            "an off-by-one in the range",
            ("for (let t = start; t <= end && all; t++)", "for (let t = start; t < end && all; t++)"),
        ),
        ("a flipped threshold", ("s.low + q * s.step > threshold ? 1 : 0", "s.low + q * s.step < threshold ? 1 : 0")),
        ("masked steps counted as on", ("if (mask && mask[row] === 0) return false;", "")),
        (
            "ranked by length before score",
            (
                "b.score - a.score || (b.end - b.start) - (a.end - a.start)",
                "(b.end - b.start) - (a.end - a.start) || b.score - a.score",
            ),
        ),
    ],
)
def test_a_planted_mistake_in_the_page_is_caught(chromium, text_page, tmp_path, mistake, planted):
    text = text_page[2].read_text()
    assert planted[0] in text, mistake
    broken = tmp_path / "inside.html"
    broken.write_text(text.replace(planted[0], planted[1]))
    page = open_page(chromium, broken)
    try:
        held = read_inside_page(text_page[2])
        assert _compare_rules(page, held, rule_cases(held)) != [], mistake
    finally:
        page.close()


def _step_x(geometry, step):
    return geometry["left"] + (step + 0.5) * geometry["cellWidth"]


def _row(geometry, kind, state=None):
    return next(r for r in geometry["rows"] if r["kind"] == kind and (state is None or r.get("state") == state))


def _show_row(page, kind, state=None):
    """Scrolls the tracks' row of `kind` (and `state`) to the middle of the window; the geometry after it."""
    geometry = page.evaluate("window.tfLstmInside.geometry()")
    row = _row(geometry, kind, state)
    page.evaluate(f"window.scrollBy(0, {geometry['top'] + row['y'] - 450})")
    return page.evaluate("window.tfLstmInside.geometry()")


def test_brushing_with_the_mouse_selects_units_and_lists_matches(text_browser, text_page):
    page = text_browser
    held = read_inside_page(text_page[2])
    page.evaluate(
        "window.tfLstmInside.setView({sequence: 4, state: 'h', threshold: 0.05, units: [], start: null,"
        " end: null, minLength: 1})"
    )
    assert page.inner_text("#brush-info").startswith("No range brushed")
    geometry = _show_row(page, "lines")
    lines = _row(geometry, "lines")
    y = geometry["top"] + lines["y"] + lines["h"] / 2
    page.mouse.move(_step_x(geometry, 1), y)
    page.mouse.down()
    page.mouse.move(_step_x(geometry, 2), y, steps=3)
    page.mouse.move(_step_x(geometry, 3), y, steps=3)
    page.mouse.up()
    view = page.evaluate("window.tfLstmInside.view()")
    assert (view["sequence"], view["start"], view["end"]) == (4, 1, 3)
    track = held["tracks"][0]
    expected = inside_rules.select_units(track["states"]["h"], track["mask"], held["lengths"], 4, 1, 3, 0.05)
    assert view["units"] == expected and expected, "the brushed range selects the units on across it"
    assert page.inner_text("#brush-info") == "Brushed: sequence 4, steps 1–3, h > 0.05"
    rows = page.locator("#matches tbody tr")
    want = inside_rules.find_matches(track["states"]["h"], track["mask"], held["lengths"], expected, 0.05, 1)
    assert view["matches"] == len(want) > 0
    assert rows.count() == min(len(want), 100)
    # The brushed stretch itself is among the matches, ranked as the rule ranks it.
    first = rows.nth(0).locator("td").all_inner_texts()
    assert first[1:3] == [str(want[0]["sequence"]), f"{want[0]['start']}–{want[0]['end']}"]
    # One click on a match shows it.
    rows.nth(0).click()
    view = page.evaluate("window.tfLstmInside.view()")
    assert (view["sequence"], view["start"], view["end"]) == (want[0]["sequence"], want[0]["start"], want[0]["end"])
    # A chip removes its unit, and the matches follow.
    removed = expected[0]
    page.locator(f"#units .chip[data-unit='{removed}']").click()
    assert removed not in page.evaluate("window.tfLstmInside.view()")["units"]


def test_clicking_a_heatmap_row_or_a_saturation_point_picks_the_unit_everywhere(text_browser):
    page = text_browser
    page.evaluate("window.tfLstmInside.setView({sequence: 0, unit: 0, start: null, end: null})")
    geometry = _show_row(page, "state", "c")
    heat = _row(geometry, "state", "c")
    unit = 7
    page.mouse.click(_step_x(geometry, 2), geometry["top"] + heat["y"] + (unit + 0.5) * geometry["unitHeight"])
    assert page.evaluate("window.tfLstmInside.view()")["unit"] == unit
    assert f"of unit {unit}" in page.inner_text("#reading-info")
    assert page.input_value("#unit") == str(unit)
    # The reading colours each token by the chosen unit's c: the first token's title gives that value.
    title = page.locator("#reading-text span").nth(0).get_attribute("title")
    value = page.evaluate(f"window.tfLstmInside.value('c', 0, 0, {unit})")
    assert title.startswith(f"step 0: c[{unit}] = ") and abs(float(title.split("= ")[1].split(";")[0]) - value) < 1e-3
    # The saturation scatter: click the point of a unit no other unit shares, on the forget gate's panel.
    shares = page.evaluate("window.tfLstmInside.meta.tracks[0].saturation.f")
    points = list(zip(shares["low"], shares["high"]))
    alone = [u for u, point in enumerate(points) if points.count(point) == 1 and u != unit]
    assert alone, f"every unit's point is shared with another: {points}"
    canvas = page.locator("#saturation canvas[data-gate=f]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    low, high = points[alone[0]]
    page.mouse.click(box["x"] + 24 + low * 172, box["y"] + 220 - 24 - high * 172)
    assert page.evaluate("window.tfLstmInside.view()")["unit"] == alone[0]
    assert page.input_value("#unit") == str(alone[0])


def test_the_view_is_kept_in_the_url_hash_and_restored(chromium, text_browser, text_page):
    text_browser.evaluate(
        "window.tfLstmInside.setView({sequence: 6, state: 'c', unit: 4, threshold: 0.2, start: 1,"
        " end: 2, units: [1, 4], minLength: 1})"
    )
    hash_part = text_browser.evaluate("location.hash")
    assert "s=6" in hash_part and "us=1.4" in hash_part
    page = open_page(chromium, text_page[2], hash_part)
    try:
        view = page.evaluate("window.tfLstmInside.view()")
        assert (view["sequence"], view["state"], view["unit"], view["threshold"]) == (6, "c", 4, 0.2)
        assert (view["start"], view["end"], view["units"]) == (1, 2, [1, 4])
    finally:
        page.close()


def test_the_selection_and_matches_download_as_json_and_csv(text_browser, tmp_path):
    page = text_browser
    page.evaluate(
        "window.tfLstmInside.setView({sequence: 2, state: 'h', threshold: -0.2, start: 0, end: 1,"
        " units: [0, 2], minLength: 1})"
    )
    matches = page.evaluate("window.tfLstmInside.matches()")
    with page.expect_download() as got:
        page.click("#download-json")
    saved = json.loads(got.value.path().read_text())
    assert saved["units"] == [0, 2] and saved["matches"] == matches and saved["threshold"] == -0.2
    with page.expect_download() as got:
        page.click("#download-csv")
    lines = got.value.path().read_text().splitlines()
    assert lines[0] == "rank,sequence,start,end,length,score" and len(lines) == len(matches) + 1
    assert page.requests[1:] == [] or all(url.startswith("blob:") for url in page.requests[1:])


# ---- Python: every model kind, bad input -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "keras_file"])
def test_every_model_kind_writes_a_page_holding_its_trace(kind, tmp_path):
    model, x = build(kind)
    path = inside_page(model, x, tmp_path / "inside.html", labels=np.zeros(BATCH, "int32"))
    held = read_inside_page(path)
    expected_tracks = {"bidirectional": 2, "multilayer": 2, "stacked": 2, "nested_sequential": 2}.get(kind, 1)
    assert len(held["tracks"]) == expected_tracks
    for (_layer, traced), track in zip(tf_lstm.tracing.trace_layers(model, x), held["tracks"]):
        one = traced if "h" in traced else traced.get("forward") or traced["layer_0"]["forward"]
        lengths = np.asarray(held["lengths"])
        keep = np.arange(x.shape[1])[None, :] < lengths[:, None]
        for state in "hcifgo":
            held_within_bound(track["states"][state], np.asarray(one[state], np.float64)[keep], track["spec"][state])
    if kind in ("embedding_mask_zero", "masking"):  # the padding after the end is not held; the mask is
        assert held["lengths"][0 if kind == "embedding_mask_zero" else 1] == 4
    if kind == "bidirectional":
        assert [t["direction"] for t in held["tracks"]] == ["forward", "backward"]
        traced = tf_lstm.trace(model, x)
        # The backward direction is held in the order of the input: step t is what it had after reading x_t.
        backward = np.asarray(traced["backward"]["h"], np.float64)[:, ::-1].reshape(-1, 5)
        held_within_bound(held["tracks"][1]["states"]["h"], backward, held["tracks"][1]["spec"]["h"])
    assert held["answers"]["kind"] == "class" and np.shape(held["answers"]["classes"]) == (BATCH, x.shape[1])
    # The answer after the last step is the model's answer.
    final = np.argmax(np.asarray(model(x)), axis=-1)
    assert [row[length - 1] for row, length in zip(held["answers"]["classes"], held["lengths"])] == final.tolist()
    assert len(held["gradients"]["h"]) == sum(held["lengths"])


def test_bad_input_is_refused_by_name_before_anything_is_written(tmp_path):
    model, x = build("functional")
    target = tmp_path / "inside.html"
    with pytest.raises(InsidePageError, match=r"inputs: empty"):
        inside_page(model, x[:0], target)
    with pytest.raises(InsidePageError, match=r"inputs: hold NaN"):
        inside_page(model, np.where(x == x[0, 0, 0], np.nan, x), target)
    with pytest.raises(InsidePageError, match=r"labels: 3 labels for 4 inputs"):
        inside_page(model, x, target, labels=[0, 1, 0])
    with pytest.raises(InsidePageError, match=r"input_kind='pictures'"):
        inside_page(model, x, target, input_kind="pictures")
    with pytest.raises(InsidePageError, match=r"is a folder"):
        inside_page(model, x, tmp_path)
    assert list(tmp_path.iterdir()) == []
    mine = tmp_path / "notes.html"
    mine.write_text("<html>my own notes</html>")
    with pytest.raises(InsidePageError, match=r"notes.html: exists and is not a page tf_lstm wrote"):
        inside_page(model, x, mine)
    assert mine.read_text() == "<html>my own notes</html>"
    # A page tf_lstm wrote is replaced whole (no partial file is left beside it).
    inside_page(model, x, target)
    inside_page(model, x[:2], target)
    assert read_inside_page(target)["sequences"] == 2 and sorted(p.name for p in tmp_path.iterdir()) == [
        "inside.html",
        "notes.html",
    ]


def _assert_page_holds_the_trace(chromium, path, model, x, points=60):
    """The page opens with no request and no error, and its value() equals the model's trace within its bound."""
    page = open_page(chromium, path)
    try:
        assert page.requests == [path.as_uri()] and page.errors == []
        held = read_inside_page(path)
        traced = tf_lstm.trace(model, x)
        rng = np.random.default_rng(0)
        chosen = [int(s) for s in rng.integers(len(x), size=points)]
        units = held["tracks"][0]["units"]
        spots = [(s, int(rng.integers(held["lengths"][s])), int(rng.integers(units))) for s in chosen]
        for state in "hc":
            shown = page.evaluate(
                "([state, spots]) => spots.map(([s, t, u]) => window.tfLstmInside.value(state, s, t, u))",
                [state, spots],
            )
            expected = [float(traced[state][s, t, u]) for s, t, u in spots]
            held_within_bound(np.asarray(shown), np.asarray(expected), held["tracks"][0]["spec"][state])
        return page, held
    except BaseException:
        page.close()
        raise


def test_inspect_writes_the_page_of_a_trained_image_model(chromium, tmp_path):
    from tf_lstm.data import load_digits

    x_train, y_train, x_test, y_test = load_digits()
    y_train, y_test = np.argmax(y_train, -1), np.argmax(y_test, -1)  # one-hot there
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8)), keras.layers.LSTM(16), keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=8, batch_size=32, verbose=0)
    model.save(tmp_path / "digits.keras")
    np.savez(tmp_path / "test.npz", x=x_test[:100].astype("float32"), y=y_test[:100])
    result = inspect(
        tmp_path / "digits.keras",
        f"--inputs={tmp_path / 'test.npz'}",
        "--input_kind=image",
        f"--output_dir={tmp_path / 'o'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'href="inside.html"' in (tmp_path / "o" / "index.html").read_text()
    converted = tf_lstm.from_keras(keras.saving.load_model(tmp_path / "digits.keras"))
    page, held = _assert_page_holds_the_trace(chromium, tmp_path / "o" / "inside.html", converted, x_test[:100])
    try:
        assert held["input"]["kind"] == "image" and held["input"]["features"] == 8
        gap = np.abs(held["input"]["values"].reshape(100, 8, 8) - x_test[:100]).max()
        assert gap <= held["input"]["bound"] * (1 + 1e-9), (gap, held["input"]["bound"])
        # The answer after the last row is the model's; with labels, the gradient of every row is there.
        assert [row[-1] for row in held["answers"]["classes"]] == np.argmax(converted(x_test[:100]), -1).tolist()
        assert len(held["gradients"]["h"]) == 800 and held["labels"][:3] == y_test[:3].tolist()
        page.screenshot(path=tmp_path / "digits.png", full_page=True)
    finally:
        page.close()


def test_inspect_reads_text_lines_through_the_models_text_vectorization(chromium, tmp_path):
    lines = ["the movie was good", "the plot was not good", "a very bad movie", "great and good", "awful"]
    vectorize = keras.layers.TextVectorization(max_tokens=30, output_sequence_length=6)
    vectorize.adapt(lines)
    model = keras.Sequential(
        [
            keras.Input((), dtype="string"),
            vectorize,
            keras.layers.Embedding(30, 4, mask_zero=True),
            keras.layers.LSTM(5),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.save(tmp_path / "text.keras")
    (tmp_path / "lines.txt").write_text("\n".join(lines) + "\n")
    result = inspect(tmp_path / "text.keras", f"--inputs={tmp_path / 'lines.txt'}", f"--output_dir={tmp_path / 'o'}")
    assert result.returncode == 0, result.stderr[-3000:]
    held = read_inside_page(tmp_path / "o" / "inside.html")
    assert held["input"]["kind"] == "tokens" and held["lengths"] == [4, 5, 4, 3, 1]
    assert held["input"]["tokens"][:9] == ["the", "movie", "was", "good", "the", "plot", "was", "not", "good"]
    assert held["answers"]["kind"] == "value" and len(held["answers"]["values"][1]) == 6


@pytest.mark.slow  # nine saved models through the whole inspection (pictures, TensorBoard, page): ~2 minutes
@pytest.mark.parametrize("kind", [k for k in KINDS if k not in ("subclassed", "keras_file")])
def test_inspect_writes_the_page_for_every_saved_model_kind(kind, tmp_path):
    """`tf-lstm inspect` on each kind of the matrix saved as .keras (a subclassed model has no saved form without
    its class: `inside_page` takes it in Python, above)."""
    from reproductions.tf_lstm_command import command

    model, x = build(kind)
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "x.npy", x)
    assert (
        command(
            [
                "inspect",
                str(tmp_path / "model.keras"),
                f"--inputs={tmp_path / 'x.npy'}",
                f"--output_dir={tmp_path / 'o'}",
            ]
        )
        == 0
    )
    held = read_inside_page(tmp_path / "o" / "inside.html")
    expected_tracks = {"bidirectional": 2, "multilayer": 2, "stacked": 2, "nested_sequential": 2}.get(kind, 1)
    assert held["sequences"] == BATCH and len(held["tracks"]) == expected_tracks
    assert held["input"]["kind"] == ("tokens" if kind == "embedding_mask_zero" else "values")
