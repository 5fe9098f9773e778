"""Attention drawn on the pixels it looked at: image regions, video frames and RAM's glimpses.

* :func:`overlay_image`: an ``[h, w]`` grid of region weights upsampled bilinearly over the image (Xu et al.
  2015, "Show, Attend and Tell", figure 2; the paper upsamples by 2^4 with a Gaussian pyramid, bilinear
  keeps this free of extra dependencies);
* :func:`plot_word_overlays`: one such overlay per word of a caption, laid out in rows after the image, as
  the paper shows a caption being written;
* :func:`plot_frame_strip`: a clip's frames in a row and, under them, one row per word with its temporal
  attention over the frames (Yao et al. 2015), the weights written in the cells, each row's peak outlined;
* :func:`plot_glimpse_path`: the glimpses of the recurrent attention model (Mnih et al. 2014) on the image:
  each glimpse's sharpest patch outlined and its coarser scales faintly, numbered in the order taken and
  joined by arrows; :func:`glimpse_squares` gives those squares in pixels.

Every function writes PNG or SVG, by the suffix of ``path``, and returns the path.
"""
# H/W image size, h/w region grid, T words, F frames, G glimpses, N scales

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["glimpse_squares", "overlay_image", "plot_frame_strip", "plot_glimpse_path", "plot_word_overlays",
           "upsample"]

FORMATS = (".png", ".svg")
DPI = 100


def upsample(grid, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a 2-D ``grid`` ``[h, w]`` to ``size = (H, W)``, cell centres aligned."""
    grid = np.asarray(grid, dtype=np.float64)
    if grid.ndim != 2 or 0 in grid.shape:
        raise ValueError(f"attention grid must be a non-empty 2-D [h, w] array, got shape {list(grid.shape)}")
    H, W = size
    h, w = grid.shape
    ys = np.clip((np.arange(H) + 0.5) * h / H - 0.5, 0, h - 1)  # source coordinates of output pixel centres
    xs = np.clip((np.arange(W) + 0.5) * w / W - 0.5, 0, w - 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x1] * fx  # [H, W]
    bottom = grid[y1][:, x0] * (1 - fx) + grid[y1][:, x1] * fx  # [H, W]
    return top * (1 - fy) + bottom * fy


def glimpse_squares(locations, image_size: tuple[int, int], glimpse_size: int, scales: int = 1) -> np.ndarray:
    """The squares RAM's sensor reads, ``[G, N, 4]`` as ``(x0, y0, x1, y1)`` pixel edges (``(0, 0)`` the
    top-left corner of the image, the squares may reach outside it).

    ``locations`` ``[G, 2]`` are glimpse centres ``(x, y)`` in [-1, 1] (``(-1, -1)`` the top-left corner of
    an ``(H, W)`` image); scale ``k`` is ``glimpse_size * 2^k`` pixels wide, as
    :class:`~attnkit.models.ram.GlimpseSensor` cuts it.
    """
    loc = _locations(locations)
    if glimpse_size < 1 or scales < 1:
        raise ValueError(f"glimpse_size and scales must be positive, got {glimpse_size} and {scales}")
    H, W = image_size
    cx, cy = (loc[:, 0] + 1) / 2 * W, (loc[:, 1] + 1) / 2 * H  # [G] pixel centres
    half = glimpse_size * 2.0 ** np.arange(scales) / 2  # [N]
    return np.stack([cx[:, None] - half, cy[:, None] - half, cx[:, None] + half, cy[:, None] + half], -1)


def overlay_image(image, weights_grid, path: str | Path, *, title: str = "", alpha: float = 0.6,
                  cmap: str = "jet") -> Path:
    """Write ``image`` (``[H, W]`` grey or ``[H, W, 3|4]``, floats in [0, 1] or uint8) with the attention
    ``weights_grid`` (``[h, w]``, e.g. 14 x 14 conv regions) upsampled over it; PNG or SVG by suffix."""
    image, path = _image(image), _path(path)
    H, W = image.shape[:2]
    heat = _heat(weights_grid, (H, W))
    plt = _pyplot()
    scale = 6.0 / max(H, W)
    fig, ax = plt.subplots(figsize=(max(W * scale, 1.0), max(H * scale, 1.0) + (0.4 if title else 0)), dpi=DPI)
    _show(ax, image)
    ax.imshow(heat, cmap=cmap, alpha=alpha, vmin=0.0, vmax=1.0)
    ax.set_axis_off()
    if title:
        ax.set_title(_escape(title))
    fig.tight_layout()
    return _save(fig, path)


def plot_word_overlays(image, weights, words: Sequence[str], path: str | Path, *, title: str = "",
                       columns: int = 8, alpha: float = 0.6, cmap: str = "jet") -> Path:
    """The image, then one overlay per word of its attention over the regions, ``columns`` panels a row.

    Shapes:
        image ``[H, W]`` or ``[H, W, 3|4]``; weights ``[T, h, w]`` (row ``t``: the attention of the step that
        wrote ``words[t]``, reshaped to the region grid); ``len(words) == T``. Each word's weights are scaled
        to their own maximum, so every panel shows where that word looked most.
    """
    image, path = _image(image), _path(path)
    grids = np.asarray(weights, dtype=np.float64)
    if grids.ndim != 3 or 0 in grids.shape[1:]:
        raise ValueError(f"weights must be [T, h, w] (one region grid per word), got shape {list(grids.shape)}")
    if len(words) != len(grids):
        raise ValueError(f"{len(words)} words but {len(grids)} attention grids; give one grid per word")
    if columns < 1:
        raise ValueError(f"columns must be at least 1, got {columns}")
    H, W = image.shape[:2]
    panels = len(words) + 1
    n_cols, n_rows = min(panels, columns), -(-panels // columns)
    side = 1.7  # inches per panel
    plt = _pyplot()
    fig, axes = plt.subplots(n_rows, n_cols, squeeze=False, dpi=DPI,
                             figsize=(n_cols * side, n_rows * (side * H / W + 0.35) + (0.45 if title else 0.1)))
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= panels:
            continue
        _show(ax, image)
        if k == 0:
            ax.set_title("image", fontsize=9, style="italic")
            continue
        ax.imshow(_heat(grids[k - 1], (H, W)), cmap=cmap, alpha=alpha, vmin=0.0, vmax=1.0)
        ax.set_title(_escape(str(words[k - 1])), fontsize=10)
    if title:
        fig.suptitle(_escape(title), fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def plot_frame_strip(frames, weights, words: Sequence[str], path: str | Path, *, title: str = "",
                     cmap: str = "Blues") -> Path:
    """A clip's frames in a row, and under them one row per word shaded by its attention over the frames.

    Shapes:
        frames ``[F, H, W]`` or ``[F, H, W, 3|4]`` (uint8, or floats in [0, 1]); weights ``[T, F]`` (row
        ``t``: the attention of the step that wrote ``words[t]``); ``len(words) == T``.

    Cells are shaded on one scale, 0 to 1 for probabilities (else 0 to the largest weight), so a word that
    spreads its attention stays pale; each row's peak frame is outlined and, when the cells are wide enough,
    every weight is written in its cell.
    """
    frames, path = np.asarray(frames), _path(path)
    if frames.ndim not in (3, 4) or (frames.ndim == 4 and frames.shape[3] not in (1, 3, 4)) or 0 in frames.shape:
        raise ValueError(f"frames must be [F, H, W] or [F, H, W, 3|4], got shape {list(frames.shape)}")
    w = np.asarray(weights, dtype=np.float64)
    F, H, W = frames.shape[:3]
    if w.ndim != 2 or w.shape[1] != F:
        raise ValueError(f"weights must be [T, F] = [words, {F} frames], got shape {list(w.shape)}")
    if len(words) != len(w):
        raise ValueError(f"{len(words)} words but {len(w)} rows of weights; give one row per word")
    if not np.all(np.isfinite(w)):
        raise ValueError("attention weights contain NaN or infinity")
    words = [_escape(str(x)) for x in words]
    cell = max(0.35, min(0.9, 12.0 / F))  # inches per frame
    row = 0.28  # inches per word
    left = 0.3 + 0.075 * max((len(x) for x in words), default=1)
    top, bottom, strip = (0.45 if title else 0.1), 0.35, cell * H / W
    width, height = left + F * cell + 0.2, top + strip + 0.08 + row * len(words) + bottom
    plt = _pyplot()
    fig = plt.figure(figsize=(width, height), dpi=DPI)
    x0, x1 = left / width, (left + F * cell) / width
    ax = fig.add_axes((x0, (height - top - strip) / height, x1 - x0, strip / height))
    pictures = frames[..., 0] if frames.ndim == 4 and frames.shape[3] == 1 else frames
    _show(ax, np.concatenate(list(pictures), axis=1), extent=(-0.5, F - 0.5, H, 0), aspect="auto")
    ax.vlines(np.arange(F - 1) + 0.5, 0, H, colors="white", linewidth=1.5)
    ax.set_axis_off()
    if title:
        fig.suptitle(_escape(title), fontsize=10, y=1 - 0.05 / height, va="top")
    if len(words):
        ax = fig.add_axes((x0, bottom / height, x1 - x0, row * len(words) / height))
        vmax = 1.0 if w.min() >= 0 and w.max() <= 1 else max(float(w.max()), 1e-12)
        ax.imshow(w, cmap=cmap, vmin=0.0, vmax=vmax, aspect="auto", interpolation="nearest")
        for t, peak in enumerate(w.argmax(1)):
            ax.add_patch(_rectangle((peak - 0.5, t - 0.5), 1, 1, edgecolor="crimson", linewidth=1.5))
        if cell >= 0.45:
            for (t, f), value in np.ndenumerate(w):
                ax.text(f, t, f"{value:.2f}", ha="center", va="center", fontsize=6.5,
                        color="white" if value > 0.6 * vmax else "black")
        ax.set_yticks(range(len(words)), words, fontsize=9)
        ax.set_xticks(range(F), [str(f) for f in range(F)], fontsize=7)
        ax.set_xlabel("frame", fontsize=8, labelpad=1)
        ax.tick_params(length=0, pad=2)
    return _save(fig, path)


def plot_glimpse_path(image, locations, path: str | Path, *, glimpse_size: int, scales: int = 1,
                      box: Sequence[float] | None = None, title: str = "", cmap: str = "cool") -> Path:
    """The image with RAM's glimpses: the sharpest patch of each outlined (its ``scales - 1`` coarser squares
    dashed and faint), numbered 1, 2, ... in the order taken and joined by arrows; colours run from the
    first glimpse to the last along ``cmap``. Glimpses that (nearly) coincide share one label, "2,3".

    Shapes:
        image ``[H, W]`` or ``[H, W, 3|4]``; locations ``[G, 2]`` glimpse centres ``(x, y)`` in [-1, 1]
        (``(-1, -1)`` the top-left corner). ``box`` ``(x0, y0, x1, y1)`` in pixels, e.g. the item's, is drawn
        dotted in green.
    """
    image, path = _image(image), _path(path)
    H, W = image.shape[:2]
    squares = glimpse_squares(locations, (H, W), glimpse_size, scales)  # [G, N, 4]
    if box is not None and len(box) != 4:
        raise ValueError(f"box must be (x0, y0, x1, y1) in pixels, got {len(box)} numbers")
    plt = _pyplot()
    G = len(squares)
    colours = plt.get_cmap(cmap)(np.linspace(0.0, 1.0, max(G, 2)))[:G]
    scale = 5.0 / max(H, W)
    fig, ax = plt.subplots(figsize=(max(W * scale, 1.5), max(H * scale, 1.5) + (0.4 if title else 0)), dpi=DPI)
    _show(ax, image, extent=(0, W, H, 0))  # data coordinates = pixel edges, as glimpse_squares gives them
    if box is not None:
        x0, y0, x1, y1 = map(float, box)
        ax.add_patch(_rectangle((x0, y0), x1 - x0, y1 - y0, edgecolor="lime", linewidth=1.5, linestyle=":"))
    centres = (squares[:, 0, :2] + squares[:, 0, 2:]) / 2  # [G, 2]
    for g in range(G):
        for k in range(squares.shape[1] - 1, -1, -1):
            x0, y0, x1, y1 = squares[g, k]
            ax.add_patch(_rectangle((x0, y0), x1 - x0, y1 - y0, edgecolor=colours[g],
                                    linewidth=2.0 if k == 0 else 1.0, linestyle="-" if k == 0 else "--",
                                    alpha=1.0 if k == 0 else 0.4))
        if g:
            ax.annotate("", xy=centres[g], xytext=centres[g - 1],
                        arrowprops={"arrowstyle": "->", "color": colours[g], "linewidth": 1.5,
                                    "shrinkA": 7, "shrinkB": 7})
    for first, numbers in _same_place(centres, tolerance=glimpse_size / 4).items():
        ax.text(*centres[first], ",".join(str(g + 1) for g in numbers), ha="center", va="center", fontsize=8,
                fontweight="bold", bbox={"boxstyle": "round,pad=0.2", "facecolor": colours[numbers[-1]],
                                         "edgecolor": "none", "alpha": 0.85})
    ax.set_xlim(0, W)
    ax.set_ylim(H, 0)
    ax.set_axis_off()
    if title:
        ax.set_title(_escape(title))
    fig.tight_layout()
    return _save(fig, path)


# --------------------------------------------------------------------------- helpers
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _rectangle(xy, width: float, height: float, **style):
    from matplotlib.patches import Rectangle

    return Rectangle(xy, width, height, facecolor="none", **style)


def _path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"{path}: unsupported image format {path.suffix!r}; use .png or .svg")
    return path


def _image(image) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)) or 0 in image.shape:
        raise ValueError(f"image must be [H, W] or [H, W, 3|4], got shape {list(image.shape)}")
    return image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image


def _locations(locations) -> np.ndarray:
    loc = np.asarray(locations, dtype=np.float64)
    if loc.ndim != 2 or loc.shape[1] != 2:
        raise ValueError(f"glimpse locations must be [G, 2] (x, y) pairs in [-1, 1], got shape {list(loc.shape)}")
    if not np.all(np.isfinite(loc)):
        raise ValueError("glimpse locations contain NaN or infinity")
    return loc


def _same_place(centres: np.ndarray, tolerance: float) -> dict[int, list[int]]:
    """Glimpses grouped by where they look: the first of each group -> every glimpse within ``tolerance``
    pixels of it, in order (a policy often returns to one spot, and the labels would hide each other)."""
    groups: dict[int, list[int]] = {}
    for g, centre in enumerate(centres):
        first = next((f for f in groups if np.abs(centres[f] - centre).max() <= tolerance), g)
        groups.setdefault(first, []).append(g)
    return groups


def _heat(grid, size: tuple[int, int]) -> np.ndarray:
    """``grid`` ``[h, w]`` upsampled to ``size`` and scaled to its maximum: [0, 1] ``[H, W]``."""
    heat = upsample(grid, size)
    if not np.all(np.isfinite(heat)):
        raise ValueError("attention weights contain NaN or infinity")
    return heat / heat.max() if heat.max() > 0 else heat


def _show(ax, image: np.ndarray, **kwargs) -> None:
    """Grey images on a fixed scale (0-255 for integers, 0-1 for floats in [0, 1]), so frames compare."""
    if image.ndim == 3:
        ax.imshow(image, **kwargs)
        return
    top = 255 if np.issubdtype(image.dtype, np.integer) else 1.0 if image.min() >= 0 and image.max() <= 1 else None
    ax.imshow(image, cmap="gray", vmin=None if top is None else 0, vmax=top, **kwargs)


def _escape(text: str) -> str:
    """Keep matplotlib from reading ``$...$`` as mathtext."""
    return text.replace("$", r"\$")


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=path.suffix.lower().lstrip("."))
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
