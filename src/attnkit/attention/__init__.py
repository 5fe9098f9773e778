"""Attention mechanisms: tensors in, ``(context, attn_weights)`` out. No vocabularies, no files.

The public API, in dependency order: :mod:`functional` (masks, normalisers, the memory-lean additive
kernel), :mod:`scores`, :class:`Attention`, :class:`HardAttention`, :class:`LocalAttention`,
:class:`MultiHeadAttention`, :class:`CoAttention`, :class:`AttentionPooling`.
"""

from attnkit.attention.analysis import attention_rollout
from attnkit.attention.attention import NORMALIZERS, Attention, AttentionOutput
from attnkit.attention.coattention import CoAttention, CoAttentionOutput
from attnkit.attention.dropout import Dropout, apply_mask, dropout, dropout_mask
from attnkit.attention.functional import (
    additive_scores,
    additive_scores_lean,
    causal_mask,
    key_padding_mask,
    masked_softmax,
    sparsemax,
)
from attnkit.attention.hard import HardAttention, HardAttentionOutput
from attnkit.attention.local import LocalAttention, LocalAttentionOutput
from attnkit.attention.multihead import MultiHeadAttention, MultiHeadOutput
from attnkit.attention.pooling import AttentionPooling, PoolingOutput
from attnkit.attention.scores import SCORES, build_score

__all__ = [
    "NORMALIZERS",
    "SCORES",
    "Attention",
    "AttentionOutput",
    "AttentionPooling",
    "CoAttention",
    "CoAttentionOutput",
    "Dropout",
    "HardAttention",
    "HardAttentionOutput",
    "LocalAttention",
    "LocalAttentionOutput",
    "MultiHeadAttention",
    "MultiHeadOutput",
    "PoolingOutput",
    "additive_scores",
    "additive_scores_lean",
    "apply_mask",
    "attention_rollout",
    "build_score",
    "causal_mask",
    "dropout",
    "dropout_mask",
    "key_padding_mask",
    "masked_softmax",
    "sparsemax",
]
