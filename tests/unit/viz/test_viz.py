"""Renderers write real files from AttentionMap objects; bad shapes are refused with a clear message."""

import re
import struct

import numpy as np
import pytest
import torch

from attnkit.viz import AttentionMap, highlight_html, overlay_image, plot_heatmap, upsample
from attnkit.viz.heatmap import heatmap_layout


def _map(rows: int, cols: int, **kwargs) -> AttentionMap:
    w = np.random.default_rng(0).dirichlet(np.ones(cols), size=rows)  # [rows, cols], rows sum to 1
    return AttentionMap(w, [f"tgt{i}" for i in range(rows)], [f"src{j}" for j in range(cols)], **kwargs)


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])  # IHDR width, height


def test_map_accepts_tensors_and_round_trips_through_dict():
    m = AttentionMap(torch.eye(3)[:2], ["a", "b"], ["x", "y", "z"], kind="self", layer=1, head=2)
    assert m.shape == (2, 3) and m.weights.dtype == np.float64
    back = AttentionMap.from_dict(m.to_dict())
    assert back.shape == m.shape and back.row_labels == ["a", "b"] and (back.layer, back.head) == (1, 2)
    np.testing.assert_allclose(back.weights, m.weights)


@pytest.mark.parametrize(("shape", "rows", "cols"), [((2, 3), 3, 3), ((2, 3), 2, 2), ((3,), 3, 1)])
def test_bad_shapes_raise_naming_both(shape, rows, cols):
    with pytest.raises(ValueError) as err:
        AttentionMap(np.zeros(shape), [str(i) for i in range(rows)], [str(j) for j in range(cols)])
    message = str(err.value)
    assert "shape" in message
    if len(shape) == 2:
        assert f"[{shape[0]}, {shape[1]}]" in message and f"{rows} row labels" in message \
            and f"{cols} column labels" in message


def test_nan_weights_raise():
    with pytest.raises(ValueError, match="NaN"):
        AttentionMap(np.array([[np.nan]]), ["a"], ["b"])


def test_png_written_and_grows_with_the_number_of_labels(tmp_path):
    small = plot_heatmap(_map(5, 7, title="small"), tmp_path / "small.png")
    big = plot_heatmap(_map(110, 120, title="big"), tmp_path / "big.png")
    (ws, hs), (wb, hb) = _png_size(small), _png_size(big)
    assert small.stat().st_size > 1000 and big.stat().st_size > small.stat().st_size
    assert wb > 3 * ws and hb > 3 * hs


def test_layout_keeps_every_label_its_own_cell():
    lay = heatmap_layout([f"r{i}" for i in range(150)], [f"c{j}" for j in range(150)])
    assert lay["font"] >= 6
    cell_points = (lay["height"] - lay["top"]) * 72 / 150
    assert cell_points >= lay["font"]  # a label is never taller than its row


def test_svg_contains_every_label_and_the_title(tmp_path):
    m = _map(12, 105, title="forced alignment")
    m.col_labels[3] = "<&$>"  # needs XML escaping and must not turn into mathtext
    svg = plot_heatmap(m, tmp_path / "map.svg").read_text(encoding="utf-8")
    texts = set(re.findall(r"<text[^>]*>([^<]*)</text>", svg))
    texts |= {t.strip() for t in re.findall(r"<!-- ([^>]*) -->", svg)}
    for label in m.row_labels + [c for c in m.col_labels if c != "<&$>"]:
        assert label in texts, label
    assert "&lt;&amp;$&gt;" in svg
    assert "forced alignment" in svg


def test_unknown_suffix_raises(tmp_path):
    with pytest.raises(ValueError, match=r"\.jpg"):
        plot_heatmap(_map(2, 2), tmp_path / "map.jpg")


def test_highlight_html_shades_words_and_sentences(tmp_path):
    doc = highlight_html([["great", "food"], ["slow", "<service>"]], [[0.9, 0.1], [0.3, 0.7]],
                         sentence_weights=[0.8, 0.2], title="review", label="4 stars", path=tmp_path / "h.html")
    assert (tmp_path / "h.html").read_text(encoding="utf-8") == doc
    assert doc.count('class="w"') == 4 and doc.count('class="s"') == 2
    assert "&lt;service&gt;" in doc and "4 stars" in doc
    shades = [float(a) for a in re.findall(r"rgba\(31,119,180,([0-9.]+)\)", doc)]
    # the top word of the top sentence is darkest; the second sentence is dimmed by sqrt(0.2 / 0.8)
    assert shades[0] == pytest.approx(1.0) and shades[3] == pytest.approx(0.5)
    flat = highlight_html(["one", "sentence"], [0.5, 0.5])
    assert flat.count('class="w"') == 2 and 'class="s"' not in flat


def test_highlight_html_mismatched_lengths_raise():
    with pytest.raises(ValueError, match="2 tokens but 3 weights"):
        highlight_html(["a", "b"], [0.1, 0.2, 0.7])
    with pytest.raises(ValueError, match="sentence weights"):
        highlight_html([["a"], ["b"]], [[1.0], [1.0]], sentence_weights=[1.0])


def test_upsample_preserves_constant_and_corners():
    np.testing.assert_allclose(upsample(np.full((3, 4), 0.25), (30, 40)), 0.25)
    grid = np.arange(4.0).reshape(2, 2)
    big = upsample(grid, (8, 8))
    assert big.shape == (8, 8) and big[0, 0] == 0 and big[-1, -1] == 3
    assert np.all(np.diff(big, axis=1) >= 0) and np.all(np.diff(big, axis=0) >= 0)


def test_overlay_image_writes_png_and_svg(tmp_path):
    image = np.random.default_rng(1).random((48, 64, 3))
    grid = np.zeros((6, 8))
    grid[2, 3] = 1.0
    png = overlay_image(image, grid, tmp_path / "o.png", title="a dog")
    svg = overlay_image((image[..., 0] * 255).astype(np.uint8), grid, tmp_path / "o.svg")
    assert png.stat().st_size > 1000 and svg.stat().st_size > 1000
    with pytest.raises(ValueError, match="image must be"):
        overlay_image(np.zeros((4, 4, 2)), grid, tmp_path / "bad.png")
