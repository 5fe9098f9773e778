"""Head view: one small heatmap per layer and head, in a grid (rows = layers, columns = heads).

For models with several attention maps (the Transformer): the cross-attention of every decoder layer
and head for one hypothesis, or the encoder self-attention. Labels are drawn on the outer edge only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from attnkit.viz.heatmap import FORMATS, _escape, _font_size
from attnkit.viz.maps import AttentionMap

__all__ = ["plot_head_grid"]


def plot_head_grid(maps: Sequence[AttentionMap], path: str | Path, *, title: str = "", cmap: str = "Greys") -> Path:
    """Draw maps that carry ``layer`` and ``head`` as a grid of heatmaps and write it (PNG or SVG).

    All maps must share their labels. Returns the path.
    """
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"{path}: the file name must end in one of {', '.join(FORMATS)}")
    if not maps or any(m.layer is None or m.head is None for m in maps):
        raise ValueError("plot_head_grid needs maps with layer and head set (one per layer and head)")
    rows, cols = maps[0].row_labels, maps[0].col_labels
    if any(m.row_labels != rows or m.col_labels != cols for m in maps):
        raise ValueError("every map of a head grid must have the same row and column labels")
    layers = sorted({m.layer for m in maps})
    heads = sorted({m.head for m in maps})
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = _font_size(max(len(rows), len(cols))) * 0.8
    cell = 1.3 * font / 72
    panel_w, panel_h = max(1.5, cell * len(cols)), max(1.5, cell * len(rows))
    fig, axes = plt.subplots(len(layers), len(heads), squeeze=False,
                             figsize=(len(heads) * (panel_w + 0.3) + 1.5, len(layers) * (panel_h + 0.3) + 1.5))
    by_pos = {(m.layer, m.head): m for m in maps}
    for r, layer in enumerate(layers):
        for c, head in enumerate(heads):
            ax = axes[r][c]
            m = by_pos.get((layer, head))
            if m is not None:
                ax.imshow(m.weights, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
            ax.set_xticks(range(len(cols)) if r == 0 else [])
            ax.set_yticks(range(len(rows)) if c == 0 else [])
            if r == 0:
                ax.xaxis.tick_top()
                ax.set_xticklabels([_escape(x) for x in cols], rotation=90, fontsize=font)
                ax.set_title(f"head {head}", fontsize=font + 1, pad=cell * 72 * 0.2 + font * 0.6 * max(map(len, cols)))
            if c == 0:
                ax.set_yticklabels([_escape(y) for y in rows], fontsize=font)
                ax.set_ylabel(f"layer {layer}", fontsize=font + 1)
    if title:
        fig.suptitle(title, fontsize=font + 2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
