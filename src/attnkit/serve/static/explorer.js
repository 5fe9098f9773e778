// attnkit explorer: translate with a served model and inspect the attention of each hypothesis.
// Plain JS, no dependencies. The heatmap is four canvases in a scrolling CSS grid: source labels (x axis,
// sticky on top), target labels (y axis, sticky on the left), the cells (drawn once per map and zoom as
// one pixel per cell, scaled up) and an overlay redrawn on hover (row/column bands, the cell's outline).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const el = {
    form: $("translate-form"), model: $("model"), modelInfo: $("model-info"), input: $("input"),
    beam: $("beam"), nBest: $("n-best"), submit: $("submit"), status: $("status"), server: $("server"),
    results: $("results"), hypotheses: $("hypotheses"), viewer: $("viewer"), title: $("map-title"),
    layerPicker: $("layer-picker"), layer: $("layer"), zoom: $("zoom"), zoomIn: $("zoom-in"),
    zoomOut: $("zoom-out"), zoomFit: $("zoom-fit"), colorbar: $("colorbar"), scroll: $("heatmap-scroll"),
    heatmap: $("heatmap"), xlabels: $("xlabels"), ylabels: $("ylabels"), cells: $("cells"),
    overlay: $("overlay"), info: $("hover-info"), tooltip: $("tooltip"), absolute: $("absolute"),
    scaleMax: $("scale-max"),
  };
  const cellBox = el.cells.parentElement;

  const MIN_CELL = 3, MAX_CELL = 48, DEFAULT_MIN_CELL = 12, DEFAULT_MAX_CELL = 28;
  const MAX_CANVAS_PIXELS = 24e6;  // keep backing stores within what browsers allow
  const HOT = "#e8590c", HOT_BAND = "rgba(232, 89, 12, 0.16)", INK = "#1c2430", MUTED = "#667085";
  const FONT = '"DejaVu Sans Mono", ui-monospace, Menlo, Consolas, monospace';

  const state = {
    models: [], limits: null, response: null, sentence: 0, hyp: 0, layer: -1,
    map: null, cell: 16, layout: null, hover: null,
  };

  // ------------------------------------------------------------------ colour scale (weight 0..1)
  const STOPS = [[0, [248, 250, 252]], [0.12, [214, 229, 242]], [0.35, [130, 177, 218]],
    [0.65, [44, 105, 174]], [1, [11, 33, 86]]];
  const LUT = (() => {
    const lut = new Uint8ClampedArray(256 * 3);
    for (let i = 0; i < 256; i++) {
      const t = i / 255;
      let k = 0;
      while (k < STOPS.length - 2 && t > STOPS[k + 1][0]) k++;
      const [t0, c0] = STOPS[k], [t1, c1] = STOPS[k + 1];
      const f = (t - t0) / (t1 - t0);
      for (let c = 0; c < 3; c++) lut[i * 3 + c] = c0[c] + f * (c1[c] - c0[c]);
    }
    return lut;
  })();
  const lutIndex = (w) => Math.max(0, Math.min(255, Math.round(w * 255)));

  function drawColorbar() {
    const ctx = el.colorbar.getContext("2d");
    const img = ctx.createImageData(el.colorbar.width, el.colorbar.height);
    for (let x = 0; x < img.width; x++) {
      const i = lutIndex(x / (img.width - 1)) * 3;
      for (let y = 0; y < img.height; y++) img.data.set([LUT[i], LUT[i + 1], LUT[i + 2], 255], (y * img.width + x) * 4);
    }
    ctx.putImageData(img, 0, 0);
  }

  // ------------------------------------------------------------------ helpers
  const clamp = (x, lo, hi) => Math.max(lo, Math.min(hi, x));
  const fmt = (x, d = 4) => Number(x).toFixed(d);
  function shown(token) {  // visible spaces, bounded length
    const t = token === " " || token === "▁" ? "␣" : token === "" ? "∅" : token;
    return t.length > 24 ? t.slice(0, 23) + "…" : t;
  }
  function setStatus(text, isError = false) {
    el.status.textContent = text;
    el.status.classList.toggle("error", isError);
  }
  function node(tag, cls, text) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }
  async function getJSON(url, options) {
    const res = await fetch(url, options);
    let body = null;
    try { body = await res.json(); } catch (_) { /* not JSON */ }
    if (!res.ok) {
      const detail = body && (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail));
      throw new Error(`${res.status}: ${detail || res.statusText}`);
    }
    return body;
  }

  // ------------------------------------------------------------------ models
  async function loadModels() {
    try {
      const data = await getJSON("/models");
      state.models = data.models;
      state.limits = data.limits;
      el.model.replaceChildren(...data.models.map((m) => new Option(m.name, m.name)));
      const l = data.limits;
      el.server.textContent = `${data.models.length} model${data.models.length > 1 ? "s" : ""} · ` +
        `≤ ${l.max_chars} characters × ${l.max_batch} sentences · beam ≤ ${l.max_beam}`;
      el.beam.max = l.max_beam;
      el.nBest.max = l.max_beam;
      modelChanged();
    } catch (err) {
      el.server.textContent = "server unreachable";
      setStatus(`could not list the models (${err.message})`, true);
    }
  }
  function modelChanged() {
    const m = state.models.find((x) => x.name === el.model.value);
    if (!m) return;
    const attn = m.decoder === "none" ? "no attention" : `${m.decoder} (${m.score}` +
      (m.num_heads > 1 ? `, ${m.num_heads} heads` : "") + ")";
    const family = m.cell ? `${m.family}/${m.cell}` : m.family;
    el.modelInfo.textContent = `${family} · ${m.encoder_layers}+${m.decoder_layers} layers · ${attn} · ` +
      `${m.tokenizer} tokens · ` +
      `vocab ${m.src_vocab}→${m.tgt_vocab} · up to ${m.max_len} characters`;
    el.beam.value = Math.min(m.beam, state.limits.max_beam);
    el.nBest.value = Math.min(3, el.beam.value);
  }

  // ------------------------------------------------------------------ translate
  async function submit(event) {
    event.preventDefault();
    const sentences = el.input.value.split("\n").filter((s) => s.trim() !== "");
    if (!sentences.length) { setStatus("type a sentence first", true); return; }
    const body = {
      model: el.model.value || null, sentences, attention: true,
      beam: Number(el.beam.value) || null, n_best: Number(el.nBest.value) || null,
    };
    el.submit.disabled = true;
    el.heatmap.dataset.drawn = "0";
    setStatus("translating…");
    const started = performance.now();
    try {
      const data = await getJSON("/translate", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      const hyps = data.translations.reduce((n, t) => n + t.hypotheses.length, 0);
      setStatus(`${hyps} hypothes${hyps === 1 ? "is" : "es"} · model ${fmt(data.elapsed_ms, 0)} ms · ` +
        `round trip ${fmt(performance.now() - started, 0)} ms`);
      state.response = data;
      state.layer = -1;
      renderHypotheses();
      select(0, 0, true);
    } catch (err) {
      setStatus(err.message, true);
    } finally {
      el.submit.disabled = false;
    }
  }

  function renderHypotheses() {
    const groups = state.response.translations.map((t, s) => {
      const group = node("div", "sentence");
      group.append(node("div", "src", `${s + 1}. ${t.source}`));
      const list = node("ol", "hyps");
      t.hypotheses.forEach((h, k) => {
        const button = node("button", "hyp");
        button.type = "button";
        button.dataset.sentence = s;
        button.dataset.hyp = k;
        button.setAttribute("aria-pressed", "false");
        button.append(node("span", "rank", `#${k + 1}`), node("span", "text", h.text || "(empty)"),
          node("span", "score", `norm ${fmt(h.norm_score, 3)} · log p ${fmt(h.score, 2)}`));
        button.addEventListener("click", () => select(s, k, false));
        const item = node("li");
        item.append(button);
        list.append(item);
      });
      group.append(list);
      return group;
    });
    el.hypotheses.replaceChildren(...groups);
    el.results.hidden = false;
  }

  function select(sentence, hyp, newResponse) {
    state.sentence = sentence;
    state.hyp = hyp;
    for (const b of el.hypotheses.querySelectorAll(".hyp")) {
      const on = Number(b.dataset.sentence) === sentence && Number(b.dataset.hyp) === hyp;
      b.setAttribute("aria-pressed", String(on));
    }
    const h = state.response.translations[sentence].hypotheses[hyp];
    const layers = h.attention_layers || [];
    el.layerPicker.hidden = layers.length < 2;
    if (layers.length >= 2) {
      const options = [new Option("default map", "-1")];
      layers.forEach((l, i) => options.push(new Option(`layer ${l.layer} · head ${l.head}`, String(i))));
      el.layer.replaceChildren(...options);
      if (state.layer >= layers.length) state.layer = -1;
      el.layer.value = String(state.layer < 0 ? -1 : state.layer);
    } else {
      state.layer = -1;
    }
    showMap(newResponse);
  }

  function currentMap() {
    const t = state.response.translations[state.sentence];
    const h = t.hypotheses[state.hyp];
    const layer = state.layer >= 0 && h.attention_layers ? h.attention_layers[state.layer] : null;
    return {
      weights: layer ? layer.weights : (h.attention || []), rows: h.tgt_tokens || [], cols: h.src_tokens || [],
      title: `Attention of #${state.hyp + 1} “${h.text.length > 60 ? h.text.slice(0, 59) + "…" : h.text}”` +
        (layer ? ` · layer ${layer.layer} head ${layer.head}` : ""),
    };
  }

  // ------------------------------------------------------------------ heatmap
  function fitCell(map) {
    const labelW = state.layout ? state.layout.labelW : 80;
    return clamp(Math.floor((el.scroll.clientWidth - labelW - 4) / Math.max(1, map.cols.length)), MIN_CELL, MAX_CELL);
  }

  function showMap(resetZoom) {
    state.map = currentMap();
    state.hover = null;
    el.viewer.hidden = false;
    el.title.textContent = state.map.title;
    if (resetZoom) state.cell = clamp(fitCell(state.map), DEFAULT_MIN_CELL, DEFAULT_MAX_CELL);
    draw();
    if (resetZoom) { el.scroll.scrollLeft = 0; el.scroll.scrollTop = 0; }
  }

  function sizeCanvas(canvas, w, h) {
    const dpr = Math.min(window.devicePixelRatio || 1, Math.sqrt(MAX_CANVAS_PIXELS / Math.max(1, w * h)));
    canvas.width = Math.max(1, Math.floor(w * dpr));
    canvas.height = Math.max(1, Math.floor(h * dpr));
    canvas.style.width = `${w}px`;
    canvas.style.height = `${h}px`;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(canvas.width / w, 0, 0, canvas.height / h, 0, 0);
    return ctx;
  }

  function computeLayout(map, cell) {
    const fontPx = clamp(Math.round(cell * 0.72), 9, 14);
    const ctx = el.xlabels.getContext("2d");
    ctx.font = `${fontPx}px ${FONT}`;
    const widest = (tokens) => tokens.reduce((w, t) => Math.max(w, ctx.measureText(shown(t)).width), 0);
    const colW = widest(map.cols), upright = colW <= cell - 2;  // characters fit upright; words are turned
    return {
      cell, fontPx, upright,
      every: Math.max(1, Math.ceil((upright ? colW + 2 : fontPx + 1) / cell)),  // labels never overlap
      labelH: upright ? fontPx + 12 : Math.ceil(Math.min(colW, 150)) + 12,
      labelW: Math.ceil(Math.min(widest(map.rows), 180)) + 14,
      width: map.cols.length * cell, height: map.rows.length * cell,
    };
  }

  function draw() {
    const started = performance.now();
    const map = state.map;
    const rows = map.rows.length, cols = map.cols.length;
    el.heatmap.dataset.rows = rows;
    el.heatmap.dataset.cols = cols;
    if (!rows || !cols || !map.weights.length) {
      el.heatmap.hidden = true;
      el.info.textContent = "This hypothesis has no attention map (a model without attention, or an empty input).";
      el.heatmap.dataset.drawn = "0";
      return;
    }
    el.heatmap.hidden = false;
    const L = (state.layout = computeLayout(map, state.cell));
    el.zoom.value = L.cell;
    el.heatmap.style.gridTemplateColumns = `${L.labelW}px ${L.width}px`;
    el.heatmap.style.gridTemplateRows = `${L.labelH}px ${L.height}px`;
    drawCells(map, L);
    sizeCanvas(el.overlay, L.width, L.height);
    drawLabels();
    drawOverlay();
    el.heatmap.dataset.cell = L.cell;
    el.heatmap.dataset.drawMs = (performance.now() - started).toFixed(1);
    el.heatmap.dataset.drawn = "1";
  }

  function drawCells(map, L) {
    const rows = map.rows.length, cols = map.cols.length;
    const pixels = document.createElement("canvas");  // one pixel per cell, scaled up without smoothing
    pixels.width = cols;
    pixels.height = rows;
    const pctx = pixels.getContext("2d");
    const img = pctx.createImageData(cols, rows);
    // Over 200 source tokens even a sharp row has small weights: by default the scale ends at the map's max.
    let top = 0;
    if (!el.absolute.checked) for (const row of map.weights) for (const w of row) top = Math.max(top, w);
    const scale = top > 0 ? 1 / top : 1;
    el.scaleMax.textContent = top > 0 ? fmt(top, 3) : "1";
    for (let i = 0; i < rows; i++) {
      const row = map.weights[i] || [];
      for (let j = 0; j < cols; j++) {
        const c = lutIndex((row[j] || 0) * scale) * 3, p = (i * cols + j) * 4;
        img.data[p] = LUT[c]; img.data[p + 1] = LUT[c + 1]; img.data[p + 2] = LUT[c + 2]; img.data[p + 3] = 255;
      }
    }
    pctx.putImageData(img, 0, 0);
    const ctx = sizeCanvas(el.cells, L.width, L.height);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(pixels, 0, 0, L.width, L.height);
    if (L.cell >= 8) {  // hairlines between cells once they are big enough to tell apart
      ctx.strokeStyle = "rgba(255, 255, 255, 0.55)";
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let j = 1; j < cols; j++) { ctx.moveTo(j * L.cell + 0.5, 0); ctx.lineTo(j * L.cell + 0.5, L.height); }
      for (let i = 1; i < rows; i++) { ctx.moveTo(0, i * L.cell + 0.5); ctx.lineTo(L.width, i * L.cell + 0.5); }
      ctx.stroke();
    }
  }

  function drawLabels() {
    const map = state.map, L = state.layout, hover = state.hover || {};
    // x axis: source tokens, written bottom-up above their column
    let ctx = sizeCanvas(el.xlabels, L.width, L.labelH);
    ctx.font = `${L.fontPx}px ${FONT}`;
    ctx.textBaseline = "middle";
    ctx.textAlign = L.upright ? "center" : "left";
    map.cols.forEach((tok, j) => {
      const hot = j === hover.col;
      if (!hot && j % L.every) return;
      const x = j * L.cell + L.cell / 2;
      if (hot) {
        ctx.fillStyle = HOT;
        ctx.fillRect(j * L.cell, 0, L.cell, L.labelH);
      }
      ctx.save();
      if (L.upright) {
        ctx.translate(x, L.labelH / 2);
      } else {
        ctx.translate(x, L.labelH - 5);
        ctx.rotate(-Math.PI / 2);
      }
      ctx.font = `${hot ? "bold " : ""}${L.fontPx}px ${FONT}`;
      ctx.fillStyle = hot ? "#fff" : INK;
      ctx.fillText(shown(tok), 0, 0);
      ctx.restore();
    });
    // y axis: target tokens, right-aligned beside their row
    ctx = sizeCanvas(el.ylabels, L.labelW, L.height);
    ctx.textBaseline = "middle";
    ctx.textAlign = "right";
    map.rows.forEach((tok, i) => {
      const hot = i === hover.row;
      if (!hot && i % L.every) return;
      if (hot) {
        ctx.fillStyle = HOT;
        ctx.fillRect(0, i * L.cell, L.labelW, L.cell);
      }
      ctx.font = `${hot ? "bold " : ""}${L.fontPx}px ${FONT}`;
      ctx.fillStyle = hot ? "#fff" : tok === "</s>" ? MUTED : INK;
      ctx.fillText(shown(tok), L.labelW - 6, i * L.cell + L.cell / 2);
    });
  }

  function drawOverlay() {
    const L = state.layout, ctx = el.overlay.getContext("2d"), h = state.hover;
    ctx.clearRect(0, 0, L.width, L.height);
    if (!h) return;
    ctx.fillStyle = HOT_BAND;
    if (h.row !== null) ctx.fillRect(0, h.row * L.cell, L.width, L.cell);
    if (h.col !== null) ctx.fillRect(h.col * L.cell, 0, L.cell, L.height);
    if (h.row !== null && h.col !== null) {
      ctx.strokeStyle = HOT;
      ctx.lineWidth = 2;
      ctx.strokeRect(h.col * L.cell + 1, h.row * L.cell + 1, Math.max(1, L.cell - 2), Math.max(1, L.cell - 2));
    }
  }

  function setHover(hover, clientX, clientY) {
    const old = state.hover;
    if (old && hover && old.row === hover.row && old.col === hover.col) { moveTooltip(clientX, clientY); return; }
    state.hover = hover;
    drawLabels();
    drawOverlay();
    const map = state.map, ds = el.heatmap.dataset;
    if (!hover) {
      delete ds.hoverRow; delete ds.hoverCol;
      el.tooltip.hidden = true;
      return;
    }
    ds.hoverRow = hover.row ?? "";
    ds.hoverCol = hover.col ?? "";
    const parts = [];
    if (hover.row !== null) parts.push("target ", node("b", "", shown(map.rows[hover.row])), ` (row ${hover.row + 1})`);
    if (hover.row !== null && hover.col !== null) parts.push(" ← ");
    if (hover.col !== null) parts.push("source ", node("b", "", shown(map.cols[hover.col])), ` (column ${hover.col + 1})`);
    let tip = "";
    if (hover.row !== null && hover.col !== null) {
      const w = (map.weights[hover.row] || [])[hover.col] || 0;
      parts.push(`: weight ${fmt(w)}`);
      tip = `${shown(map.rows[hover.row])} ← ${shown(map.cols[hover.col])}  ${fmt(w)}`;
    }
    el.info.replaceChildren(...parts);
    el.tooltip.textContent = tip;
    el.tooltip.hidden = !tip;
    moveTooltip(clientX, clientY);
  }

  function moveTooltip(x, y) {
    if (el.tooltip.hidden || x === undefined) return;
    el.tooltip.style.left = `${Math.min(x + 14, window.innerWidth - el.tooltip.offsetWidth - 4)}px`;
    el.tooltip.style.top = `${y + 16}px`;
  }

  function cellAt(event) {
    const L = state.layout, r = el.cells.getBoundingClientRect();
    const col = Math.floor((event.clientX - r.left) / L.cell), row = Math.floor((event.clientY - r.top) / L.cell);
    const inside = row >= 0 && col >= 0 && row < state.map.rows.length && col < state.map.cols.length;
    return inside ? { row, col } : null;
  }

  function zoomTo(cell, anchor) {
    if (!state.map) return;
    cell = clamp(Math.round(cell), MIN_CELL, MAX_CELL);
    if (cell === state.cell) return;
    // keep the cell under the anchor (the pointer, or the view's centre) in place
    const box = el.scroll.getBoundingClientRect(), L = state.layout;
    const ax = anchor ? anchor.x - box.left : el.scroll.clientWidth / 2;
    const ay = anchor ? anchor.y - box.top : el.scroll.clientHeight / 2;
    const fx = (el.scroll.scrollLeft + ax - L.labelW) / L.cell, fy = (el.scroll.scrollTop + ay - L.labelH) / L.cell;
    state.cell = cell;
    draw();
    el.scroll.scrollLeft = fx * cell + state.layout.labelW - ax;
    el.scroll.scrollTop = fy * cell + state.layout.labelH - ay;
  }

  // ------------------------------------------------------------------ events
  el.form.addEventListener("submit", submit);
  el.model.addEventListener("change", modelChanged);
  el.input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) el.form.requestSubmit();
  });
  el.absolute.addEventListener("change", () => state.map && draw());
  el.layer.addEventListener("change", () => { state.layer = Number(el.layer.value); showMap(false); });
  el.zoom.addEventListener("input", () => zoomTo(Number(el.zoom.value)));
  el.zoomIn.addEventListener("click", () => zoomTo(Math.max(state.cell + 1, state.cell * 1.25)));
  el.zoomOut.addEventListener("click", () => zoomTo(Math.min(state.cell - 1, state.cell / 1.25)));
  el.zoomFit.addEventListener("click", () => state.map && zoomTo(fitCell(state.map)));
  el.scroll.addEventListener("wheel", (e) => {
    if (!e.ctrlKey || !state.map) return;  // plain wheel scrolls; Ctrl+wheel zooms around the pointer
    e.preventDefault();
    zoomTo(state.cell * (e.deltaY < 0 ? 1.15 : 1 / 1.15), { x: e.clientX, y: e.clientY });
  }, { passive: false });

  cellBox.tabIndex = 0;
  cellBox.setAttribute("aria-label", "attention heatmap; arrow keys move between cells");
  cellBox.addEventListener("mousemove", (e) => setHover(cellAt(e), e.clientX, e.clientY));
  cellBox.addEventListener("mouseleave", () => setHover(null));
  el.xlabels.addEventListener("mousemove", (e) => {
    const col = Math.floor((e.clientX - el.xlabels.getBoundingClientRect().left) / state.layout.cell);
    setHover(col >= 0 && col < state.map.cols.length ? { row: null, col } : null);
  });
  el.xlabels.addEventListener("mouseleave", () => setHover(null));
  el.ylabels.addEventListener("mousemove", (e) => {
    const row = Math.floor((e.clientY - el.ylabels.getBoundingClientRect().top) / state.layout.cell);
    setHover(row >= 0 && row < state.map.rows.length ? { row, col: null } : null);
  });
  el.ylabels.addEventListener("mouseleave", () => setHover(null));
  cellBox.addEventListener("keydown", (e) => {
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (!moves[e.key] || !state.map) return;
    e.preventDefault();
    const h = state.hover && state.hover.row !== null && state.hover.col !== null ? state.hover : { row: 0, col: 0 };
    const [dr, dc] = state.hover ? moves[e.key] : [0, 0];
    setHover({ row: clamp(h.row + dr, 0, state.map.rows.length - 1), col: clamp(h.col + dc, 0, state.map.cols.length - 1) });
  });

  drawColorbar();
  loadModels();
})();
