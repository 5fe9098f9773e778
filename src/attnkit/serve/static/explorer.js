// attnkit explorer: use a served model and inspect its attention. Translation models: the hypotheses and
// the attention map of each. Document classifiers: the class probabilities and the document with its words
// shaded by attention (Yang et al. 2016, fig. 5). Text matchers: the verdict and the co-attention matrix.
// Captioners: an uploaded image with each word's attention over its regions (Xu et al. 2015, fig. 2), or
// a clip's frames with each word's weight per frame. Image classifiers: the classes, and RAM's glimpses.
// Plain JS, no dependencies. The heatmap (translation and matching) is four canvases in a scrolling CSS
// grid: column labels (x axis, sticky on top), row labels (y axis, sticky on the left), the cells (drawn
// once per map and zoom as one pixel per cell, scaled up) and an overlay redrawn on hover (row/column
// bands, the cell's outline).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const el = {
    form: $("query-form"), model: $("model"), modelInfo: $("model-info"), input: $("input"),
    beam: $("beam"), nBest: $("n-best"), submit: $("submit"), status: $("status"), server: $("server"),
    results: $("results"), hypotheses: $("hypotheses"), viewer: $("viewer"), title: $("map-title"),
    layerPicker: $("layer-picker"), layer: $("layer"), zoom: $("zoom"), zoomIn: $("zoom-in"),
    zoomOut: $("zoom-out"), zoomFit: $("zoom-fit"), colorbar: $("colorbar"), scroll: $("heatmap-scroll"),
    heatmap: $("heatmap"), xlabels: $("xlabels"), ylabels: $("ylabels"), cells: $("cells"),
    overlay: $("overlay"), info: $("hover-info"), tooltip: $("tooltip"), absolute: $("absolute"),
    scaleMax: $("scale-max"), corner: $("corner"), document: $("document"), textA: $("text-a"),
    textB: $("text-b"), prediction: $("prediction"), verdict: $("verdict"), probs: $("probs"),
    documentView: $("document-view"), doc: $("doc"), docInfo: $("doc-info"), docLegend: $("doc-legend"),
    directionPicker: $("direction-picker"), direction: $("direction"), imageFile: $("image-file"),
    imageHint: $("image-hint"), imageView: $("image-view"), imageTitle: $("image-title"),
    imageCanvas: $("image-canvas"), captionWords: $("caption-words"), glimpseList: $("glimpse-list"),
    imageInfo: $("image-info"), frameStrip: $("frame-strip"), imageLegend: $("image-legend"),
  };
  const cellBox = el.cells.parentElement;

  const MIN_CELL = 3, MAX_CELL = 48, DEFAULT_MIN_CELL = 12, DEFAULT_MAX_CELL = 28;
  const MAX_CANVAS_PIXELS = 24e6;  // keep backing stores within what browsers allow
  const HOT = "#e8590c", HOT_BAND = "rgba(232, 89, 12, 0.16)", INK = "#1c2430", MUTED = "#667085";
  const FONT = '"DejaVu Sans Mono", ui-monospace, Menlo, Consolas, monospace';

  const WORD_RGB = [31, 119, 180], SENTENCE_RGB = [214, 39, 40];  // as attnkit.viz.highlight draws them
  const TOP_CLASSES = 8;  // classes listed with a bar; the rest are summed up in one line
  const VERBS = { translate: "Translate", classify: "Classify", match: "Match", caption: "Caption",
    classify_images: "Classify" };
  const HOT_RGB = [232, 89, 12];

  const state = {
    models: [], limits: null, task: "translate", view: null, response: null, sentence: 0, hyp: 0, layer: -1,
    pair: null, direction: "ab", map: null, cell: 16, layout: null, hover: null, picture: null,
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
  const rgba = (rgb, alpha) => `rgba(${rgb[0]}, ${rgb[1]}, ${rgb[2]}, ${clamp(alpha, 0, 1).toFixed(3)})`;
  const postJSON = (url, body) => getJSON(url, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
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
      const tasks = new Set(data.models.map(taskOf));
      el.model.replaceChildren(...data.models.map((m) =>
        new Option(tasks.size > 1 ? `${m.name} (${taskOf(m)})` : m.name, m.name)));
      const l = data.limits;
      el.server.textContent = `${data.models.length} model${data.models.length > 1 ? "s" : ""} · ` +
        `≤ ${l.max_chars} characters × ${l.max_batch} texts · beam ≤ ${l.max_beam}`;
      el.beam.max = l.max_beam;
      el.nBest.max = l.max_beam;
      modelChanged();
    } catch (err) {
      el.server.textContent = "server unreachable";
      setStatus(`could not list the models (${err.message})`, true);
    }
  }
  const taskOf = (m) => m.task || "translate";

  function modelChanged() {
    const m = state.models.find((x) => x.name === el.model.value);
    if (!m) return;
    const task = taskOf(m);
    if (task !== state.task) {  // another kind of model: other inputs, and the old answer no longer applies
      state.task = task;
      for (const n of document.querySelectorAll("[data-task]")) n.hidden = !n.dataset.task.split(" ").includes(task);
      for (const panel of [el.results, el.viewer, el.prediction, el.documentView, el.imageView]) panel.hidden = true;
      el.tooltip.hidden = true;
      setStatus("");
    }
    el.submit.textContent = VERBS[task];
    if (task === "classify") { el.modelInfo.textContent = classifierSummary(m); return; }
    if (task === "match") { el.modelInfo.textContent = matcherSummary(m); return; }
    if (task === "caption" || task === "classify_images") { imageModelChanged(m); return; }
    const attn = m.decoder === "none" ? "no attention" : `${m.decoder} (${m.score}` +
      (m.num_heads > 1 ? `, ${m.num_heads} heads` : "") + ")";
    const family = m.cell ? `${m.family}/${m.cell}` : m.family;
    el.modelInfo.textContent = `${family} · ${m.encoder_layers}+${m.decoder_layers} layers · ${attn} · ` +
      `${m.tokenizer} tokens · ` +
      `vocab ${m.src_vocab}→${m.tgt_vocab} · up to ${m.max_len} characters`;
    el.beam.value = Math.min(m.beam, state.limits.max_beam);
    el.nBest.value = Math.min(3, el.beam.value);
  }
  function labelList(labels) {
    return labels.length <= 6 ? labels.join(", ") : `${labels.slice(0, 5).join(", ")}, … (${labels.length})`;
  }
  function classifierSummary(m) {
    const reads = m.max_sentences ? `≤ ${m.max_sentences} sentences × ${m.max_words} words`
      : `≤ ${m.max_words} words`;
    const arch = m.family === "han" ? `han (hidden ${m.hidden_dim})` : `classifier (${m.encoder_layers} layers × ` +
      `${m.num_heads} heads)`;
    return `${arch} · ${m.pooling} pooling · ${m.labels.length} classes: ${labelList(m.labels)} · ` +
      `vocab ${m.vocab} · reads ${reads}`;
  }
  function matcherSummary(m) {
    const attn = m.coattention ? `co-attention (${m.score})` : "no co-attention";
    return `matcher · ${attn} · ${labelList(m.labels)} · vocab ${m.vocab} · reads ≤ ${m.max_words} words a text`;
  }

  // ------------------------------------------------------------------ submit
  async function submit(event) {
    event.preventDefault();
    const run = { translate: submitTranslate, classify: submitClassify, match: submitMatch, caption: submitCaption,
      classify_images: submitImages }[state.task];
    el.submit.disabled = true;
    el.heatmap.dataset.drawn = "0";
    el.imageCanvas.dataset.drawn = el.frameStrip.dataset.drawn = "0";
    const started = performance.now();
    const took = (data) => `model ${fmt(data.elapsed_ms, 0)} ms · round trip ${fmt(performance.now() - started, 0)} ms`;
    try {
      await run(took);
    } catch (err) {
      setStatus(err.message, true);
    } finally {
      el.submit.disabled = false;
    }
  }

  // ------------------------------------------------------------------ translate
  async function submitTranslate(took) {
    const sentences = el.input.value.split("\n").filter((s) => s.trim() !== "");
    if (!sentences.length) { setStatus("type a sentence first", true); return; }
    const body = {
      model: el.model.value || null, sentences, attention: true,
      beam: Number(el.beam.value) || null, n_best: Number(el.nBest.value) || null,
    };
    setStatus("translating…");
    const data = await postJSON("/translate", body);
    const hyps = data.translations.reduce((n, t) => n + t.hypotheses.length, 0);
    setStatus(`${hyps} hypothes${hyps === 1 ? "is" : "es"} · ${took(data)}`);
    state.response = data;
    state.view = "translate";
    state.layer = -1;
    el.directionPicker.hidden = true;
    renderHypotheses();
    select(0, 0, true);
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
    return state.view === "match" ? pairMap() : translationMap();
  }

  function translationMap() {
    const t = state.response.translations[state.sentence];
    const h = t.hypotheses[state.hyp];
    const layer = state.layer >= 0 && h.attention_layers ? h.attention_layers[state.layer] : null;
    return {
      weights: layer ? layer.weights : (h.attention || []), rows: h.tgt_tokens || [], cols: h.src_tokens || [],
      title: `Attention of #${state.hyp + 1} “${h.text.length > 60 ? h.text.slice(0, 59) + "…" : h.text}”` +
        (layer ? ` · layer ${layer.layer} head ${layer.head}` : ""),
      rowName: "target", colName: "source",
      help: "Rows are target tokens, columns source tokens. Hover a cell: how much that target token " +
        "attended to that source token.",
      empty: "This hypothesis has no attention map (a model without attention, or an empty input).",
    };
  }

  // ------------------------------------------------------------------ prediction (classify, match)
  function renderPrediction(result) {
    el.verdict.textContent = result.label;
    const ranked = Object.entries(result.probs).sort((x, y) => y[1] - x[1]);
    const items = ranked.slice(0, TOP_CLASSES).map(([name, p]) => {
      const item = node("li", name === result.label ? "prob best" : "prob");
      const bar = node("span", "bar"), fill = node("span", "fill");
      fill.style.width = `${(clamp(p, 0, 1) * 100).toFixed(1)}%`;
      bar.append(fill);
      item.append(node("span", "name", name), bar, node("span", "value", fmt(p, 3)));
      item.dataset.label = name;
      item.dataset.prob = p;
      return item;
    });
    const rest = ranked.slice(TOP_CLASSES);
    if (rest.length) {
      const total = rest.reduce((sum, [, p]) => sum + p, 0);
      items.push(node("li", "prob more muted", `+ ${rest.length} more classes, together ${fmt(total, 3)}`));
    }
    el.probs.replaceChildren(...items);
    el.prediction.hidden = false;
  }

  // ------------------------------------------------------------------ classify
  async function submitClassify(took) {
    const text = el.document.value;
    if (!text.trim()) { setStatus("type a document first", true); return; }
    el.doc.dataset.drawn = "0";
    setStatus("classifying…");
    const data = await postJSON("/classify", { model: el.model.value || null, texts: [text], attention: true });
    if (state.task !== "classify") return;  // another kind of model was picked meanwhile
    const result = data.results[0];
    setStatus(`${result.label} (p ${fmt(result.probs[result.label], 3)}) · ${took(data)}`);
    renderPrediction(result);
    renderDocument(result);
  }

  // A document as in the HAN paper's figure: one line per sentence, a bar shaded by the sentence weight,
  // then its words, each on a background shaded by its weight times the square root of its sentence's
  // weight (both relative to their largest), so that only the important words of important sentences stand out.
  function renderDocument(result) {
    const tokens = result.tokens || [], words = result.word_weights, sentences = result.sentence_weights;
    const topSentence = sentences ? Math.max(...sentences) : 0;
    const lines = tokens.map((sentence, i) => {
      const line = node("div", sentences ? "line" : "line flat");
      const s = sentences ? sentences[i] : 1;
      const scale = sentences ? (topSentence > 0 ? Math.sqrt(s / topSentence) : 0) : 1;
      if (sentences) {
        const bar = node("span", "sent-bar");
        bar.style.backgroundColor = rgba(SENTENCE_RGB, topSentence > 0 ? s / topSentence : 0);
        bar.dataset.sentence = i;
        bar.dataset.weight = s;
        line.append(bar);
      }
      const text = node("span", "words");
      const row = words ? words[i] || [] : [];
      const topWord = Math.max(0, ...row);
      sentence.forEach((word, j) => {
        const span = node("span", "word", word);
        span.dataset.sentence = i;
        span.dataset.word = j;
        if (words) {
          const shade = topWord > 0 ? (row[j] || 0) / topWord * scale : 0;
          span.style.backgroundColor = rgba(WORD_RGB, shade);
          span.classList.toggle("dark", shade > 0.6);
          span.dataset.weight = row[j] || 0;
          span.dataset.shade = shade.toFixed(4);
        }
        text.append(span, j + 1 < sentence.length ? " " : "");
      });
      line.append(text);
      return line;
    });
    el.doc.replaceChildren(...lines);
    el.docLegend.hidden = !words;
    el.docInfo.textContent = words ? "Hover a word to see its weight" + (sentences ? ", a bar its sentence's." : ".")
      : "This model pools its words without weights: there is no attention to show.";
    el.doc.dataset.sentences = tokens.length;
    el.doc.dataset.words = tokens.reduce((n, s) => n + s.length, 0);
    el.doc.dataset.drawn = "1";
    el.documentView.hidden = false;
  }

  function hoverDocument(target, clientX, clientY) {
    const ds = el.doc.dataset;
    const hot = target && target.closest ? target.closest(".word[data-weight], .sent-bar") : null;
    if (!hot) {
      delete ds.hoverSentence; delete ds.hoverWord;
      el.tooltip.hidden = true;
      return;
    }
    const i = Number(hot.dataset.sentence), weight = Number(hot.dataset.weight);
    const bar = el.doc.querySelectorAll(".line")[i].querySelector(".sent-bar");
    const ofSentence = bar ? ` · sentence ${i + 1}: ${fmt(bar.dataset.weight)}` : "";
    ds.hoverSentence = i;
    if (hot.classList.contains("word")) {
      ds.hoverWord = hot.dataset.word;
      el.docInfo.replaceChildren("word ", node("b", "", hot.textContent),
        ` (sentence ${i + 1}, word ${Number(hot.dataset.word) + 1}): weight ${fmt(weight)}${ofSentence}`);
      el.tooltip.textContent = `${hot.textContent}  ${fmt(weight)}${ofSentence}`;
    } else {
      delete ds.hoverWord;
      el.docInfo.replaceChildren(`sentence ${i + 1}: weight ${fmt(weight)}`);
      el.tooltip.textContent = `sentence ${i + 1}  ${fmt(weight)}`;
    }
    el.tooltip.hidden = false;
    moveTooltip(clientX, clientY);
  }

  // ------------------------------------------------------------------ match
  async function submitMatch(took) {
    const a = el.textA.value, b = el.textB.value;
    if (!a.trim() || !b.trim()) { setStatus("type both texts first", true); return; }
    setStatus("matching…");
    const data = await postJSON("/match", { model: el.model.value || null, pairs: [{ a, b }], attention: true });
    if (state.task !== "match") return;  // another kind of model was picked meanwhile
    const result = data.results[0];
    setStatus(`${result.label} (p ${fmt(result.probs[result.label], 3)}) · ${took(data)}`);
    renderPrediction(result);
    state.pair = result;
    state.view = "match";
    state.direction = el.direction.value = "ab";
    el.layerPicker.hidden = true;
    el.directionPicker.hidden = !result.attn_ab;
    showMap(true);
  }

  function pairMap() {
    const p = state.pair, ab = state.direction === "ab";
    const [rowName, colName] = ab ? ["a", "b"] : ["b", "a"];
    return {
      weights: (ab ? p.attn_ab : p.attn_ba) || [], rows: (ab ? p.tokens_a : p.tokens_b) || [],
      cols: (ab ? p.tokens_b : p.tokens_a) || [], rowName, colName,
      title: `Co-attention ${rowName} → ${colName}: each word of ${rowName} over the words of ${colName}`,
      help: `Rows are the words of ${rowName}, columns the words of ${colName}. Hover a cell: how much that ` +
        `word of ${rowName} attended to that word of ${colName}.`,
      empty: "This matcher compares the texts without co-attention: there is no matrix to show.",
    };
  }

  // ------------------------------------------------------------------ images (caption, classify_images)
  function imageModelChanged(m) {
    const video = m.family === "video_captioner";
    el.imageView.hidden = true;  // another image model: the last picture was its predecessor's
    el.imageFile.multiple = video;
    el.imageHint.textContent = video
      ? `(the clip's ${m.frames} frames as image files, in file-name order; each is read grey at ${m.image_size} px)`
      : `(PNG or JPEG; the model reads it grey, resized to ${m.image_size} × ${m.image_size} px)`;
    if (m.task === "caption") {
      const reads = video ? `clips of ${m.frames} frames` : `images, ${m.grid[0]} × ${m.grid[1]} regions`;
      el.modelInfo.textContent = `${m.family} · ${m.attention} attention · ${reads} of ${m.image_size} px · ` +
        `vocab ${m.vocab} · ≤ ${m.max_words} words`;
      el.beam.value = Math.min(m.beam, state.limits.max_beam);
    } else {
      const looks = m.glimpses ? `${m.glimpses} glimpses of ${m.glimpse_size} px × ${m.scales} scales`
        : "no attention (a CNN)";
      el.modelInfo.textContent = `${m.family} · ${looks} · ${m.labels.length} classes: ${labelList(m.labels)} · ` +
        `${m.image_size} px`;
    }
  }

  const readAsDataURL = (file) => new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(new Error(`could not read ${file.name}`));
    reader.readAsDataURL(file);
  });
  const loadPicture = (url) => new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("the browser cannot show this file as an image"));
    img.src = url;
  });

  async function chosenPictures(m) {
    const files = [...el.imageFile.files].sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
    if (!files.length) throw new Error(m.family === "video_captioner" ? `choose the clip's ${m.frames} frames first`
      : "choose an image first");
    if (m.family === "video_captioner" && files.length !== m.frames) {
      throw new Error(`${files.length} file${files.length > 1 ? "s" : ""} chosen; ${m.name} reads clips of exactly ` +
        `${m.frames} frames`);
    }
    if (m.family !== "video_captioner" && files.length > 1) throw new Error("choose one image");
    const urls = await Promise.all(files.map(readAsDataURL));
    return { urls, pictures: await Promise.all(urls.map(loadPicture)) };
  }

  async function submitCaption(took) {
    const m = state.models.find((x) => x.name === el.model.value);
    const { urls, pictures } = await chosenPictures(m);
    const video = m.family === "video_captioner";
    setStatus("captioning…");
    const body = { model: m.name, beam: Number(el.beam.value) || null, attention: true };
    if (video) body.clips = [urls]; else body.images = urls;
    const data = await postJSON("/caption", body);
    if (state.task !== "caption") return;
    const result = data.results[0];
    setStatus(`“${result.text}” · ${took(data)}`);
    el.prediction.hidden = true;
    state.picture = { model: m, pictures, result, video, word: 0 };
    renderPicture();
  }

  async function submitImages(took) {
    const m = state.models.find((x) => x.name === el.model.value);
    const { urls, pictures } = await chosenPictures(m);
    setStatus("classifying…");
    const data = await postJSON("/classify_images", { model: m.name, images: urls, attention: true });
    if (state.task !== "classify_images") return;
    const result = data.results[0];
    setStatus(`${result.label} (p ${fmt(result.probs[result.label], 3)}) · ${took(data)}`);
    renderPrediction(result);
    state.picture = { model: m, pictures, result, video: false, word: -1 };
    renderPicture();
  }

  function renderPicture() {
    const p = state.picture, r = p.result;
    el.imageView.hidden = false;
    el.frameStrip.hidden = !p.video;
    el.imageCanvas.hidden = p.video;
    el.glimpseList.hidden = !r.glimpses;
    el.captionWords.hidden = !r.tokens;
    el.imageLegend.hidden = !r.tokens;
    if (r.tokens) {
      el.imageTitle.textContent = p.video ? "Which frames each word looked at" : "Where each word looked";
      el.captionWords.replaceChildren(...r.tokens.map((word, t) => {
        const b = node("button", "", word);
        b.type = "button";
        b.dataset.word = t;
        b.setAttribute("aria-pressed", "false");
        b.addEventListener("click", () => selectWord(t));
        b.addEventListener("mouseenter", () => selectWord(t));
        return b;
      }));
      if (p.video) buildFrameStrip();
      selectWord(0);
      return;
    }
    el.imageTitle.textContent = r.glimpses ? "Where RAM looked: its glimpses in order" : "The image as the model reads it";
    drawImageBase();
    if (r.glimpses) drawGlimpses();
    el.imageInfo.textContent = r.glimpses
      ? `${r.glimpses.length} glimpses: the sharpest patch outlined, the wider scales dashed, numbered in order.`
      : "A CNN looks at every pixel at once: it has no attention to show.";
    el.imageCanvas.dataset.drawn = "1";
  }

  function drawImageBase() {  // the picture in grey, as the model reads it, on the whole canvas
    const ctx = el.imageCanvas.getContext("2d"), size = el.imageCanvas.width;
    ctx.save();
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, size, size);
    ctx.filter = "grayscale(1)";
    ctx.drawImage(state.picture.pictures[0], 0, 0, size, size);
    ctx.restore();
    return ctx;
  }

  // One word's weights over the h x w regions, drawn as the paper does: each region's weight relative to
  // the largest, upsampled smoothly over the image (bilinear, by the canvas) in the highlight colour.
  function drawRegionWeights(row, grid) {
    const ctx = drawImageBase(), size = el.imageCanvas.width;
    const [h, w] = grid, top = Math.max(...row);
    const cells = document.createElement("canvas");
    cells.width = w;
    cells.height = h;
    const img = cells.getContext("2d").createImageData(w, h);
    row.forEach((x, i) => img.data.set([...HOT_RGB, Math.round(255 * 0.75 * (top > 0 ? x / top : 0))], i * 4));
    cells.getContext("2d").putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(cells, 0, 0, size, size);
    const peak = row.indexOf(top);
    return { r: Math.floor(peak / w), c: peak % w, x: ((peak % w) + 0.5) * size / w,
      y: (Math.floor(peak / w) + 0.5) * size / h, weight: top };
  }

  function buildFrameStrip() {
    el.frameStrip.replaceChildren(...state.picture.pictures.map((picture, f) => {
      const box = node("div", "frame"), canvas = document.createElement("canvas"), bar = node("span", "weight-bar");
      canvas.width = canvas.height = 72;
      const ctx = canvas.getContext("2d");
      ctx.filter = "grayscale(1)";
      ctx.drawImage(picture, 0, 0, 72, 72);
      bar.append(node("span"));
      box.append(canvas, bar, node("span", "value", `frame ${f}`));
      return box;
    }));
  }

  function selectWord(t) {
    const p = state.picture, r = p.result, row = r.attention[t] || [];
    p.word = t;
    for (const b of el.captionWords.querySelectorAll("button")) b.setAttribute("aria-pressed", String(Number(b.dataset.word) === t));
    const word = r.tokens[t];
    if (p.video) {
      const top = Math.max(...row), best = row.indexOf(top);
      [...el.frameStrip.children].forEach((box, f) => {
        const share = top > 0 ? row[f] / top : 0;
        box.querySelector("canvas").style.borderColor = rgba(HOT_RGB, share);
        box.querySelector(".weight-bar span").style.width = `${(share * 100).toFixed(1)}%`;
        box.querySelector(".value").textContent = `frame ${f} · ${fmt(row[f], 2)}`;
        box.dataset.weight = row[f];
      });
      el.frameStrip.dataset.word = t;
      el.frameStrip.dataset.peak = best;
      el.imageInfo.replaceChildren("word ", node("b", "", word), ` (${t + 1} of ${r.tokens.length}): most weight on ` +
        `frame ${best} (${fmt(top, 3)})`);
      el.frameStrip.dataset.drawn = "1";
      return;
    }
    const peak = drawRegionWeights(row, r.grid);
    Object.assign(el.imageCanvas.dataset, { drawn: "1", word: t, peak: `${peak.x},${peak.y}` });
    el.imageInfo.replaceChildren("word ", node("b", "", word), ` (${t + 1} of ${r.tokens.length}): most weight on ` +
      `region row ${peak.r + 1}, column ${peak.c + 1} of ${r.grid[0]} × ${r.grid[1]} (${fmt(peak.weight, 3)})`);
  }

  // RAM's glimpses (Mnih et al. 2014): the sharpest patch of each outlined, its wider scales dashed, centres
  // joined in the order taken and numbered; the latest is drawn in the highlight colour.
  function drawGlimpses() {
    const p = state.picture, m = p.model, ctx = el.imageCanvas.getContext("2d"), size = el.imageCanvas.width;
    const scale = size / m.image_size, points = p.result.glimpses.map(([x, y]) => [(x + 1) / 2 * size, (y + 1) / 2 * size]);
    ctx.save();
    ctx.lineWidth = 2;
    ctx.strokeStyle = "rgba(130, 177, 218, 0.9)";
    ctx.beginPath();
    points.forEach(([x, y], g) => (g ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.stroke();
    points.forEach(([x, y], g) => {
      const last = g === points.length - 1, colour = last ? `rgb(${HOT_RGB.join(", ")})` : "rgb(130, 177, 218)";
      for (let k = m.scales - 1; k >= 0; k--) {
        const side = m.glimpse_size * 2 ** k * scale;
        ctx.setLineDash(k ? [4, 4] : []);
        ctx.globalAlpha = k ? 0.45 : 1;
        ctx.strokeStyle = colour;
        ctx.strokeRect(x - side / 2, y - side / 2, side, side);
      }
      ctx.setLineDash([]);
      ctx.globalAlpha = 1;
      ctx.fillStyle = colour;
      ctx.font = `bold 13px ${FONT}`;
      ctx.fillText(String(g + 1), x + 3, y - 3);
    });
    ctx.restore();
    el.glimpseList.replaceChildren(...p.result.glimpses.map(([x, y], g) => node("li", "",
      `(${fmt(x, 2)}, ${fmt(y, 2)})` + (g === points.length - 1 ? " · last" : ""))));
    el.imageCanvas.dataset.glimpses = points.length;
    el.imageCanvas.dataset.last = points[points.length - 1].map((v) => v.toFixed(1)).join(",");
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
    el.info.textContent = state.map.help;
    el.corner.title = `rows: ${state.map.rowName} tokens · columns: ${state.map.colName} tokens`;
    el.tooltip.hidden = true;
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
      el.info.textContent = map.empty;
      el.heatmap.dataset.drawn = "0";
    el.imageCanvas.dataset.drawn = el.frameStrip.dataset.drawn = "0";
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
    if (hover.row !== null) {
      parts.push(`${map.rowName} `, node("b", "", shown(map.rows[hover.row])), ` (row ${hover.row + 1})`);
    }
    if (hover.row !== null && hover.col !== null) parts.push(" ← ");
    if (hover.col !== null) {
      parts.push(`${map.colName} `, node("b", "", shown(map.cols[hover.col])), ` (column ${hover.col + 1})`);
    }
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
  el.form.addEventListener("keydown", (e) => {
    if (e.target.tagName === "TEXTAREA" && e.key === "Enter" && (e.ctrlKey || e.metaKey)) el.form.requestSubmit();
  });
  el.direction.addEventListener("change", () => { state.direction = el.direction.value; showMap(false); });
  el.doc.addEventListener("mouseover", (e) => hoverDocument(e.target, e.clientX, e.clientY));
  el.doc.addEventListener("mousemove", (e) => moveTooltip(e.clientX, e.clientY));
  el.doc.addEventListener("mouseleave", () => hoverDocument(null));
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
