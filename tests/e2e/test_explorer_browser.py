"""The explorer page in a real browser: Debian's chromium, headless, driven by Playwright.

A tiny dates model, a tiny document classifier (HAN), a tiny matcher and tiny vision models are trained,
served together by uvicorn on a free loopback port in a background thread, and the page is used as a
person would: type a sentence, translate, hover the heatmap, switch hypotheses, then a 200-character
input; classify a document and hover its shaded words; match two texts and hover their co-attention;
upload an image (a clip's frames) and see each word's attention over it, or RAM's glimpses.
Screenshots go to the test's tmp dir; with ``ATTNKIT_DOCS_SCREENSHOT=1`` one is also copied to
``docs/explorer.png``. ``ATTNKIT_EXPLORER_MODEL=DIR`` serves that translation model instead of the tiny one.
Skipped (with the reason) where chromium or the ``playwright`` package is missing.
"""

import importlib.util
import json
import math
import os
import re
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from attnkit.serve import Limits, create_app

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DOCS = Path(__file__).resolve().parents[2] / "docs"
DATE = "3 de marzo de 1998"
LONG = ("martes, 3 de marzo de 1998; 12/25/07; " * 6)[:200]  # 200 characters = 200 source tokens
HOT = (232, 89, 12)  # the page's highlight colour
WORD_RGB = (31, 119, 180)  # a word of the largest shade
DOCUMENT = "The rain falls on the hills. The chef slices an onion.\nThe striker kicks the ball."
TEXT_A, TEXT_B = "The cook bakes fresh bread.", "A baker stirs the soup and the sauce."


def tiny_helper(file: str):
    """``tests/unit/serve/tiny_labelled.py`` (trains the tiny classifier and matcher) or ``tiny_vision.py``
    (the vision models), one copy per session."""
    name = f"attnkit_tests_{Path(file).stem}"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "unit" / "serve" / file
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def sync_playwright():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium; scripts/test.sh does it as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright Python package is not installed (pip install -e '.[dev]')")
    return sync_playwright


@pytest.fixture(scope="module")
def server_url(sync_playwright, tiny_model_dir, tmp_path_factory):
    import uvicorn

    model_dir = os.environ.get("ATTNKIT_EXPLORER_MODEL") or tiny_model_dir
    labelled = {f"tiny_{kind}": tiny_helper("tiny_labelled.py").tiny_labelled_dir(kind, tmp_path_factory)
                for kind in ("han", "matcher")}
    vision = {f"tiny_{name}": d for name, d in tiny_helper("tiny_vision.py").tiny_vision_dirs(tmp_path_factory).items()}
    # the translation model first: the page opens on it
    app = create_app({Path(model_dir).name: Path(model_dir), **labelled, **vision}, limits=Limits(max_chars=400))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # loopback only, a free port chosen by the OS and held from now on
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def page(sync_playwright, server_url):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 860}, device_scale_factor=1)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            outside: list[str] = []
            page.on("request", lambda r: None if r.url.startswith(server_url) else outside.append(r.url))
            page.goto(server_url + "/")
            yield page
            assert not errors, errors
            assert not outside, f"the page fetched from outside the server: {outside}"
        finally:
            browser.close()


def canvas_stats(page, selector: str) -> dict:
    """Distinct colours and non-white/opaque pixel count of a canvas (read back from the page)."""
    return page.eval_on_selector(selector, """c => {
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        const colours = new Set(); let inked = 0;
        for (let i = 0; i < d.length; i += 4) {
            colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
            if (d[i + 3] > 0 && (d[i] < 245 || d[i + 1] < 245 || d[i + 2] < 245)) inked++;
        }
        return {width: c.width, height: c.height, colours: colours.size, inked};
    }""")


def pixel(page, selector: str, x: float, y: float) -> list[int]:
    return page.eval_on_selector(selector, "(c, [x, y]) => Array.from(c.getContext('2d').getImageData(x, y, 1, 1)"
                                           ".data.slice(0, 3))", [x, y])


def translate(page, text: str, n_best: int) -> dict:
    page.fill("#input", text)
    page.fill("#n-best", str(n_best))
    page.click("#submit")
    page.wait_for_selector('#heatmap[data-drawn="1"]', timeout=30_000)
    return page.eval_on_selector("#heatmap", "h => ({...h.dataset})")


def hover_cell(page, row: int, col: int, cell: float) -> None:
    box = page.locator("#cells").bounding_box()
    page.mouse.move(box["x"] + (col + 0.5) * cell, box["y"] + (row + 0.5) * cell)


def test_explorer_translates_and_draws_attention(page, tmp_path):
    page.wait_for_function("() => document.querySelectorAll('#model option').length > 0")
    assert page.locator("#layer-picker").is_hidden()  # one attention map: no layer/head picker

    info = translate(page, DATE, n_best=2)
    assert int(info["cols"]) == len(DATE) and int(info["rows"]) >= 1
    assert page.locator(".hyp").count() == 2
    assert page.locator('.hyp[aria-pressed="true"]').count() == 1
    cell = float(info["cell"])
    cells = canvas_stats(page, "#cells")
    assert cells["inked"] > 0 and cells["colours"] >= 3, cells  # drawn: coloured cells, not a blank canvas
    assert page.locator("#cells").bounding_box()["width"] == pytest.approx(len(DATE) * cell, abs=1)

    # hover one cell: its row and column light up, and so do both its tokens
    assert canvas_stats(page, "#overlay")["inked"] == 0
    hover_cell(page, 0, 5, cell)
    page.wait_for_function("() => document.querySelector('#heatmap').dataset.hoverCol === '5'")
    assert page.eval_on_selector("#heatmap", "h => h.dataset.hoverRow") == "0"
    assert canvas_stats(page, "#overlay")["inked"] > 0
    assert pixel(page, "#xlabels", (5 + 0.5) * cell, 2) == list(HOT)  # source token (x axis), column 5
    assert pixel(page, "#xlabels", (6 + 0.5) * cell, 2) != list(HOT)
    assert pixel(page, "#ylabels", 2, 0.5 * cell) == list(HOT)  # target token (y axis), row 0
    readout = page.inner_text("#hover-info")
    assert "source m (column 6)" in readout and "(row 1)" in readout
    assert re.search(r"weight [01]\.\d{4}$", readout), readout
    assert page.locator("#tooltip").is_visible()
    page.screenshot(path=str(tmp_path / "explorer.png"))
    if os.environ.get("ATTNKIT_DOCS_SCREENSHOT") == "1":
        shutil.copy(tmp_path / "explorer.png", DOCS / "explorer.png")

    # switch hypothesis: the map is redrawn for the new one
    title = page.inner_text("#map-title")
    page.locator(".hyp").nth(1).click()
    page.wait_for_function("() => document.querySelector('#map-title').textContent.includes('#2')")
    assert page.inner_text("#map-title") != title
    assert page.locator(".hyp").nth(1).get_attribute("aria-pressed") == "true"
    assert page.eval_on_selector("#heatmap", "h => h.dataset.hoverRow") is None  # hover reset on redraw
    assert canvas_stats(page, "#cells")["inked"] > 0

    # a 200-token input: a 200-column map, drawn quickly, scrollable, every cell reachable
    info = translate(page, LONG, n_best=1)
    rows, cols, cell = int(info["rows"]), int(info["cols"]), float(info["cell"])
    assert cols == 200 and rows >= 1
    assert float(info["drawMs"]) < 1000, info
    stats = canvas_stats(page, "#cells")
    assert stats["inked"] > 0 and stats["colours"] >= 3  # the colour scale ends at the map's max weight
    assert float(page.inner_text("#scale-max")) <= 1
    page.check("#absolute")  # 0-1 scale: a different picture, same map
    assert page.inner_text("#scale-max") == "1" and canvas_stats(page, "#cells") != stats
    page.uncheck("#absolute")
    assert page.locator("#cells").bounding_box()["width"] == pytest.approx(200 * cell, abs=1)
    assert cell >= 12  # labels stay readable: the map scrolls instead of shrinking
    assert page.eval_on_selector("#heatmap-scroll", "s => s.scrollWidth > s.clientWidth")
    page.eval_on_selector("#heatmap-scroll", "s => { s.scrollIntoView(); s.scrollLeft = s.scrollWidth; }")
    box = page.locator("#heatmap-scroll").bounding_box()
    page.mouse.move(box["x"] + box["width"] - 30, box["y"] + box["height"] / 2)
    page.wait_for_function("() => Number(document.querySelector('#heatmap').dataset.hoverCol) >= 190")
    assert int(page.eval_on_selector("#heatmap", "h => h.dataset.hoverCol")) >= 190
    page.screenshot(path=str(tmp_path / "explorer-200.png"))
    page.click("#zoom-fit")  # zoom out to the whole width
    page.wait_for_function(f"() => Number(document.querySelector('#heatmap').dataset.cell) < {cell}")
    page.screenshot(path=str(tmp_path / "explorer-200-fit.png"))
    print(f"screenshots in {tmp_path}; 200-token map: {rows}x{cols}, drawn in {info['drawMs']} ms")


def synthetic_response(n: int, heads: list[tuple[int, int]]) -> dict:
    """A /translate answer with an n x n map per (layer, head), each a band around a shifted diagonal."""
    def band(shift: int, width: float) -> list[list[float]]:
        rows = []
        for i in range(n):
            w = [math.exp(-((i + shift - j) ** 2) / (2 * width**2)) for j in range(n)]
            total = sum(w)
            rows.append([round(x / total, 4) for x in w])
        return rows

    tokens = [f"t{i}" for i in range(n)]
    layers = [{"layer": l, "head": h, "weights": band(3 * (h - l), 1.5 + l + h)} for l, h in heads]
    hyp = {"text": " ".join(tokens), "score": -1.0, "norm_score": -0.5, "src_tokens": [f"s{j}" for j in range(n)],
           "tgt_tokens": tokens, "attention": band(0, 2.0), "attention_layers": layers}
    return {"model": "synthetic", "beam": 1, "n_best": 1, "elapsed_ms": 1.0,
            "translations": [{"source": "synthetic", "hypotheses": [hyp]}]}


def test_explorer_200x200_map_with_layers_and_heads(page, tmp_path):
    """What a multi-layer, multi-head model would answer (none is served yet): the picker and a 200x200 map."""
    body = json.dumps(synthetic_response(200, [(0, 0), (0, 1), (1, 0), (1, 1)]))
    page.route("**/translate", lambda route: route.fulfill(status=200, content_type="application/json", body=body))
    page.wait_for_function("() => document.querySelectorAll('#model option').length > 0")
    info = translate(page, "synthetic", n_best=1)
    assert (int(info["rows"]), int(info["cols"])) == (200, 200)
    assert float(info["drawMs"]) < 1000, info
    default = canvas_stats(page, "#cells")
    assert default["inked"] > 0 and default["colours"] >= 3
    assert page.locator("#layer-picker").is_visible()
    assert page.locator("#layer option").all_inner_texts() == [
        "default map", "layer 0 · head 0", "layer 0 · head 1", "layer 1 · head 0", "layer 1 · head 1"]
    page.select_option("#layer", label="layer 1 · head 1")
    page.wait_for_function("() => document.querySelector('#map-title').textContent.includes('layer 1 head 1')")
    assert canvas_stats(page, "#cells") != default
    # the last cell is reachable: scroll to the corner and hover it
    page.eval_on_selector("#heatmap-scroll", "s => { s.scrollIntoView(); s.scrollLeft = s.scrollWidth; "
                                             "s.scrollTop = s.scrollHeight; }")
    box = page.locator("#cells").bounding_box()
    cell = float(info["cell"])
    page.mouse.move(box["x"] + 199.5 * cell, box["y"] + 199.5 * cell)
    page.wait_for_function("() => document.querySelector('#heatmap').dataset.hoverRow === '199'")
    assert page.eval_on_selector("#heatmap", "h => h.dataset.hoverCol") == "199"
    assert "target t199 (row 200)" in page.inner_text("#hover-info")
    page.screenshot(path=str(tmp_path / "explorer-200x200.png"))


def choose_model(page, name: str) -> None:
    page.wait_for_function("() => document.querySelectorAll('#model option').length > 0")
    page.select_option("#model", value=name)


def test_explorer_classifies_and_shades_words(page, tmp_path):
    choose_model(page, "tiny_han")
    assert page.locator("#document").is_visible() and page.locator("#input").is_hidden()
    assert page.locator("#beam").is_hidden() and page.inner_text("#submit") == "Classify"
    assert "3 classes: kitchen, sport, weather" in page.inner_text("#model-info")
    page.fill("#document", DOCUMENT)
    page.click("#submit")
    page.wait_for_selector('#doc[data-drawn="1"]', timeout=30_000)

    # the prediction: a bar per class, the predicted one first and widest
    label = page.inner_text("#verdict")
    probs = page.eval_on_selector_all("#probs .prob", "ps => ps.map(p => [p.dataset.label, Number(p.dataset.prob), "
                                                      "p.querySelector('.fill').getBoundingClientRect().width])")
    assert sorted(p[0] for p in probs) == ["kitchen", "sport", "weather"] and probs[0][0] == label
    assert sum(p[1] for p in probs) == pytest.approx(1, abs=1e-3)
    assert [p[2] for p in probs] == sorted((p[2] for p in probs), reverse=True) and probs[0][2] > 0

    # the words: one span each, shaded by word weight x sqrt(sentence weight), each relative to its largest
    bars = page.eval_on_selector_all("#doc .sent-bar", "bs => bs.map(b => Number(b.dataset.weight))")
    words = page.eval_on_selector_all("#doc .word", """ws => ws.map(w => ({text: w.textContent,
        sentence: Number(w.dataset.sentence), weight: Number(w.dataset.weight), shade: Number(w.dataset.shade),
        background: getComputedStyle(w).backgroundColor}))""")
    assert len(bars) == 3 and sum(bars) == pytest.approx(1, abs=1e-3)
    assert [w["text"] for w in words][:7] == ["The", "rain", "falls", "on", "the", "hills", "."] and len(words) == 19
    for w in words:
        top = max(x["weight"] for x in words if x["sentence"] == w["sentence"])
        assert w["shade"] == pytest.approx(w["weight"] / top * math.sqrt(bars[w["sentence"]] / max(bars)), abs=1e-3)
    assert max(w["shade"] for w in words) == 1  # the heaviest word of the heaviest sentence
    darkest = max(words, key=lambda w: w["shade"])["background"]
    assert darkest == "rgb({}, {}, {})".format(*WORD_RGB)
    assert len({w["background"] for w in words}) >= 5  # shaded by weight, not one colour

    # hover a word: its weight in the tooltip and the readout
    page.locator("#doc .word").nth(1).hover()
    page.wait_for_function("() => document.querySelector('#doc').dataset.hoverWord === '1'")
    tooltip = page.inner_text("#tooltip")
    assert page.locator("#tooltip").is_visible() and tooltip.startswith(f"rain {words[1]['weight']:.4f}")
    assert f"word rain (sentence 1, word 2): weight {words[1]['weight']:.4f}" in page.inner_text("#doc-info")
    page.screenshot(path=str(tmp_path / "explorer-classify.png"))
    print(f"screenshot in {tmp_path}")


def test_explorer_matches_and_draws_coattention(page, tmp_path):
    choose_model(page, "tiny_matcher")
    assert page.locator("#text-a").is_visible() and page.locator("#text-b").is_visible()
    assert page.locator("#document").is_hidden() and page.inner_text("#submit") == "Match"
    page.fill("#text-a", TEXT_A)
    page.fill("#text-b", TEXT_B)
    page.click("#submit")
    page.wait_for_selector('#heatmap[data-drawn="1"]', timeout=30_000)
    info = page.eval_on_selector("#heatmap", "h => ({...h.dataset})")
    assert (int(info["rows"]), int(info["cols"])) == (6, 9)  # the words of a x the words of b
    assert page.inner_text("#verdict") in ("match", "different") and page.locator("#probs .prob").count() == 2
    assert page.locator("#results").is_hidden() and page.locator("#layer-picker").is_hidden()
    assert "a → b" in page.inner_text("#map-title")
    cells = canvas_stats(page, "#cells")
    assert cells["inked"] > 0 and cells["colours"] >= 3, cells

    # hover a cell: both words light up on their axes, and the readout names them
    cell = float(info["cell"])
    hover_cell(page, 1, 2, cell)
    page.wait_for_function("() => document.querySelector('#heatmap').dataset.hoverCol === '2'")
    assert pixel(page, "#xlabels", 2.5 * cell, 2) == list(HOT) and pixel(page, "#ylabels", 2, 1.5 * cell) == list(HOT)
    readout = page.inner_text("#hover-info")
    assert "a cook (row 2) ← b stirs (column 3)" in readout and re.search(r"weight [01]\.\d{4}$", readout)
    page.screenshot(path=str(tmp_path / "explorer-match.png"))

    # the other direction: b over a, the matrix turned
    page.select_option("#direction", value="ba")
    page.wait_for_function("() => document.querySelector('#map-title').textContent.includes('b → a')")
    assert page.eval_on_selector("#heatmap", "h => [h.dataset.rows, h.dataset.cols]") == ["9", "6"]

    # back to the translation model: its input returns and the matcher's answer is put away
    page.select_option("#model", index=0)
    assert page.locator("#input").is_visible() and page.locator("#text-a").is_hidden()
    assert page.locator("#viewer").is_hidden() and page.locator("#prediction").is_hidden()
    assert page.inner_text("#submit") == "Translate"


def write_png(path: Path, array) -> str:
    from PIL import Image

    Image.fromarray(array).save(path)
    return str(path)


def test_explorer_captions_an_image_and_shows_each_words_attention(page, tmp_path):
    from attnkit.data import make_scenes

    choose_model(page, "tiny_scenes")
    assert page.locator("#image-file").is_visible() and page.locator("#input").is_hidden()
    assert page.locator("#beam").is_visible() and page.inner_text("#submit") == "Caption"
    assert "8 × 8 regions" in page.inner_text("#model-info")
    page.click("#submit")  # nothing chosen yet: a message, no request
    assert "choose an image first" in page.inner_text("#status")
    page.set_input_files("#image-file", write_png(tmp_path / "scene.png", make_scenes("test", 1)[0].image))
    page.fill("#beam", "1")
    page.click("#submit")
    page.wait_for_selector('#image-canvas[data-drawn="1"]', timeout=30_000)
    words = page.locator("#caption-words button")
    assert words.count() >= 1 and words.nth(0).get_attribute("aria-pressed") == "true"
    x, y = (float(v) for v in page.eval_on_selector("#image-canvas", "c => c.dataset.peak").split(","))
    r, g, b = pixel(page, "#image-canvas", x, y)
    assert r > g + 60 and r > b + 60, (r, g, b)  # the highlight colour lies over the peak region
    assert "most weight on region row" in page.inner_text("#image-info")
    if words.count() > 1:
        words.nth(1).hover()
        page.wait_for_function("() => document.querySelector('#image-canvas').dataset.word === '1'")
    page.screenshot(path=str(tmp_path / "explorer-caption.png"))


def test_explorer_captions_a_clip_frame_by_frame(page, tmp_path):
    from attnkit.data import make_clips

    choose_model(page, "tiny_clips")
    assert "clips of 7 frames" in page.inner_text("#model-info")
    frames = make_clips("test", 1, frames=7)[0].frames
    paths = [write_png(tmp_path / f"frame{f}.png", frame) for f, frame in enumerate(frames)]
    page.set_input_files("#image-file", paths[:3])
    page.click("#submit")
    assert "3 files chosen" in page.inner_text("#status")
    page.set_input_files("#image-file", paths)
    page.click("#submit")
    page.wait_for_selector('#frame-strip[data-drawn="1"]', timeout=30_000)
    weights = page.eval_on_selector_all("#frame-strip .frame", "fs => fs.map(f => Number(f.dataset.weight))")
    assert len(weights) == 7 and sum(weights) == pytest.approx(1, abs=2e-3)
    peak = int(page.eval_on_selector("#frame-strip", "s => s.dataset.peak"))
    assert weights[peak] == max(weights) and page.locator("#image-canvas").is_hidden()
    page.screenshot(path=str(tmp_path / "explorer-clip.png"))


def test_explorer_draws_ram_glimpses(page, tmp_path):
    import numpy as np

    from attnkit.data import make_cluttered

    choose_model(page, "tiny_ram")
    assert page.inner_text("#submit") == "Classify" and page.locator("#beam").is_hidden()
    image = np.round(make_cluttered("test", 1)[0][0] * 255).astype(np.uint8)
    page.set_input_files("#image-file", write_png(tmp_path / "cluttered.png", image))
    page.click("#submit")
    page.wait_for_selector('#image-canvas[data-drawn="1"]', timeout=30_000)
    assert page.eval_on_selector("#image-canvas", "c => c.dataset.glimpses") == "3"
    assert page.locator("#glimpse-list li").count() == 3 and page.locator("#probs .prob[data-label]").count() == 8
    assert page.inner_text("#verdict")
    page.screenshot(path=str(tmp_path / "explorer-ram.png"))
    choose_model(page, "tiny_cnn")  # a CNN: the classes, and a note that there is no attention
    page.set_input_files("#image-file", str(tmp_path / "cluttered.png"))
    page.click("#submit")
    page.wait_for_selector('#image-canvas[data-drawn="1"]', timeout=30_000)
    assert "no attention" in page.inner_text("#image-info") and page.locator("#glimpse-list").is_hidden()
