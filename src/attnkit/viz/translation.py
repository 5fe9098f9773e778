"""Every picture of one translation hypothesis, from duck-typed translation objects (never a model).

A translation carries ``attn`` (``[T, S]``, the alignment view), ``src_tokens``, ``tgt_tokens`` and,
for models with several attention maps, ``attn_layers`` (``[T, L, H, S]``) and ``encoder_attn``
(``[L, H, S, S]``). :func:`translation_maps` turns them into :class:`AttentionMap` objects and
:func:`write_translation_plots` draws them: the alignment heatmap, the head view of the decoder's
cross-attention, and the encoder self-attention's rollout (given precomputed) with its head view.
"""

from __future__ import annotations

from pathlib import Path

from attnkit.viz.heads import plot_head_grid
from attnkit.viz.heatmap import plot_heatmap
from attnkit.viz.maps import AttentionMap

__all__ = ["translation_maps", "write_translation_plots"]


def _per_head(weights, rows, cols, kind: str) -> list[AttentionMap]:
    """``weights [L, H, rows, cols]`` -> one map per layer and head."""
    return [AttentionMap(weights[layer, head], rows, cols, kind=kind, layer=layer, head=head)
            for layer in range(weights.shape[0]) for head in range(weights.shape[1])]


def translation_maps(translation, title: str = "") -> dict[str, list[AttentionMap]]:
    """``alignment`` (one map), and where the translation has them ``cross_heads`` and ``encoder_heads``."""
    rows, cols = translation.tgt_tokens, translation.src_tokens
    maps = {"alignment": [AttentionMap(translation.attn, rows, cols, kind="cross", title=title or (
        f"{translation.text}  (score {translation.norm_score:.3f})"))]}
    layers = getattr(translation, "attn_layers", None)
    if layers is not None:
        maps["cross_heads"] = _per_head(layers.permute(1, 2, 0, 3), rows, cols, "cross")  # [L, H, T, S]
    encoder = getattr(translation, "encoder_attn", None)
    if encoder is not None:
        maps["encoder_heads"] = _per_head(encoder, cols, cols, "self")
    return maps


def write_translation_plots(translation, stem: str | Path, fmt: str = "png", *, rollout=None) -> list[Path]:
    """Write ``STEM.FMT`` (alignment), and where available ``STEM_heads.FMT`` (decoder cross-attention per
    layer and head), ``STEM_encoder_heads.FMT`` and ``STEM_rollout.FMT`` (``rollout [S, S]``, Abnar &
    Zuidema 2020, computed by the caller). Returns the paths written."""
    stem = Path(stem)
    maps = translation_maps(translation)
    paths = [plot_heatmap(maps["alignment"][0], stem.with_suffix(f".{fmt}"))]
    if "cross_heads" in maps:
        paths.append(plot_head_grid(maps["cross_heads"], stem.with_name(f"{stem.name}_heads.{fmt}"),
                                    title=f"cross-attention by layer and head: {translation.text}"))
    if "encoder_heads" in maps:
        paths.append(plot_head_grid(maps["encoder_heads"], stem.with_name(f"{stem.name}_encoder_heads.{fmt}"),
                                    title="encoder self-attention by layer and head"))
    if rollout is not None:
        cols = translation.src_tokens
        paths.append(plot_heatmap(AttentionMap(rollout, cols, cols, kind="self",
                                               title="encoder attention rollout (Abnar & Zuidema 2020)"),
                                  stem.with_name(f"{stem.name}_rollout.{fmt}")))
    return paths
