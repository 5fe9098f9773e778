"""Alignment heatmaps (as in Bahdanau et al. 2015, figure 3): rows = queries, columns = keys.

Every label is drawn, whatever the size: the figure grows with the number of labels and the font shrinks
a little (never below :data:`MIN_FONT`), so a 200 x 200 map stays legible when zoomed. The format follows
the file suffix (``.png`` or ``.svg``); SVG keeps labels as real ``<text>`` so they can be searched.
"""

from __future__ import annotations

from pathlib import Path

from attnkit.viz.maps import AttentionMap

__all__ = ["FORMATS", "heatmap_layout", "plot_heatmap"]

FORMATS = (".png", ".svg")
MAX_FONT, MIN_FONT = 11.0, 6.0  # points
DPI = 150  # 6-point labels stay crisp (12 px) on large maps
_MAX_INCHES = 600  # matplotlib refuses images over 2^16 pixels a side
_RIGHT, _BOTTOM = 1.4, 0.3  # inches: colour bar, bottom edge


def _font_size(n_labels: int) -> float:
    """Shrinks from MAX_FONT (<= 20 labels) to MIN_FONT (>= 120 labels)."""
    return max(MIN_FONT, min(MAX_FONT, MAX_FONT - (n_labels - 20) * (MAX_FONT - MIN_FONT) / 100))


def heatmap_layout(rows: list[str], cols: list[str]) -> dict:
    """Font size (points) and figure size (inches) for a map with these labels.

    A cell is 1.6 font heights square, so neighbouring labels never overlap; margins fit the longest label.
    """
    font = _font_size(max(len(rows), len(cols)))
    cell = 1.6 * font / 72  # inches
    char_w = 0.62 * font / 72  # a generous average glyph width
    left = 0.4 + char_w * max((len(r) for r in rows), default=1)
    top = 0.7 + char_w * max((len(c) for c in cols), default=1)  # title + column labels rotated 90 degrees
    width = left + cell * max(len(cols), 1) + _RIGHT
    height = top + cell * max(len(rows), 1) + _BOTTOM
    return {"font": font, "left": left, "top": top, "width": min(width, _MAX_INCHES),
            "height": min(height, _MAX_INCHES)}


def _escape(label: str) -> str:
    """Keep matplotlib from reading ``$...$`` in a token as mathtext."""
    return label.replace("$", r"\$")


def plot_heatmap(attention: AttentionMap, path: str | Path, *, cmap: str = "Greys", vmax: float | None = None,
                 annotate: bool = False) -> Path:
    """Draw ``attention`` as a labelled heatmap with a colour bar and write it to ``path`` (PNG or SVG).

    Rows (queries) run down the y axis, columns (keys) along the top x axis with labels rotated 90
    degrees. ``vmax`` fixes the top of the colour scale (default: 1 for probabilities, else the maximum);
    ``annotate`` writes each weight in its cell (only sensible for small maps). Returns the path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"{path}: unsupported heatmap format {path.suffix!r}; use one of {', '.join(FORMATS)}")
    w = attention.weights
    rows, cols = attention.row_labels, attention.col_labels
    lay = heatmap_layout(rows, cols)
    if vmax is None:
        vmax = 1.0 if w.size and w.min() >= 0 and w.max() <= 1 else float(w.max(initial=1.0))
    with plt.rc_context({"svg.fonttype": "none", "font.size": lay["font"]}):
        fig = plt.figure(figsize=(lay["width"], lay["height"]), dpi=DPI)
        # Axes placed in inches (converted to figure fractions) so margins hold the labels exactly.
        W, H = lay["width"], lay["height"]
        ax_w, ax_h = max(W - lay["left"] - _RIGHT, 0.1), max(H - lay["top"] - _BOTTOM, 0.1)
        ax = fig.add_axes((lay["left"] / W, _BOTTOM / H, ax_w / W, ax_h / H))
        cax = fig.add_axes(((lay["left"] + ax_w + 0.25) / W, _BOTTOM / H, 0.2 / W, ax_h / H))
        image = ax.imshow(w, cmap=cmap, vmin=0.0, vmax=vmax, aspect="auto", interpolation="nearest")
        ax.set_xticks(range(len(cols)), [_escape(c) for c in cols], rotation=90, fontsize=lay["font"])
        ax.set_yticks(range(len(rows)), [_escape(r) for r in rows], fontsize=lay["font"])
        ax.xaxis.tick_top()
        ax.tick_params(length=2, pad=2)
        if annotate:
            for (r, c), value in _cells(w):
                ax.text(c, r, f"{value:.2f}", ha="center", va="center", fontsize=lay["font"] * 0.7,
                        color="white" if value > 0.5 * vmax else "black")
        fig.colorbar(image, cax=cax)
        title = attention.title or _default_title(attention)
        fig.suptitle(_escape(title), fontsize=lay["font"] + 1, y=1 - 0.15 / H, va="top")
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI, format=path.suffix.lower().lstrip("."))
        plt.close(fig)
    return path


def _cells(w):
    for r in range(w.shape[0]):
        for c in range(w.shape[1]):
            yield (r, c), float(w[r, c])


def _default_title(attention: AttentionMap) -> str:
    parts = [f"{attention.kind} attention"]
    if attention.layer is not None:
        parts.append(f"layer {attention.layer}")
    if attention.head is not None:
        parts.append(f"head {attention.head}")
    return ", ".join(parts)
