// The inside page of tf_lstm (tf_lstm/inside.py writes it): tracks, select and match, reading, saturation.
// Plain JavaScript on canvases: the data are typed arrays decoded once from the page, and matching is a loop.
(function () {
  "use strict";
  performance.mark("tf-lstm-inside-start");
  const meta = JSON.parse(document.getElementById("tf-lstm-meta").textContent);
  const TYPES = { uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array };
  const GATES = new Set(["i", "f", "g", "o"]);
  const cache = new Map();
  const offsets = [0];
  for (const length of meta.lengths) offsets.push(offsets[offsets.length - 1] + length);

  function array(key) {
    // Base64 text of little-endian integers, decoded the first time it is asked for.
    if (!cache.has(key)) {
      const text = document.getElementById("data-" + key).textContent;
      let bytes;
      if (typeof Uint8Array.fromBase64 === "function") {
        bytes = Uint8Array.fromBase64(text);
      } else { // browsers without it (before 2025): through a binary string
        const binary = atob(text);
        bytes = new Uint8Array(binary.length);
        for (let k = 0; k < binary.length; k++) bytes[k] = binary.charCodeAt(k);
      }
      const spec = meta.arrays[key];
      cache.set(key, new TYPES[spec.dtype](bytes.buffer));
    }
    return cache.get(key);
  }

  // ---- what the page holds -------------------------------------------------------------------------------------
  const view = {
    track: 0, state: null, sequence: 0, unit: 0, start: null, end: null, threshold: 0.3, units: [],
    minLength: 2, reading: null, shown: 100,
  };

  function track(k) { return meta.tracks[k === undefined ? view.track : k]; }
  function spec(state, k) {
    const s = track(k).states[state];
    if (!s) throw new Error("state " + JSON.stringify(state) + " is not one of " + Object.keys(track(k).states).join(", "));
    return s;
  }
  function checkSequence(sequence) {
    if (!Number.isInteger(sequence) || sequence < 0 || sequence >= meta.sequences) {
      throw new Error("sequence " + sequence + " is not in 0.." + (meta.sequences - 1));
    }
  }
  function masked(row, k) {
    const key = track(k).mask;
    return key ? array(key)[row] === 0 : false;
  }
  function value(state, sequence, step, unit) {
    const s = spec(state);
    checkSequence(sequence);
    const units = track().units;
    if (!Number.isInteger(unit) || unit < 0 || unit >= units) throw new Error("unit " + unit + " is not in 0.." + (units - 1));
    if (!Number.isInteger(step) || step < 0 || step >= meta.steps) throw new Error("step " + step + " is not in 0.." + (meta.steps - 1));
    if (step >= meta.lengths[sequence]) return null; // padding after the sequence's end: not stored
    return s.low + array(s.data)[(offsets[sequence] + step) * units + unit] * s.step;
  }
  function onTable(state, threshold) {
    // Whether each held level is above the threshold: the same low + q·step > threshold as value().
    const s = spec(state);
    const levels = meta.bits === 8 ? 256 : 65536;
    const table = new Uint8Array(levels);
    for (let q = 0; q < levels; q++) table[q] = s.low + q * s.step > threshold ? 1 : 0;
    return table;
  }
  function selectUnits(state, sequence, start, end, threshold) {
    checkSequence(sequence);
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end < meta.lengths[sequence])) {
      throw new Error("steps " + start + ".." + end + " are not a range within sequence " + sequence + "'s " + meta.lengths[sequence] + " steps");
    }
    const data = array(spec(state).data), on = onTable(state, threshold), units = track().units;
    const selected = [];
    for (let u = 0; u < units; u++) {
      let all = true;
      for (let t = start; t <= end && all; t++) {
        const row = offsets[sequence] + t;
        all = !masked(row) && on[data[row * units + u]] === 1;
      }
      if (all) selected.push(u);
    }
    return selected;
  }
  function findMatches(state, units, threshold, minLength) {
    // Every maximal stretch where all `units` are on, ranked by Jaccard score (the units against those on at
    // every step of the stretch), then by length.
    const data = array(spec(state).data), on = onTable(state, threshold), n = track().units;
    const chosen = Array.from(new Set(units)).sort((a, b) => a - b);
    for (const u of chosen) if (!Number.isInteger(u) || u < 0 || u >= n) throw new Error("unit " + u + " is not in 0.." + (n - 1));
    const least = Math.max(1, minLength || 1);
    const matches = [];
    if (chosen.length === 0) return matches;
    const mask = track().mask ? array(track().mask) : null;
    const allOn = (row) => {
      if (mask && mask[row] === 0) return false;
      for (const u of chosen) if (on[data[row * n + u]] === 0) return false;
      return true;
    };
    for (let sequence = 0; sequence < meta.sequences; sequence++) {
      const first = offsets[sequence], length = meta.lengths[sequence];
      let t = 0;
      while (t < length) {
        if (!allOn(first + t)) { t++; continue; }
        let end = t;
        while (end + 1 < length && allOn(first + end + 1)) end++;
        if (end - t + 1 >= least) {
          let across = 0;
          for (let u = 0; u < n; u++) {
            let all = true;
            for (let r = first + t; r <= first + end && all; r++) all = on[data[r * n + u]] === 1;
            if (all) across++;
          }
          matches.push({ sequence: sequence, start: t, end: end, score: chosen.length / across });
        }
        t = end + 1;
      }
    }
    matches.sort((a, b) => b.score - a.score || (b.end - b.start) - (a.end - a.start) || a.sequence - b.sequence || a.start - b.start);
    return matches;
  }

  // ---- colours ------------------------------------------------------------------------------------------------
  const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function ramp(stops, x) {
    const p = Math.min(Math.max(x, 0), 1) * (stops.length - 1), k = Math.min(Math.floor(p), stops.length - 2), f = p - k;
    return stops[k].map((c, j) => Math.round(c + f * (stops[k + 1][j] - c)));
  }
  function colour(state, v) {
    if (v === null) return [235, 235, 235];
    const s = spec(state);
    if (GATES.has(state)) return ramp(VIRIDIS, v);
    const largest = Math.max(Math.abs(s.min), Math.abs(s.max)) || 1;
    return ramp([[33, 102, 172], [247, 247, 247], [178, 24, 43]], 0.5 + v / (2 * largest));
  }
  const css = (rgb, alpha) => alpha === undefined ? "rgb(" + rgb.join(",") + ")" : "rgba(" + rgb.join(",") + "," + alpha + ")";
  const dark = (rgb) => 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 128;

  // ---- the input under the steps ------------------------------------------------------------------------------
  function inputAt(sequence, step) {
    const input = meta.input, row = offsets[sequence] + step;
    if (step >= meta.lengths[sequence]) return null;
    if (input.kind === "tokens") return input.words[array(input.data)[row]];
    const q = array(input.data), f = input.features, values = [];
    for (let j = 0; j < f; j++) values.push(input.low + q[row * f + j] * input.step);
    return values;
  }
  function runningCount(sequence, step) {
    let total = 0;
    for (let t = 0; t <= step; t++) total += inputAt(sequence, t).reduce((a, b) => a + b, 0);
    return total;
  }
  function inputLabel(sequence, step) {
    const got = inputAt(sequence, step);
    if (got === null) return "(padding)";
    if (meta.input.kind === "tokens") return got;
    if (meta.input.kind === "image") return "row " + step;
    if (meta.input.kind === "count") return fmt(got[0]) + " (sum " + fmt(runningCount(sequence, step)) + ")";
    return got.map(fmt).join(", ");
  }
  const fmt = (v) => (v === null ? "—" : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : (+v.toFixed(4)).toString());

  // ---- the tracks ---------------------------------------------------------------------------------------------
  const canvas = document.getElementById("tracks");
  const LEFT = 56;
  let layout = null;

  function unitHeight() { return Math.max(1, Math.min(12, Math.floor(150 / track().units))); }
  function cellWidth() {
    const wide = document.getElementById("tracks-scroll").clientWidth - LEFT - 4;
    return Math.max(6, Math.floor(wide / meta.steps));
  }
  function drawTracks() {
    const k = view.track, tr = track(), seq = view.sequence, length = meta.lengths[seq], steps = meta.steps;
    const cw = cellWidth(), uh = unitHeight(), units = tr.units, states = Object.keys(tr.states);
    const rows = [];
    let y = 18;
    for (const state of states) { rows.push({ kind: "state", state: state, y: y, h: units * uh }); y += units * uh + 6; }
    rows.push({ kind: "lines", y: y, h: 110 }); y += 116;
    const input = meta.input;
    const inputHeight = input.kind === "image" ? Math.min(Math.max(3 * input.features, 48), 90) : input.kind === "tokens" ? 70 : 34;
    rows.push({ kind: "input", y: y, h: inputHeight }); y += inputHeight + 6;
    if (meta.answers) { rows.push({ kind: "answer", y: y, h: 30 }); y += 36; }
    if (meta.gradients) { rows.push({ kind: "gradient", y: y, h: 30 }); y += 36; rows.push({ kind: "saliency", y: y, h: 30 }); y += 36; }
    const width = LEFT + cw * steps + 4;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = width * ratio; canvas.height = y * ratio;
    canvas.style.width = width + "px"; canvas.style.height = y + "px";
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, y);
    g.font = "10px system-ui, sans-serif";
    g.fillStyle = "#444";
    for (let t = 0; t < steps; t += Math.max(1, Math.ceil(30 / cw))) g.fillText(String(t), LEFT + t * cw, 11);
    const mask = tr.mask ? array(tr.mask) : null;
    for (const row of rows) {
      g.fillStyle = "#333";
      const names = { lines: "selected", input: input.kind === "tokens" ? "tokens" : input.kind, answer: "answer", gradient: "‖∂L/∂h‖", saliency: "saliency" };
      g.fillText(row.kind === "state" ? row.state : names[row.kind], 2, row.y + Math.min(row.h, 24) / 2 + 4);
      if (row.kind === "state") drawHeatmap(g, row, cw, uh);
      else if (row.kind === "lines") drawLines(g, row, cw);
      else if (row.kind === "input") drawInput(g, row, cw);
      else if (row.kind === "answer") drawAnswers(g, row, cw);
      else drawGradient(g, row, cw, row.kind === "gradient" ? "h" : "x");
    }
    // Masked steps shaded, the padding after the end hatched, the sequence's boundaries drawn.
    for (let t = 0; t < length; t++) {
      if (mask && mask[offsets[seq] + t] === 0) { g.fillStyle = "rgba(120,120,120,0.55)"; g.fillRect(LEFT + t * cw, 16, cw, y - 16); }
    }
    if (length < steps) {
      g.fillStyle = "rgba(160,160,160,0.35)";
      g.fillRect(LEFT + length * cw, 16, (steps - length) * cw, y - 16);
      g.strokeStyle = "rgba(90,90,90,0.4)";
      g.beginPath();
      for (let x = LEFT + length * cw - y; x < width; x += 10) { g.moveTo(x, y); g.lineTo(x + y, 16); }
      g.save(); g.rect(LEFT + length * cw, 16, (steps - length) * cw, y - 16); g.clip(); g.stroke(); g.restore();
      g.fillStyle = "#333"; g.fillText("padding", LEFT + length * cw + 3, 14);
    }
    g.strokeStyle = "#000"; g.lineWidth = 2;
    for (const edge of [0, length]) { g.beginPath(); g.moveTo(LEFT + edge * cw, 14); g.lineTo(LEFT + edge * cw, y); g.stroke(); }
    g.lineWidth = 1;
    if (view.start !== null) {
      g.fillStyle = "rgba(255,140,0,0.18)"; g.strokeStyle = "#e07b00";
      const x0 = LEFT + view.start * cw, w = (view.end - view.start + 1) * cw;
      g.fillRect(x0, 16, w, y - 16); g.strokeRect(x0 + 0.5, 16.5, w - 1, y - 17);
    }
    layout = { rows: rows, cw: cw, uh: uh, height: y, track: k };
  }
  function drawHeatmap(g, row, cw, uh) {
    const tr = track(), seq = view.sequence, length = meta.lengths[seq], units = tr.units, s = spec(row.state);
    const data = array(s.data);
    const image = g.createImageData(Math.max(length, 1), units);
    for (let t = 0; t < length; t++) {
      for (let u = 0; u < units; u++) {
        const rgb = colour(row.state, s.low + data[(offsets[seq] + t) * units + u] * s.step);
        const p = (u * Math.max(length, 1) + t) * 4;
        image.data[p] = rgb[0]; image.data[p + 1] = rgb[1]; image.data[p + 2] = rgb[2]; image.data[p + 3] = 255;
      }
    }
    const scratch = document.createElement("canvas");
    scratch.width = Math.max(length, 1); scratch.height = units;
    scratch.getContext("2d").putImageData(image, 0, 0);
    g.imageSmoothingEnabled = false;
    if (length > 0) g.drawImage(scratch, LEFT, row.y, length * cw, units * uh);
    const marks = [[view.unit, "#e00000"]].concat(view.units.map((u) => [u, "#e07b00"]));
    for (const [u, stroke] of marks) {
      g.fillStyle = stroke;
      g.fillRect(LEFT - 6, row.y + u * uh, 5, Math.max(uh, 2));
    }
    if (row.state === view.state) { g.strokeStyle = "#e07b00"; g.strokeRect(LEFT - 0.5, row.y - 0.5, meta.steps * cw + 1, units * uh + 1); }
  }
  function drawLines(g, row, cw) {
    const s = spec(view.state), seq = view.sequence, length = meta.lengths[seq];
    const low = Math.min(s.min, view.threshold), high = Math.max(s.max, view.threshold);
    const yOf = (v) => row.y + row.h - ((v - low) / (high - low || 1)) * row.h;
    g.strokeStyle = "#ccc"; g.strokeRect(LEFT, row.y, meta.steps * cw, row.h);
    g.setLineDash([4, 3]); g.strokeStyle = "#555";
    g.beginPath(); g.moveTo(LEFT, yOf(view.threshold)); g.lineTo(LEFT + meta.steps * cw, yOf(view.threshold)); g.stroke();
    g.setLineDash([]);
    const shown = view.units.length ? view.units.slice(0, 40) : [];
    for (const [u, stroke, width] of shown.map((u) => [u, "rgba(224,123,0,0.8)", 1]).concat([[view.unit, "#e00000", 2]])) {
      g.strokeStyle = stroke; g.lineWidth = width; g.beginPath();
      for (let t = 0; t < length; t++) {
        const x = LEFT + (t + 0.5) * cw, yy = yOf(value(view.state, seq, t, u));
        if (t === 0) g.moveTo(x, yy); else g.lineTo(x, yy);
      }
      g.stroke();
    }
    g.lineWidth = 1;
    if (meta.input.kind === "count") { // the count the state should follow when the RNN counts
      g.strokeStyle = "#000"; g.setLineDash([2, 2]); g.beginPath();
      for (let t = 0; t < length; t++) {
        const x = LEFT + (t + 0.5) * cw, yy = Math.min(Math.max(yOf(runningCount(seq, t)), row.y), row.y + row.h);
        if (t === 0) g.moveTo(x, yy); else g.lineTo(x, yy);
      }
      g.stroke(); g.setLineDash([]);
      g.fillStyle = "#000"; g.fillText("- - running count", LEFT + meta.steps * cw - 110, row.y + 11);
    }
    g.fillStyle = "#555";
    g.fillText(view.state + " of unit " + view.unit + (view.units.length ? " and the selected units" : "") + "; threshold " + fmt(view.threshold), LEFT + 4, row.y + 11);
  }
  function drawInput(g, row, cw) {
    const seq = view.sequence, length = meta.lengths[seq], input = meta.input;
    for (let t = 0; t < length; t++) {
      const x = LEFT + t * cw, got = inputAt(seq, t);
      if (input.kind === "tokens") {
        g.save(); g.translate(x + cw / 2 + 3, row.y + 2); g.rotate(Math.PI / 2);
        g.fillStyle = "#222"; g.fillText(got.length > 12 ? got.slice(0, 11) + "…" : got, 0, 0); g.restore();
      } else if (input.kind === "image") {
        const ph = row.h / input.features, range = input.max - input.min || 1;
        for (let j = 0; j < input.features; j++) {
          const level = Math.round(255 * (1 - (got[j] - input.min) / range));
          g.fillStyle = "rgb(" + level + "," + level + "," + level + ")";
          g.fillRect(x, row.y + j * ph, cw, Math.ceil(ph));
        }
      } else {
        g.fillStyle = "#222";
        const text = input.kind === "count" ? fmt(got[0]) : got.length === 1 ? fmt(got[0]) : "";
        if (cw >= 18) g.fillText(text, x + 1, row.y + 12);
        if (input.kind === "count" && cw >= 18) g.fillText("Σ" + fmt(runningCount(seq, t)), x + 1, row.y + 27);
        if (input.kind !== "count") {
          const range = input.max - input.min || 1;
          for (let j = 0; j < got.length; j++) {
            g.fillStyle = css(ramp([[33, 102, 172], [247, 247, 247], [178, 24, 43]], (got[j] - input.min) / range));
            g.fillRect(x, row.y + 16 + j * (18 / got.length), cw, 18 / got.length);
          }
        }
      }
    }
  }
  function drawAnswers(g, row, cw) {
    const seq = view.sequence, length = meta.lengths[seq], answers = meta.answers;
    for (let t = 0; t < length; t++) {
      const x = LEFT + t * cw;
      if (answers.kind === "class") {
        const p = answers.probabilities[seq][t];
        g.fillStyle = "rgba(30,90,200," + p.toFixed(3) + ")"; g.fillRect(x, row.y, cw, row.h);
        g.fillStyle = p > 0.55 ? "#fff" : "#000";
        if (cw >= 8) g.fillText(String(answers.classes[seq][t]), x + 1, row.y + 18);
      } else {
        const values = answers.values[seq], low = Math.min.apply(null, values), high = Math.max.apply(null, values);
        const h = ((values[t] - low) / (high - low || 1)) * row.h;
        g.fillStyle = "#1e5ac8"; g.fillRect(x + 1, row.y + row.h - h, cw - 2, Math.max(h, 1));
      }
    }
  }
  function drawGradient(g, row, cw, key) {
    const seq = view.sequence, length = meta.lengths[seq], norms = meta.gradients[key];
    const mine = [];
    for (let t = 0; t < length; t++) mine.push(norms[offsets[seq] + t]);
    const logs = mine.map((v) => Math.log10(Math.max(v, 1e-30)));
    const high = Math.max.apply(null, logs), low = Math.max(Math.min.apply(null, logs), high - 8);
    for (let t = 0; t < length; t++) {
      const h = ((logs[t] - low) / (high - low || 1)) * (row.h - 2) + 2;
      g.fillStyle = key === "h" ? "#7a3db8" : "#2a8a4a"; g.fillRect(LEFT + t * cw + 1, row.y + row.h - h, cw - 2, h);
    }
  }

  function hit(event) {
    const box = canvas.getBoundingClientRect();
    const x = event.clientX - box.left, y = event.clientY - box.top;
    if (!layout) return null;
    const step = Math.floor((x - LEFT) / layout.cw);
    const row = layout.rows.find((r) => y >= r.y && y < r.y + r.h) || null;
    const unit = row && row.kind === "state" ? Math.floor((y - row.y) / layout.uh) : null;
    return { step: step, row: row, unit: unit };
  }
  function describe(at) {
    const seq = view.sequence;
    if (at.step < 0 || at.step >= meta.steps) return null;
    if (at.step >= meta.lengths[seq]) return "step " + at.step + ": padding after the sequence's end";
    const lines = ["sequence " + seq + ", step " + at.step + (masked(offsets[seq] + at.step) ? " (masked)" : ""), "input: " + inputLabel(seq, at.step)];
    const unit = at.unit !== null ? at.unit : view.unit;
    for (const state of Object.keys(track().states)) lines.push(state + "[" + unit + "] = " + fmt(value(state, seq, at.step, unit)));
    if (meta.answers) {
      lines.push(meta.answers.kind === "class"
        ? "answer: " + meta.answers.classes[seq][at.step] + " (p " + meta.answers.probabilities[seq][at.step].toFixed(4) + ")"
        : "answer: " + fmt(meta.answers.values[seq][at.step]));
    }
    if (meta.gradients) {
      lines.push("‖∂L/∂h‖ = " + fmt(meta.gradients.h[offsets[seq] + at.step]) + ", saliency = " + fmt(meta.gradients.x[offsets[seq] + at.step]));
    }
    return lines.join("\n");
  }
  const tooltip = document.getElementById("tooltip");
  function showTip(event, text) {
    if (!text) { tooltip.style.display = "none"; return; }
    tooltip.textContent = text; tooltip.style.display = "block";
    tooltip.style.left = Math.min(event.clientX + 14, window.innerWidth - 320) + "px"; tooltip.style.top = event.clientY + 14 + "px";
  }
  let drag = null; // the step a press began on, and whether the mouse has left it since
  const clampStep = (step) => Math.min(Math.max(step, 0), meta.lengths[view.sequence] - 1);
  canvas.addEventListener("mousedown", (event) => {
    const at = hit(event);
    if (at && at.step >= 0 && at.step < meta.lengths[view.sequence]) { drag = { from: at.step, moved: false }; event.preventDefault(); }
  });
  canvas.addEventListener("mousemove", (event) => {
    const at = hit(event);
    showTip(event, at && describe(at));
    if (drag !== null && at) {
      const step = clampStep(at.step);
      if (step !== drag.from) drag.moved = true;
      if (drag.moved) { view.start = Math.min(drag.from, step); view.end = Math.max(drag.from, step); drawTracks(); }
    }
  });
  canvas.addEventListener("mouseleave", () => { tooltip.style.display = "none"; });
  window.addEventListener("mouseup", (event) => {
    if (drag === null) return;
    const at = hit(event), pressed = drag;
    drag = null;
    if (!pressed.moved && at && at.row && at.row.kind === "state" && at.unit !== null && at.unit < track().units) {
      view.unit = at.unit; // a click on a heatmap picks its unit
      update(false);
      return;
    }
    const step = pressed.moved && at ? clampStep(at.step) : pressed.from;
    view.start = Math.min(pressed.from, step); view.end = Math.max(pressed.from, step);
    view.units = selectUnits(view.state, view.sequence, view.start, view.end, view.threshold);
    update();
  });

  // ---- select and match ---------------------------------------------------------------------------------------
  let matches = [];
  let matchMillis = 0;
  function runMatches() {
    const started = performance.now();
    matches = view.units.length ? findMatches(view.state, view.units, view.threshold, view.minLength) : [];
    matchMillis = performance.now() - started;
  }
  function snippet(m) {
    const words = [];
    for (let t = m.start; t <= Math.min(m.end, m.start + 11); t++) words.push(inputLabel(m.sequence, t));
    return words.join(" ") + (m.end > m.start + 11 ? " …" : "");
  }
  function drawSelection() {
    const s = spec(view.state);
    document.getElementById("range-info").textContent = view.state + " ranges over [" + fmt(s.min) + ", " + fmt(s.max) + "] on this layer; values held within ±" + s.bound.toExponential(2);
    document.getElementById("brush-info").textContent = view.start === null
      ? "No range brushed: drag across the steps of the tracks."
      : "Brushed: sequence " + view.sequence + ", steps " + view.start + "–" + view.end + ", " + view.state + " > " + fmt(view.threshold);
    const box = document.getElementById("units");
    box.textContent = "";
    if (!view.units.length) box.textContent = "none";
    for (const u of view.units) {
      const chip = document.createElement("span");
      chip.className = "chip" + (u === view.unit ? " chosen" : "");
      chip.textContent = u + " ×"; chip.title = "remove unit " + u; chip.dataset.unit = u;
      chip.addEventListener("click", () => { view.units = view.units.filter((v) => v !== u); update(); });
      box.appendChild(chip);
    }
    const info = document.getElementById("match-info");
    info.textContent = view.units.length
      ? matches.length + " stretches in " + meta.sequences + " sequences where all " + view.units.length + " selected units are on for at least " + view.minLength + " steps (" + matchMillis.toFixed(1) + " ms)"
      : "Select units to find where they are all on.";
    const body = document.querySelector("#matches tbody");
    body.textContent = "";
    matches.slice(0, view.shown).forEach((m, rank) => {
      const row = document.createElement("tr");
      if (m.sequence === view.sequence && m.start === view.start && m.end === view.end) row.className = "current";
      for (const cell of [rank + 1, m.sequence, m.start + "–" + m.end, m.end - m.start + 1, m.score.toFixed(3), snippet(m)]) {
        const td = document.createElement("td"); td.textContent = cell; row.appendChild(td);
      }
      row.addEventListener("click", () => { view.sequence = m.sequence; view.start = m.start; view.end = m.end; update(false); });
      body.appendChild(row);
    });
    const more = document.getElementById("more");
    more.hidden = matches.length <= view.shown;
    more.textContent = "show all " + matches.length;
    drawHistogram();
  }
  const histograms = new Map();
  function drawHistogram() {
    const hist = document.getElementById("histogram"), g = hist.getContext("2d"), s = spec(view.state);
    const data = array(s.data), units = track().units, mask = track().mask ? array(track().mask) : null;
    const bins = 60, low = s.min, high = s.max, width = (high - low) / bins || 1;
    const rows = offsets[offsets.length - 1];
    const binOf = (r, u) => Math.min(bins - 1, Math.floor((s.low + data[r * units + u] * s.step - low) / width));
    // Every unit's histogram is binned once per layer and state (millions of values on a large page); the
    // chosen unit's, one column, on every draw.
    const key = view.track + "/" + view.state;
    if (!histograms.has(key)) {
      const counts = new Float64Array(bins);
      for (let r = 0; r < rows; r++) {
        if (mask && mask[r] === 0) continue;
        for (let u = 0; u < units; u++) counts[binOf(r, u)]++;
      }
      histograms.set(key, counts);
    }
    const all = histograms.get(key), mine = new Float64Array(bins);
    for (let r = 0; r < rows; r++) if (!mask || mask[r] !== 0) mine[binOf(r, view.unit)]++;
    const top = Math.max.apply(null, all), topMine = Math.max.apply(null, mine) || 1;
    g.clearRect(0, 0, hist.width, hist.height);
    const w = hist.width / bins, h = hist.height - 14;
    for (let b = 0; b < bins; b++) {
      g.fillStyle = "#bbb"; g.fillRect(b * w, h - (all[b] / top) * h, w - 1, (all[b] / top) * h);
      g.fillStyle = "rgba(224,123,0,0.7)"; g.fillRect(b * w + w / 4, h - (mine[b] / topMine) * h, w / 2, (mine[b] / topMine) * h);
    }
    const x = ((view.threshold - low) / (high - low || 1)) * hist.width;
    g.strokeStyle = "#000"; g.beginPath(); g.moveTo(x, 0); g.lineTo(x, h); g.stroke();
    g.fillStyle = "#333"; g.font = "10px system-ui";
    g.fillText(fmt(low), 0, hist.height - 2); g.fillText(fmt(high), hist.width - 40, hist.height - 2);
  }

  // ---- reading ------------------------------------------------------------------------------------------------
  function drawReading() {
    const seq = view.sequence, length = meta.lengths[seq], state = view.reading, box = document.getElementById("reading-text");
    document.getElementById("reading-info").textContent = "each " + (meta.input.kind === "tokens" ? "token" : meta.input.kind === "image" ? "row" : "step") +
      " coloured by " + state + " of unit " + view.unit + " (" + track().name + ") after reading it; hover for values";
    box.textContent = "";
    if (meta.input.kind === "image") { box.appendChild(readingImage(seq, state)); return; }
    const mask = track().mask ? array(track().mask) : null;
    for (let t = 0; t < length; t++) {
      const span = document.createElement("span"), v = value(state, seq, t, view.unit), rgb = colour(state, v);
      const few = meta.input.kind === "count" || (meta.input.features || 1) <= 2;
      span.textContent = meta.input.kind === "tokens" ? inputAt(seq, t) : few ? inputLabel(seq, t) : "step " + t;
      span.style.background = css(rgb); span.style.color = dark(rgb) ? "#fff" : "#000";
      span.title = "step " + t + ": " + state + "[" + view.unit + "] = " + fmt(v) +
        (meta.answers ? "; answer " + (meta.answers.kind === "class" ? meta.answers.classes[seq][t] : fmt(meta.answers.values[seq][t])) : "");
      span.dataset.step = t;
      if (mask && mask[offsets[seq] + t] === 0) span.className = "masked";
      if (view.start !== null && t >= view.start && t <= view.end) span.classList.add("brushed");
      box.appendChild(span);
    }
    if (length < meta.steps) box.appendChild(document.createTextNode(" [" + (meta.steps - length) + " padded steps]"));
  }

  function readingImage(seq, state) {
    // The image as the model reads it, a row a step: beside each row, the chosen unit's value after reading it
    // (its colour and number) and the model's answer after that row.
    const input = meta.input, length = meta.lengths[seq], pixel = Math.max(4, Math.min(14, Math.floor(220 / input.features)));
    const rowHeight = Math.max(pixel, 14), swatch = 60, width = swatch + input.features * pixel + 240;
    const c = document.createElement("canvas");
    c.width = width; c.height = length * rowHeight + 4; c.id = "reading-image";
    const g = c.getContext("2d"), range = input.max - input.min || 1;
    g.font = "11px ui-monospace, monospace";
    for (let t = 0; t < length; t++) {
      const y = t * rowHeight, v = value(state, seq, t, view.unit), rgb = colour(state, v), got = inputAt(seq, t);
      g.fillStyle = css(rgb); g.fillRect(0, y, swatch - 4, rowHeight - 1);
      g.fillStyle = dark(rgb) ? "#fff" : "#000"; g.fillText(fmt(v), 3, y + rowHeight - 4);
      for (let j = 0; j < input.features; j++) {
        const level = Math.round(255 * (1 - (got[j] - input.min) / range));
        g.fillStyle = "rgb(" + level + "," + level + "," + level + ")";
        g.fillRect(swatch + j * pixel, y, pixel, rowHeight);
      }
      if (view.start !== null && t >= view.start && t <= view.end) {
        g.strokeStyle = "#e07b00"; g.lineWidth = 2; g.strokeRect(swatch - 1, y + 1, input.features * pixel + 2, rowHeight - 2); g.lineWidth = 1;
      }
      if (meta.answers) {
        const a = meta.answers;
        g.fillStyle = "#222";
        g.fillText("row " + t + ": " + (a.kind === "class" ? "answer " + a.classes[seq][t] + " (p " + a.probabilities[seq][t].toFixed(2) + ")" : fmt(a.values[seq][t])),
          swatch + input.features * pixel + 8, y + rowHeight - 4);
      }
    }
    c.title = state + " of unit " + view.unit + " after each row, the row, and the answer after it";
    return c;
  }

  // ---- saturation ---------------------------------------------------------------------------------------------
  function drawSaturation() {
    const box = document.getElementById("saturation"), shares = track().saturation;
    box.textContent = "";
    if (!shares || !Object.keys(shares).length) { box.textContent = "This layer has no gates."; return; }
    for (const gate of Object.keys(shares)) {
      const c = document.createElement("canvas"), size = 220;
      c.width = size; c.height = size; c.dataset.gate = gate; c.title = "gate " + gate;
      const g = c.getContext("2d"), pad = 24, inner = size - 2 * pad;
      const at = (u) => [pad + shares[gate].low[u] * inner, size - pad - shares[gate].high[u] * inner];
      g.strokeStyle = "#aaa"; g.strokeRect(pad, pad, inner, inner);
      g.beginPath(); g.moveTo(pad, pad); g.lineTo(pad + inner, size - pad); g.stroke();
      g.fillStyle = "#333"; g.font = "11px system-ui"; g.fillText("gate " + gate, pad, 14); g.fillText("< 0.1 →", size - 70, size - 6);
      for (let u = 0; u < shares[gate].low.length; u++) {
        const [x, y] = at(u), chosen = u === view.unit, selected = view.units.includes(u);
        g.fillStyle = chosen ? "#e00000" : selected ? "#e07b00" : "rgba(30,90,200,0.55)";
        g.beginPath(); g.arc(x, y, chosen ? 5 : 3, 0, 2 * Math.PI); g.fill();
      }
      const nearest = (event) => {
        const b = c.getBoundingClientRect(), x = event.clientX - b.left, y = event.clientY - b.top;
        let best = 0, distance = Infinity;
        for (let u = 0; u < shares[gate].low.length; u++) {
          const [px, py] = at(u), d = (px - x) ** 2 + (py - y) ** 2;
          if (d < distance) { distance = d; best = u; }
        }
        return best;
      };
      c.addEventListener("click", (event) => { view.unit = nearest(event); update(false); });
      c.addEventListener("mousemove", (event) => {
        const u = nearest(event);
        showTip(event, "unit " + u + ", gate " + gate + ": " + fmt(shares[gate].low[u]) + " of steps < 0.1, " + fmt(shares[gate].high[u]) + " > 0.9");
      });
      c.addEventListener("mouseleave", () => { tooltip.style.display = "none"; });
      box.appendChild(c);
    }
  }

  // ---- the view in the URL, the controls, downloads ------------------------------------------------------------
  function toHash() {
    const parts = { t: view.track, st: view.state, s: view.sequence, u: view.unit, th: view.threshold, ml: view.minLength, rd: view.reading };
    if (view.start !== null) { parts.a = view.start; parts.b = view.end; }
    if (view.units.length) parts.us = view.units.join(".");
    return "#" + Object.entries(parts).map(([k, v]) => k + "=" + encodeURIComponent(v)).join("&");
  }
  function fromHash() {
    const got = {};
    for (const part of location.hash.replace(/^#/, "").split("&")) {
      const [k, v] = part.split("=");
      if (k) got[k] = decodeURIComponent(v || "");
    }
    const int = (v, low, high, fallback) => { const n = parseInt(v, 10); return Number.isInteger(n) && n >= low && n <= high ? n : fallback; };
    view.track = int(got.t, 0, meta.tracks.length - 1, 0);
    const states = Object.keys(track().states);
    view.state = states.includes(got.st) ? got.st : states[0];
    view.reading = states.includes(got.rd) ? got.rd : states.includes("c") ? "c" : states[0];
    view.sequence = int(got.s, 0, meta.sequences - 1, 0);
    view.unit = int(got.u, 0, track().units - 1, 0);
    if (got.th !== undefined && isFinite(parseFloat(got.th))) view.threshold = parseFloat(got.th);
    view.minLength = int(got.ml, 1, 1e9, 2);
    const last = meta.lengths[view.sequence] - 1;
    const a = int(got.a, 0, last, null), b = int(got.b, 0, last, null);
    if (a !== null && b !== null && a <= b) { view.start = a; view.end = b; } else { view.start = null; view.end = null; }
    view.units = (got.us || "").split(".").filter((v) => v !== "").map(Number).filter((u) => Number.isInteger(u) && u >= 0 && u < track().units);
  }
  function fillControls() {
    const pick = document.getElementById("track");
    pick.textContent = "";
    meta.tracks.forEach((tr, k) => { const o = document.createElement("option"); o.value = k; o.textContent = tr.name; pick.appendChild(o); });
    pick.value = view.track;
    for (const id of ["state", "reading"]) {
      const select = document.getElementById(id);
      select.textContent = "";
      for (const state of Object.keys(track().states)) { const o = document.createElement("option"); o.value = state; o.textContent = state; select.appendChild(o); }
      select.value = view[id];
    }
    document.getElementById("sequence").max = meta.sequences - 1;
    document.getElementById("sequence").value = view.sequence;
    document.getElementById("unit").max = track().units - 1;
    document.getElementById("unit").value = view.unit;
    document.getElementById("threshold").value = view.threshold;
    document.getElementById("min-length").value = view.minLength;
    const s = spec(view.state), slider = document.getElementById("threshold-slider");
    slider.value = Math.round(((view.threshold - s.min) / (s.max - s.min || 1)) * 1000);
    const seq = view.sequence;
    let info = "of " + meta.sequences + "; " + meta.lengths[seq] + " of " + meta.steps + " steps stored";
    if (meta.labels) info += "; label " + JSON.stringify(meta.labels[seq]);
    if (meta.answers && meta.lengths[seq] > 0) {
      const last = meta.lengths[seq] - 1;
      info += meta.answers.kind === "class" ? "; answer " + meta.answers.classes[seq][last] + " (p " + meta.answers.probabilities[seq][last].toFixed(3) + ")"
        : "; answer " + fmt(meta.answers.values[seq][last]);
    }
    document.getElementById("sequence-info").textContent = info;
  }
  function update(rematch) {
    if (rematch !== false) runMatches();
    fillControls();
    drawTracks();
    drawSelection();
    drawReading();
    drawSaturation();
    const hash = toHash();
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }
  function on(id, event, handler) { document.getElementById(id).addEventListener(event, handler); }
  on("track", "change", (e) => {
    view.track = +e.target.value; const states = Object.keys(track().states);
    if (!states.includes(view.state)) view.state = states[0];
    if (!states.includes(view.reading)) view.reading = states.includes("c") ? "c" : states[0];
    view.unit = Math.min(view.unit, track().units - 1); view.units = []; update();
  });
  on("state", "change", (e) => { view.state = e.target.value; view.units = view.start === null ? [] : selectUnits(view.state, view.sequence, view.start, view.end, view.threshold); update(); });
  on("reading", "change", (e) => { view.reading = e.target.value; update(false); });
  const goTo = (sequence) => { view.sequence = Math.min(Math.max(sequence, 0), meta.sequences - 1); view.start = null; view.end = null; update(false); };
  on("sequence", "change", (e) => goTo(parseInt(e.target.value, 10) || 0));
  on("prev", "click", () => goTo(view.sequence - 1));
  on("next", "click", () => goTo(view.sequence + 1));
  on("unit", "change", (e) => { const u = parseInt(e.target.value, 10); if (u >= 0 && u < track().units) { view.unit = u; update(false); } });
  const setThreshold = (t) => {
    view.threshold = t;
    if (view.start !== null) view.units = selectUnits(view.state, view.sequence, view.start, view.end, t);
    update();
  };
  on("threshold", "change", (e) => { const t = parseFloat(e.target.value); if (isFinite(t)) setThreshold(t); });
  on("threshold-slider", "input", (e) => { const s = spec(view.state); setThreshold(+(s.min + (e.target.value / 1000) * (s.max - s.min)).toFixed(4)); });
  on("histogram", "click", (e) => {
    const b = e.target.getBoundingClientRect(), s = spec(view.state);
    setThreshold(+(s.min + ((e.clientX - b.left) / b.width) * (s.max - s.min)).toFixed(4));
  });
  on("add", "click", () => {
    const u = parseInt(document.getElementById("add-unit").value, 10);
    if (u >= 0 && u < track().units && !view.units.includes(u)) { view.units = view.units.concat([u]).sort((a, b) => a - b); update(); }
  });
  on("clear", "click", () => { view.units = []; view.start = null; view.end = null; update(); });
  on("min-length", "change", (e) => { view.minLength = Math.max(1, parseInt(e.target.value, 10) || 1); update(); });
  on("more", "click", () => { view.shown = matches.length; drawSelection(); });
  function download(name, type, text) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type: type }));
    a.download = name; document.body.appendChild(a); a.click(); a.remove();
  }
  const selection = () => ({
    layer: track().name, state: view.state, sequence: view.sequence, start: view.start, end: view.end,
    threshold: view.threshold, units: view.units, minLength: view.minLength, matches: matches,
  });
  on("download-json", "click", () => download("selection.json", "application/json", JSON.stringify(selection(), null, 1)));
  on("download-csv", "click", () => download("matches.csv", "text/csv",
    "rank,sequence,start,end,length,score\n" + matches.map((m, k) => [k + 1, m.sequence, m.start, m.end, m.end - m.start + 1, m.score].join(",")).join("\n") + "\n"));
  window.addEventListener("hashchange", () => { fromHash(); update(); });
  window.addEventListener("resize", () => drawTracks());

  // ---- the header ---------------------------------------------------------------------------------------------
  document.getElementById("title").textContent = meta.title;
  document.title = meta.title;
  const described = meta.tracks.map((t) => t.name + " (" + t.units + " units)").join(", ");
  document.getElementById("summary").textContent = meta.sequences + " sequences of up to " + meta.steps + " steps; " + described + "." +
    (meta.gradients ? " With labels: ‖∂L/∂h_t‖ of layer " + meta.gradients.layer + " (its first direction), loss " + fmt(meta.gradients.loss) +
      ", saliency at " + meta.gradients.saliency_at + "." : "");
  const widest = Math.max.apply(null, meta.tracks.flatMap((t) => Object.values(t.states).map((s) => s.bound)));
  document.getElementById("honesty").textContent = "Values are held as " + meta.bits + "-bit levels over each state's real range: each is within " +
    widest.toExponential(2) + " (half a level; per state in the threshold panel) of tf_lstm.trace. Masked steps are shaded and never on; padding after a sequence's end is hatched and not stored.";

  window.tfLstmInside = {
    meta: meta,
    value: value,
    selectUnits: selectUnits,
    findMatches: findMatches,
    view: () => JSON.parse(JSON.stringify(Object.assign({}, view, { matches: matches.length }))),
    setView: (changes) => { Object.assign(view, changes); update(); return window.tfLstmInside.view(); },
    matches: () => matches.slice(),
    // Where the tracks are drawn, in the window's coordinates: for scripts that drive the mouse.
    geometry: () => {
      const box = canvas.getBoundingClientRect();
      return { left: box.left + LEFT, top: box.top, cellWidth: layout.cw, unitHeight: layout.uh, rows: layout.rows };
    },
  };
  fromHash();
  update();
  performance.mark("tf-lstm-inside-ready");
  document.body.dataset.ready = "true";
})();
