"""What a search returns, and the checks and limits greedy and beam search share.

Legend: B batch, S source len (padded), S_real a sentence's real source len, V vocabulary,
N rows of the active batch, L generated steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["Hypothesis"]


@dataclass
class Hypothesis:
    """One decoded output sequence with its score and the attention that produced it.

    Attributes:
        tokens: output ids, without BOS and without EOS.
        score: total log-probability of the generated steps (the EOS step included when it ended with EOS).
        norm_score: ``score`` divided by the GNMT length penalty (Wu et al. 2016, eq. 14); equal to
            ``score`` for greedy search.
        attn: ``[L, S_real]`` (``[L, ..., S_real]`` when the model returns several maps per step) with
            ``L = len(tokens) + 1`` if it ended with EOS, else ``len(tokens)``: one row
            per generated step, the attention the model emitted over the source at that step, columns
            restricted to the sentence's real (unpadded) source positions. None when the search was asked
            to keep no attention (``attention=False``).
        finished: True when it ended with EOS, False when it was cut at the maximum length.
    """

    tokens: list[int]
    score: float
    norm_score: float
    attn: Tensor | None
    finished: bool


def _shape(t: Tensor) -> str:
    return "[" + ", ".join(str(s) for s in t.shape) + "]"


def check_source(src: Tensor, src_mask: Tensor) -> None:
    """Raise a ``ValueError`` unless ``src`` is ``[B, S]`` integer ids and ``src_mask`` a ``[B, S]`` bool mask."""
    if src.dim() != 2 or src.dtype.is_floating_point:
        raise ValueError(f"src must be [B, S] integer token ids, got {_shape(src)} {src.dtype}")
    if src_mask.shape != src.shape or src_mask.dtype != torch.bool:
        raise ValueError(
            f"src_mask must be a bool tensor shaped like src {_shape(src)}, got {_shape(src_mask)} {src_mask.dtype}"
        )


def check_step(log_probs: Tensor, attn: Tensor, rows: int, src_len: int) -> None:
    """Raise a ``ValueError`` when ``decode_step`` broke the protocol: ``[N, V]`` log-probs and attention
    ``[N, S]`` or ``[N, ..., S]`` (e.g. ``[N, L, H, S]``: every layer and head)."""
    if log_probs.dim() != 2 or log_probs.size(0) != rows:
        raise ValueError(f"decode_step must return log_probs [N={rows}, V], got {_shape(log_probs)}")
    if attn.dim() < 2 or attn.size(0) != rows or attn.size(-1) != src_len:
        raise ValueError(f"decode_step must return attn [N={rows}, ..., S={src_len}], got {_shape(attn)}")


def max_lengths(src_mask: Tensor, ratio: float, offset: int) -> Tensor:
    """Per-sentence step budget ``ceil(src_len * ratio) + offset`` (at least 1), ``[B]`` long.

    The count includes the EOS step: a hypothesis never has more than this many attention rows.
    """
    if ratio < 0:
        raise ValueError(f"max_len_ratio must be >= 0, got {ratio}")
    src_len = src_mask.sum(dim=1).to(torch.float64)  # [B]
    return (torch.ceil(src_len * ratio).long() + offset).clamp(min=1)


def make_hypothesis(
    tokens: Tensor, attn: Tensor | None, src_mask: Tensor, score: float, norm_score: float, finished: bool
) -> Hypothesis:
    """Build a :class:`Hypothesis` from one path.

    Args:
        tokens: ``[L']`` the generated ids without EOS.
        attn: ``[L, ..., S]`` the attention of each generated step (EOS step included), or None (kept as None).
        src_mask: ``[S]`` bool, True at this sentence's real source positions.
    """
    return Hypothesis(
        tokens=tokens.tolist(),
        score=float(score),
        norm_score=float(norm_score),
        attn=None if attn is None else attn[..., src_mask.to(attn.device)],  # [L, ..., S_real] (a copy, not a view)
        finished=bool(finished),
    )
