"""``inside.html``: one self-contained page to question what an LSTM does inside, in the manner of LSTMVis.

Strobelt et al.'s LSTMVis (IEEE VIS 2017) lets a reader brush a range of steps
on the hidden-state tracks, set a threshold, select the units that are on
across the range and find the same pattern everywhere else, ranked by
overlap; Karpathy, Johnson and Fei-Fei (2015) colour text by one unit's cell
state. `inside_page` writes both as one HTML file for any model holding a
tf_lstm layer and any inputs: the data, the script and the style are inside
the file, which opens from disk in a current browser and makes no request.

What the page holds, per sequence, for every tf_lstm layer and direction:
each state's and gate's value at every step and unit (``h``, ``c``, ``i``,
``f``, ``g``, ``o`` for an LSTM; ``s`` for the linear RNN), the input drawn
as suits it (tokens, image rows, a running count, values), the mask, the
model's answer after every step (for a model with one output per sequence),
and with labels the gradient reaching every step and the input saliency.
Values are quantized to 8 or 16 bits per state over its real range; the
page and `read_inside_page` state the bound, half a quantization step.

Its script is ``tf_lstm/page/inside.js`` (plain JavaScript, no library: the
views are a few canvases and the matching is a loop over typed arrays);
`window.tfLstmInside` is its API for scripts and tests.

>>> import keras, numpy as np, tempfile, pathlib, tf_lstm
>>> model = keras.Sequential([keras.Input((6, 3)), tf_lstm.ScanLSTM(4), keras.layers.Dense(2)])
>>> x = np.random.default_rng(0).normal(size=(5, 6, 3)).astype("float32")
>>> path = tf_lstm.inside_page(model, x, pathlib.Path(tempfile.mkdtemp()) / "inside.html")
>>> held = tf_lstm.read_inside_page(path)
>>> held["tracks"][0]["states"]["c"].shape, held["sequences"]
((30, 4), 5)
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import os
import warnings
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tf_lstm.layers import Recurrent
from tf_lstm.tracing import gradients_through_time, saturation, trace_layers

GENERATOR = "tf_lstm inside"
STATE_ORDER = ("h", "c", "i", "f", "g", "o", "s")
INPUT_KINDS = ("auto", "tokens", "image", "count", "values")
# Above this many state values, 16 bits would make a page too slow to open: 8 bits then.
SIXTEEN_BIT_LIMIT = 4_000_000


class InsidePageError(ValueError):
    """Inputs or a path the page cannot be written from; the message names the argument and its value."""


def inside_page(
    model,
    inputs,
    path: str | os.PathLike,
    *,
    labels=None,
    loss=None,
    vocabulary: Sequence[str] | None = None,
    input_kind: str = "auto",
    title: str | None = None,
    bits: int | None = None,
) -> Path:
    """Writes ``inside.html`` for `model` on `inputs` into `path`; returns the path.

    Args:
        model: a Keras model holding tf_lstm layers (`tf_lstm.from_keras`
            converts Keras LSTMs), or such a layer.
        inputs: what the model reads: ``[sequences, steps, features]``
            floats, ``[sequences, steps]`` token ids, or strings for a model
            that starts with ``TextVectorization``.
        labels: one target per sequence; with them the page draws the
            gradient reaching each step and the input saliency.
        loss: the loss for those gradients (default: sparse categorical
            cross-entropy for several outputs, from logits unless the
            outputs are probabilities; the mean squared error for one).
        vocabulary: the words of the token ids (default: the model's
            ``TextVectorization`` vocabulary; without either, ids are shown).
        input_kind: how the input is drawn under the steps: ``"tokens"``,
            ``"image"`` (each step a row of pixels), ``"count"`` (each
            step's input and their running sum), ``"values"``; ``"auto"``
            picks tokens for ids and strings, values for at most 4
            features, image rows otherwise.
        title: the page's title (default: the model's name).
        bits: 8 or 16 bits per value (default: 16 while the page holds at
            most 4 million state values, else 8).

    Raises:
        InsidePageError: empty, NaN or mismatched inputs or labels, an
            unknown `input_kind`, or a `path` that exists and is not a page
            this function wrote (it is never overwritten).
    """
    path = Path(path)
    _check_path(path)
    if input_kind not in INPUT_KINDS:
        raise InsidePageError(f"input_kind={input_kind!r}: must be one of {', '.join(INPUT_KINDS)}")
    if bits not in (None, 8, 16):
        raise InsidePageError(f"bits={bits!r}: must be 8 or 16")
    x = _checked_inputs(inputs)
    y = None if labels is None else np.asarray(labels)
    if y is not None and len(y) != len(x):
        raise InsidePageError(f"labels: {len(y)} labels for {len(x)} inputs")
    page = page_data(model, x, labels=y, loss=loss, vocabulary=vocabulary, input_kind=input_kind, bits=bits)
    page["meta"]["title"] = title or f"Inside {getattr(model, 'name', 'the model')}"
    _write_atomically(path, render(page))
    return path


def page_data(model, x, *, labels=None, loss=None, vocabulary=None, input_kind="auto", bits=None) -> dict[str, Any]:
    """The page's metadata and its arrays (before encoding): what `inside_page` embeds."""
    traced = trace_layers(model, x)
    tracks = [track for layer, traced_layer in traced for track in _tracks(layer, traced_layer)]
    steps = tracks[0]["states"][next(iter(tracks[0]["states"]))].shape[1]
    mask = tracks[0]["mask"]
    lengths = np.full(len(x), steps) if mask is None else _lengths(mask)
    rows = int(lengths.sum())
    values = sum(t["states"][s].shape[-1] for t in tracks for s in t["states"]) * rows
    bits = bits or (16 if values <= SIXTEEN_BIT_LIMIT else 8)
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {
        "generator": GENERATOR,
        "sequences": len(x),
        "steps": int(steps),
        "lengths": lengths.tolist(),
        "bits": bits,
        "tracks": [],
    }
    for k, track in enumerate(tracks):
        meta["tracks"].append(_encode_track(k, track, lengths, bits, arrays))
    meta["input"] = _input_view(model, x, lengths, input_kind, vocabulary, arrays)
    meta["answers"] = _answers(model, x, meta["input"])
    if labels is not None:
        meta["labels"] = [_shown_label(label) for label in labels]
        meta["gradients"] = _gradients(model, x, labels, loss, lengths)
    return {"meta": meta, "arrays": arrays}


def _checked_inputs(inputs) -> np.ndarray:
    x = np.asarray(inputs)
    if x.ndim == 0 or len(x) == 0:
        raise InsidePageError(f"inputs: empty (shape {x.shape}); give at least one sequence")
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        raise InsidePageError("inputs: hold NaN or infinite values")
    if x.dtype.kind in "fiu" and x.ndim < 2:
        raise InsidePageError(f"inputs: shape {x.shape}; expected [sequences, steps(, features)]")
    return x


def _check_path(path: Path) -> None:
    if path.is_dir():
        raise InsidePageError(f"path={path}: is a folder; give the file to write (…/inside.html)")
    if path.exists() and GENERATOR not in path.read_text(errors="replace")[:2000]:
        raise InsidePageError(f"path={path}: exists and is not a page tf_lstm wrote; it is left as it is")
    if not path.parent.is_dir():
        raise InsidePageError(f"path={path}: its folder {path.parent} does not exist")


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def _lengths(mask: np.ndarray) -> np.ndarray:
    """Each sequence's stored steps: up to its last unmasked one (the padding after it is drawn, not stored)."""
    mask = np.asarray(mask, bool)
    last = mask.shape[1] - np.argmax(mask[:, ::-1], axis=1)
    return np.where(mask.any(axis=1), last, 0)


def _tracks(layer, traced) -> list[dict[str, Any]]:
    """One track per direction (and per layer of a MultiLayerLSTM), every array in the order of the input."""
    if "h" not in traced and "s" not in traced:  # trace's nesting keeps the order: layer_0, layer_1, ...; forward first
        nested = []
        for key, inner in traced.items():
            if key in ("forward", "backward"):
                nested.append(_one_track(f"{layer.name} ({key})", inner, key == "backward", layer.name, key))
                continue
            for direction, one in inner.items():
                if one is not None:
                    name = f"{layer.name} {key.replace('_', ' ')} ({direction})"
                    nested.append(_one_track(name, one, direction == "backward", layer.name, direction))
        return nested
    backward = bool(getattr(layer, "go_backwards", False))
    return [_one_track(layer.name, traced, backward, layer.name, "backward" if backward else "forward")]


def _one_track(name: str, traced, backward: bool, layer: str, direction: str) -> dict[str, Any]:
    units = int(traced["h" if "h" in traced else "s"].shape[-1])
    states = {}
    for key in sorted(traced, key=lambda k: (STATE_ORDER.index(k) if k in STATE_ORDER else 99, k)):
        value = traced[key]
        if key in ("mask", "z") or value is None or len(value.shape) != 3 or value.shape[-1] != units:
            continue
        array = np.asarray(value, np.float64)
        states[key] = array[:, ::-1] if backward else array
    mask = traced.get("mask")
    if mask is not None:
        mask = np.asarray(mask, bool)
        mask = mask[:, ::-1] if backward else mask
    saturated = {}
    if all(gate in traced for gate in "ifo"):
        shares = saturation(traced)
        saturated = {gate: {k: v.round(6).tolist() for k, v in s.items()} for gate, s in shares.items()}
    return dict(
        name=name, layer=layer, direction=direction, units=units, states=states, mask=mask, saturation=saturated
    )


def quantize(values: np.ndarray, bits: int) -> tuple[np.ndarray, float, float]:
    """`values` as integers of `bits` over their range: ``(q, low, step)``, each value ``low + q·step``
    within ``step / 2`` (and float64's rounding) of the original."""
    low, high = float(values.min()), float(values.max())
    levels = (1 << bits) - 1
    step = (high - low) / levels if high > low else 1.0
    q = np.rint((values - low) / step).astype(np.uint8 if bits == 8 else np.uint16)
    return q, low, step


def dequantize(q: np.ndarray, low: float, step: float) -> np.ndarray:
    """What the page computes for each held value (``low + q·step`` in float64), as the page does."""
    return low + q.astype(np.float64) * step


def _ragged(array: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``[sequences, steps, ...]`` as ``[stored rows, ...]``: each sequence's first `lengths` steps, in order."""
    keep = np.arange(array.shape[1])[None, :] < lengths[:, None]
    return array[keep]


def _encode_track(k: int, track, lengths, bits: int, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    meta = {key: track[key] for key in ("name", "layer", "direction", "units", "saturation")}
    meta["states"] = {}
    for state, values in track["states"].items():
        rows = _ragged(values, lengths)
        q, low, step = quantize(rows, bits)
        key = f"t{k}_{state}"
        arrays[key] = q
        meta["states"][state] = {
            "data": key,
            "low": low,
            "step": step,
            "min": float(rows.min()),
            "max": float(rows.max()),
            "bound": step / 2,
        }
    if track["mask"] is not None:
        key = f"t{k}_mask"
        arrays[key] = _ragged(track["mask"], lengths).astype(np.uint8)
        meta["mask"] = key
    return meta


def _text_layer(model):
    layers = [model] if not isinstance(model, keras.Model) else model._flatten_layers(include_self=False)
    return next((layer for layer in layers if isinstance(layer, keras.layers.TextVectorization)), None)


def _input_view(model, x, lengths, kind, vocabulary, arrays) -> dict[str, Any]:
    """What the page draws under the steps."""
    if kind == "auto":
        if x.dtype.kind in "iuUSO":
            kind = "tokens"
        else:
            kind = "values" if x.ndim == 2 or x.shape[-1] <= 4 else "image"
    if kind == "tokens":
        ids, words = _token_ids(model, x, vocabulary)
        rows = _ragged(ids, lengths)
        used, index = np.unique(rows, return_inverse=True)
        arrays["input_tokens"] = index.astype(np.uint32)
        names = [words[i] if words is not None and 0 <= i < len(words) else f"#{i}" for i in used]
        return {"kind": "tokens", "words": names, "data": "input_tokens"}
    values = np.asarray(x, np.float64)
    if values.ndim == 2:
        values = values[..., None]
    rows = _ragged(values, lengths)
    q, low, step = quantize(rows, 16)
    arrays["input_values"] = q
    view: dict[str, Any] = {"kind": kind, "features": int(values.shape[-1]), "data": "input_values"}
    view.update(low=low, step=step, min=float(rows.min()), max=float(rows.max()), bound=step / 2)
    return view


def _token_ids(model, x, vocabulary):
    text = _text_layer(model)
    words = list(vocabulary) if vocabulary is not None else None
    if text is not None:
        words = words or [str(w) for w in text.get_vocabulary()]
        if x.dtype.kind in "USO":
            return np.asarray(text(tf.constant(x.astype(str)))), words
    if x.dtype.kind in "USO":
        raise InsidePageError("inputs: strings, but the model has no TextVectorization layer to read them")
    return np.asarray(x, np.int64), words


def _shown_label(value):
    """A label as the page shows it: a number, or the class of a one-hot vector."""
    array = np.asarray(value)
    if array.ndim == 1 and np.isin(array, (0, 1)).all() and array.sum() == 1:
        return int(np.argmax(array))
    return array.item() if array.size == 1 else array.tolist()


def _outputs(model, x) -> np.ndarray:
    outputs = model(x) if isinstance(model, tf.types.experimental.GenericFunction) else model(x, training=False)
    if isinstance(outputs, (list, tuple)):
        outputs = outputs[0]
    return np.asarray(outputs, np.float64)


def _answers(model, x, view) -> dict[str, Any] | None:
    """The model's answer after every step, for a model with one output per sequence or one per step (else None).

    A model with an output at every step answers there. Otherwise step t's
    answer is the model's output on the sequence cut after step t: for token
    ids read through a masking Embedding the later tokens become padding (one
    shape, one graph), text is cut after its t-th token, and otherwise the
    model runs on the prefix.
    """
    if not isinstance(model, keras.Model):
        return None
    whole = _outputs(model, x)
    if whole.ndim == 3 and whole.shape[1] == x.shape[1]:  # an output at every step: that step's answer
        return _summarized(whole, whole[:, -1])
    if whole.ndim != 2:
        return None
    if x.dtype.kind in "USO":  # text: step t's input is the text of its first t tokens
        ids, words = _token_ids(model, x, None)
        x = np.asarray(
            [[" ".join(words[i] for i in row[:t] if i != 0) for t in range(1, ids.shape[1] + 1)] for row in ids]
        )
        per_text = [_outputs(model, x[:, t]) for t in range(x.shape[1])]
        return _summarized(np.stack(per_text, axis=1), whole)
    steps = x.shape[1]
    padded = view["kind"] == "tokens" and x.dtype.kind in "iu" and _masks_zeros(model)
    per_step = []
    # One graph for the padded cuts (one shape), one per prefix length otherwise: eager calls cost ~10× more.
    call = tf.function(lambda inputs: model(inputs, training=False), reduce_retracing=True)
    with warnings.catch_warnings(), _any_length(model):
        # A model built for `steps` steps warns when it is called on a prefix; the prefix is meant.
        warnings.simplefilter("ignore")
        for t in range(1, steps + 1):
            if padded:
                cut = np.where(np.arange(steps)[None, :] < t, x, 0)
                per_step.append(_outputs(call, cut))
            else:
                per_step.append(_outputs(call, x[:, :t]))
    return _summarized(np.stack(per_step, axis=1), whole)


def _summarized(answers: np.ndarray, whole: np.ndarray) -> dict[str, Any]:
    """``[sequences, steps, outputs]`` answers as the page shows them: a value, or a class and its probability."""
    if whole.shape[-1] == 1:
        return {"kind": "value", "values": np.round(answers[..., 0], 5).tolist()}
    probabilities = answers
    if not (np.all(answers >= 0) and np.allclose(answers.sum(-1), 1.0, atol=1e-3)):
        probabilities = np.asarray(tf.nn.softmax(answers, axis=-1))
    return {
        "kind": "class",
        "classes": np.argmax(probabilities, axis=-1).tolist(),
        "probabilities": np.round(np.max(probabilities, axis=-1), 4).tolist(),
    }


@contextlib.contextmanager
def _any_length(model):
    """Meanwhile the model and the models it nests take sequences of any length (their input specs fix it)."""
    models = [m for m in [model, *model._flatten_layers(include_self=False)] if isinstance(m, keras.Model)]
    saved = [m.input_spec for m in models]
    try:
        for m in models:
            m.input_spec = None
        yield
    finally:
        for m, spec in zip(models, saved):
            m.input_spec = spec


def _masks_zeros(model) -> bool:
    return any(isinstance(layer, keras.layers.Embedding) and layer.mask_zero for layer in model._flatten_layers())


def default_loss(model, x):
    """Sparse categorical cross-entropy for several outputs (from logits unless they are probabilities), else MSE."""
    outputs = _outputs(model, x[:2])
    if outputs.ndim < 2 or outputs.shape[-1] == 1:
        return "mse"
    probabilities = bool(np.all(outputs >= 0) and np.allclose(outputs.sum(-1), 1.0, atol=1e-3))
    return keras.losses.SparseCategoricalCrossentropy(from_logits=not probabilities, reduction=None)


def _gradients(model, x, labels, loss, lengths) -> dict[str, Any]:
    if not isinstance(model, keras.Model):
        raise InsidePageError("labels: gradients need a model with an output, not a lone layer")
    gradients = gradients_through_time(model, x, labels, loss or default_loss(model, x))
    probed = next(sub for sub in model._flatten_layers() if isinstance(sub, Recurrent))  # as gradients_through_time
    stored = {key: _ragged(np.asarray(gradients[key], np.float64), lengths) for key in ("h", "x")}
    return {
        "h": np.float32(stored["h"]).tolist(),
        "x": np.float32(stored["x"]).tolist(),
        "loss": float(gradients["loss"]),
        "saliency_at": gradients["saliency_at"],
        "layer": probed.name,
    }


def _encode(array: np.ndarray) -> str:
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return base64.b64encode(np.ascontiguousarray(little).tobytes()).decode("ascii")


def render(page: dict[str, Any]) -> str:
    """The HTML text of a page: the script, style, metadata and every array inside."""
    meta = dict(page["meta"])
    meta["arrays"] = {key: {"dtype": str(a.dtype), "shape": list(a.shape)} for key, a in page["arrays"].items()}
    blocks = "".join(
        f'<script type="application/octet-stream" id="data-{key}">{_encode(array)}</script>\n'
        for key, array in page["arrays"].items()
    )
    source = resources.files("tf_lstm") / "page"
    script = (source / "inside.js").read_text(encoding="utf-8")
    style = (source / "inside.css").read_text(encoding="utf-8")
    body = (source / "inside.html").read_text(encoding="utf-8")
    metadata = json.dumps(meta, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="generator" content="{GENERATOR}">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; "
        "style-src 'unsafe-inline'; img-src data: blob:\">"
        f"<title>{html.escape(meta['title'])}</title><style>{style}</style></head>\n<body>{body}\n"
        f'<script type="application/json" id="tf-lstm-meta">{metadata}</script>\n{blocks}'
        f"<script>{script}</script>\n</body></html>\n"
    )


def read_inside_page(path: str | os.PathLike) -> dict[str, Any]:
    """What a page holds, decoded as the page decodes it: for scripts, tests and a second look in Python.

    Returns the page's metadata with, for each track, ``states`` (each
    ``[stored rows, units]``, the values the page shows) and ``mask``
    (``[stored rows]`` or None); rows are the sequences' stored steps one
    after another (``lengths`` says how many each).
    """
    import re

    text = Path(path).read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="tf-lstm-meta">(.*?)</script>', text, re.S)
    if GENERATOR not in text[:2000] or found is None:
        raise InsidePageError(f"path={path}: not a page tf_lstm wrote")
    meta = json.loads(found.group(1).replace("<\\/", "</"))
    blocks = dict(re.findall(r'<script type="application/octet-stream" id="data-([^"]+)">([^<]*)</script>', text))

    def array(key):
        spec = meta["arrays"][key]
        raw = np.frombuffer(base64.b64decode(blocks[key]), np.dtype(spec["dtype"]).newbyteorder("<"))
        return raw.reshape(spec["shape"])

    for track in meta["tracks"]:
        track["spec"] = track["states"]
        track["states"] = {
            name: dequantize(array(spec["data"]), spec["low"], spec["step"]) for name, spec in track["spec"].items()
        }
        track["mask"] = array(track["mask"]).astype(bool) if "mask" in track else None
    view = meta["input"]
    if view["kind"] == "tokens":
        view["tokens"] = [view["words"][i] for i in array(view["data"])]
    else:
        view["values"] = dequantize(array(view["data"]), view["low"], view["step"])
    return meta
