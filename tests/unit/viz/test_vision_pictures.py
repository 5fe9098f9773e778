"""Pictures of vision attention: word overlays in rows, a clip's frame strip, RAM's glimpse path.

Each writes PNG and SVG by suffix and says what is wrong with a bad shape; the glimpse squares are the
ones RAM's sensor actually reads."""

import re
import struct

import numpy as np
import pytest
import torch

from attnkit.models.ram import GlimpseSensor
from attnkit.viz import glimpse_squares, plot_frame_strip, plot_glimpse_path, plot_word_overlays

RNG = np.random.default_rng(0)
IMAGE = (RNG.random((48, 64)) * 255).astype(np.uint8)  # [H, W]
CLIP = (RNG.random((7, 24, 24)) * 255).astype(np.uint8)  # [F, H, W]


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])  # IHDR width, height


def _svg_texts(path) -> list[str]:
    """The text matplotlib drew (as glyph paths, each preceded by a comment holding the string)."""
    return re.findall(r"<!-- ([^>]*) -->", path.read_text(encoding="utf-8"))


def test_glimpse_squares_double_per_scale_around_the_centre():
    squares = glimpse_squares([[0.0, 0.0], [-1.0, -1.0], [0.5, -0.5]], (60, 80), glimpse_size=12, scales=3)
    assert squares.shape == (3, 3, 4)
    np.testing.assert_allclose(squares[0], [[34, 24, 46, 36], [28, 18, 52, 42], [16, 6, 64, 54]])
    np.testing.assert_allclose(squares[1, 0], [-6, -6, 6, 6])  # centred on the top-left corner
    np.testing.assert_allclose(squares[2, 0], [54, 9, 66, 21])  # x: 3/4 of 80, y: 1/4 of 60


def test_glimpse_squares_are_what_the_sensor_reads():
    image = torch.rand(1, 1, 60, 60)
    location = torch.tensor([[-0.2, 0.4]])  # centre (24, 42) px: the 12 px square is aligned with the pixels
    x0, y0, x1, y1 = glimpse_squares(location, (60, 60), glimpse_size=12)[0, 0].round().astype(int)
    patch = GlimpseSensor(glimpse_size=12, scales=1)(image, location)[0, 0, 0]  # [g, g]
    torch.testing.assert_close(patch, image[0, 0, y0:y1, x0:x1], atol=1e-5, rtol=0)


def test_word_overlays_png_and_svg_in_rows(tmp_path):
    words = ["a", "coat", "above", "a", "$5", "</s>"]
    weights = RNG.dirichlet(np.ones(12), size=len(words)).reshape(len(words), 3, 4)  # [T, h, w]
    one_row = plot_word_overlays(IMAGE, weights, words, tmp_path / "row.png", title="a coat above a $5")
    two_rows = plot_word_overlays(IMAGE, weights, words, tmp_path / "rows.png", columns=4)
    (w1, h1), (w2, h2) = _png_size(one_row), _png_size(two_rows)
    assert w1 > w2 and h2 > h1  # 7 panels in one row, then 4 + 3 in two
    svg = plot_word_overlays(IMAGE[..., None], weights, words, tmp_path / "row.svg")  # [H, W, 1] is grey
    assert _svg_texts(svg) == ["image", "a", "coat", "above", "a", "$5", "&lt;/s&gt;"]


def test_word_overlays_refuse_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match=r"weights must be \[T, h, w\].*\[2, 12\]"):
        plot_word_overlays(IMAGE, np.ones((2, 12)), ["a", "b"], tmp_path / "x.png")
    with pytest.raises(ValueError, match="3 words but 2 attention grids"):
        plot_word_overlays(IMAGE, np.ones((2, 3, 4)), ["a", "b", "c"], tmp_path / "x.png")
    with pytest.raises(ValueError, match="image must be"):
        plot_word_overlays(np.zeros((4, 4, 2)), np.ones((1, 2, 2)), ["a"], tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"\.jpg"):
        plot_word_overlays(IMAGE, np.ones((1, 2, 2)), ["a"], tmp_path / "x.jpg")
    with pytest.raises(ValueError, match="NaN"):
        plot_word_overlays(IMAGE, np.full((1, 2, 2), np.nan), ["a"], tmp_path / "x.png")


def test_frame_strip_draws_frames_words_and_weights(tmp_path):
    words = ["coat", "<appears>", "</s>"]
    weights = RNG.dirichlet(np.ones(7), size=3)  # [T, F]
    png = plot_frame_strip(CLIP, weights, words, tmp_path / "strip.png", title="a coat appears")
    svg = plot_frame_strip(CLIP, weights, words, tmp_path / "strip.svg")
    longer = plot_frame_strip(CLIP, RNG.dirichlet(np.ones(7), size=9), [f"w{i}" for i in range(9)],
                              tmp_path / "longer.png")
    (w, h), (_, h9) = _png_size(png), _png_size(longer)
    assert w > 2 * h and h9 > h  # frames side by side; one row per word
    texts = _svg_texts(svg)
    assert {"coat", "&lt;appears&gt;", "&lt;/s&gt;", "frame"} <= set(texts)
    assert [str(f) for f in range(7)] == texts[:7]  # frame numbers under the columns
    assert {f"{x:.2f}" for x in weights.flat} <= set(texts)  # every weight written in its cell
    colour = plot_frame_strip(np.repeat(CLIP[..., None], 3, axis=3) / 255.0, weights, words, tmp_path / "rgb.png")
    assert colour.stat().st_size > 1000


def test_frame_strip_refuses_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match=r"weights must be \[T, F\] = \[words, 7 frames\], got shape \[2, 5\]"):
        plot_frame_strip(CLIP, np.ones((2, 5)), ["a", "b"], tmp_path / "x.png")
    with pytest.raises(ValueError, match="3 words but 2 rows of weights"):
        plot_frame_strip(CLIP, np.ones((2, 7)) / 7, ["a", "b", "c"], tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"frames must be \[F, H, W\]"):
        plot_frame_strip(CLIP[0], np.ones((1, 24)), ["a"], tmp_path / "x.png")
    with pytest.raises(ValueError, match="NaN"):
        plot_frame_strip(CLIP, np.full((1, 7), np.nan), ["a"], tmp_path / "x.png")


def test_glimpse_path_numbers_glimpses_and_merges_repeats(tmp_path):
    where = np.array([[0.0, 0.0], [0.01, -0.01], [0.5, 0.5], [-0.6, 0.7]])  # the second looks again at the first
    png = plot_glimpse_path(IMAGE, where, tmp_path / "path.png", glimpse_size=8, scales=3, box=(10, 10, 30, 40),
                            title="sandal (0.93)")
    assert png.stat().st_size > 1000
    svg = plot_glimpse_path(IMAGE, where, tmp_path / "path.svg", glimpse_size=8, scales=3)
    assert _svg_texts(svg) == ["1,2", "3", "4"]


def test_glimpse_path_refuses_bad_input(tmp_path):
    with pytest.raises(ValueError, match=r"\[G, 2\].*\[3, 3\]"):
        plot_glimpse_path(IMAGE, np.zeros((3, 3)), tmp_path / "x.png", glimpse_size=8)
    with pytest.raises(ValueError, match="NaN"):
        plot_glimpse_path(IMAGE, [[np.nan, 0.0]], tmp_path / "x.png", glimpse_size=8)
    with pytest.raises(ValueError, match="glimpse_size and scales must be positive"):
        plot_glimpse_path(IMAGE, [[0.0, 0.0]], tmp_path / "x.png", glimpse_size=0)
    with pytest.raises(ValueError, match=r"box must be \(x0, y0, x1, y1\)"):
        plot_glimpse_path(IMAGE, [[0.0, 0.0]], tmp_path / "x.png", glimpse_size=8, box=(1, 2, 3))
    with pytest.raises(ValueError, match="image must be"):
        plot_glimpse_path(np.zeros((2, 3, 4, 5)), [[0.0, 0.0]], tmp_path / "x.png", glimpse_size=8)
