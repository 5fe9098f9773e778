"""Pictures of a classifier's and a matcher's attention, from their predictions' plain fields.

* :func:`coattention_maps`: the two co-attention matrices of a text pair as :class:`AttentionMap` objects
  (words of ``a`` over words of ``b``, and back);
* :func:`write_coattention_plot`: the ``a -> b`` matrix as a heatmap (PNG/SVG), the way an alignment is drawn.
"""

from __future__ import annotations

from pathlib import Path

from attnkit.viz.heatmap import plot_heatmap
from attnkit.viz.maps import AttentionMap

__all__ = ["coattention_maps", "write_coattention_plot"]


def coattention_maps(prediction, title: str = "") -> list[AttentionMap]:
    """``[a over b, b over a]`` for a prediction with ``tokens_a``, ``tokens_b``, ``attn_ab``, ``attn_ba``
    (no maps when the model compares without co-attention)."""
    if prediction.attn_ab is None:
        return []
    label = f"{prediction.label} ({prediction.probs[prediction.label]:.2f})"
    head = f"{title}: " if title else ""
    return [AttentionMap(prediction.attn_ab, prediction.tokens_a, prediction.tokens_b, kind="co",
                         title=f"{head}text a attends over text b; {label}"),
            AttentionMap(prediction.attn_ba, prediction.tokens_b, prediction.tokens_a, kind="co",
                         title=f"{head}text b attends over text a; {label}")]


def write_coattention_plot(prediction, path: str | Path, title: str = "") -> Path | None:
    """The ``a -> b`` co-attention heatmap at ``path``; None for a matcher without co-attention."""
    maps = coattention_maps(prediction, title)
    return plot_heatmap(maps[0], path) if maps else None
