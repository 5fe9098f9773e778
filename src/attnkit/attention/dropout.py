"""Dropout whose mask is cheap to draw on the CPU.

``torch.nn.Dropout`` draws its mask with ``bernoulli_``, one random number per element; on the CPU that
costs about 20 times the multiplication it gates, and in a small Transformer's training step it was
the largest single cost (23% of a step of the 2+2-layer dates Transformer, torch.profiler, one thread).
Here one 64-bit draw of the default generator gives the keep/drop decisions of four elements (16 bits
each, so the drop probability is ``p`` rounded to a multiple of 1/65,536, and the survivors are scaled
by the inverse of the probability actually used: the expectation is exact); the comparison writes the
mask straight in ``x``'s dtype, since converting a boolean mask costs more than the multiplication.
Seeded by ``torch.manual_seed`` and saved/restored with ``torch.get_rng_state`` like any other draw,
so runs stay reproducible and resumable. Off the CPU ``F.dropout`` is used as it is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["Dropout", "apply_mask", "dropout", "dropout_mask"]

_LEVELS = 1 << 16  # a decision is one 16-bit lane of a random word


def _scaled_keep_mask(x: Tensor, drop_levels: int) -> Tensor:
    """A mask like ``x``: ``65536 / (65536 - drop_levels)`` with probability ``1 - drop_levels / 65536``, else 0."""
    n = x.numel()
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device).random_()  # uniform in [0, 2^63)
    # Bit 63 of a word is always 0; shifting left by one makes every 16-bit lane uniform (lane 0 over the
    # even values, which moves each lane's probability by less than 1/65,536).
    lanes = torch.bitwise_left_shift(words, 1).view(torch.int16)[:n].view(x.shape)  # in [-2^15, 2^15)
    mask = torch.empty_like(x, memory_format=torch.contiguous_format)
    torch.ge(lanes, drop_levels - _LEVELS // 2, out=mask)  # 1.0 = keep (written as x's dtype: no bool copy)
    return mask.mul_(_LEVELS / (_LEVELS - drop_levels))


def dropout(x: Tensor, p: float, training: bool = True) -> Tensor:
    """Inverted dropout of ``x`` (any shape): zero each element with probability ``p``, scale the rest."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu" or not x.is_floating_point():
        return F.dropout(x, p, training=True)
    drop_levels = round(p * _LEVELS)
    if drop_levels >= _LEVELS:
        return x * 0.0
    return apply_mask(x, _scaled_keep_mask(x, drop_levels))


def dropout_mask(shape: tuple[int, ...], p: float, like: Tensor) -> Tensor | None:
    """A scaled keep mask of ``shape`` (``like``'s dtype and device) for :func:`apply_mask`; None when ``p`` is 0.

    For masks drawn once and used piecewise, e.g. one draw for every step of a recurrence.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if p == 0.0:
        return None
    x = like.new_empty(shape)
    if x.device.type != "cpu" or not x.is_floating_point():
        return x.bernoulli_(1.0 - p).div_(1.0 - p) if p < 1.0 else x.zero_()
    drop_levels = round(p * _LEVELS)
    return x.zero_() if drop_levels >= _LEVELS else _scaled_keep_mask(x, drop_levels)


def apply_mask(x: Tensor, mask: Tensor) -> Tensor:
    """``x * mask`` (a mask from :func:`dropout_mask`). The product saves only the mask for the backward
    pass, as the mask needs no gradient (no custom autograd function is needed for that)."""
    return x * mask


class Dropout(nn.Module):
    """Drop-in for ``nn.Dropout`` (no parameters, same ``p`` and train/eval behaviour) using :func:`dropout`."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
