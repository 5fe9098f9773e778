"""An encoder-only self-attention text classifier.

The Transformer encoder (Vaswani et al. 2017) of :mod:`attnkit.models.transformer` — the same
``EncoderLayer``, ``Positions`` and ``feed_forward`` — followed by a pooling of the token states into one
vector and a linear layer to the classes. Pooling is a choice of construction:

- ``attention``: HAN's learned context vector (Yang et al. 2016, eqs. 5-7), :class:`AttentionPooling`;
- ``mean``: the average of the real tokens;
- ``cls``: a learned vector prepended to the sequence whose top-layer state is the summary (as BERT's
  ``[CLS]``, Devlin et al. 2019). It takes position 0, so the self-attention maps have ``S + 1`` positions.

Legend: B batch, S sequence length, D model dim, H heads, L layers, C classes, V vocab, F feed-forward dim.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attnkit.attention import AttentionPooling, Dropout, MultiHeadAttention
from attnkit.models.registry import register_model
from attnkit.models.transformer import EncoderLayer, Positions, feed_forward

__all__ = ["POOLINGS", "ClassificationLoss", "ClassifierOutput", "TransformerClassifier", "classification_loss",
           "transformer_classifier"]

POOLINGS = ("attention", "mean", "cls")


class ClassifierOutput(NamedTuple):
    logits: Tensor  # [B, C]
    attn: Tensor | None  # [B, L, H, S, S] per-layer self-attention ([.., S + 1, S + 1] with cls), or None
    pool_weights: Tensor | None  # [B, S] pooling weights (attention, mean), None for cls


class ClassificationLoss(NamedTuple):
    loss: Tensor  # scalar: mean (label-smoothed) cross-entropy per example
    nll: Tensor  # scalar: summed negative log-likelihood (no smoothing), as the training loop reports
    ntokens: int  # examples in the batch (the unit the loss is averaged over)
    logits: Tensor  # [B, C]


def classification_loss(logits: Tensor, labels: Tensor, label_smoothing: float,
                        class_weights: Tensor | None = None) -> ClassificationLoss:
    """Mean label-smoothed cross-entropy of ``logits [B, C]`` against ``labels [B]``, with the summed plain NLL.

    ``class_weights [C]`` (e.g. inverse class frequencies, sklearn's "balanced") weight each example's
    term in ``loss`` by its class, the mean taken over the weights (as ``F.cross_entropy`` does); the NLL
    reported for perplexity stays unweighted.
    """
    if labels.shape != logits.shape[:1]:
        raise ValueError(f"labels must be [B]={list(logits.shape[:1])}, got {list(labels.shape)}")
    if class_weights is not None and class_weights.shape != logits.shape[1:]:
        raise ValueError(f"class_weights must be [C]={list(logits.shape[1:])}, got {list(class_weights.shape)}")
    loss = F.cross_entropy(logits, labels, weight=class_weights, label_smoothing=label_smoothing)
    with torch.no_grad():
        nll = F.cross_entropy(logits, labels, reduction="sum")
    return ClassificationLoss(loss, nll, labels.size(0), logits)


class MeanPooling(nn.Module):
    """The average of the real positions, returned with its (uniform) weights."""

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """``x [B, S, D]``, ``mask [B, S]`` -> ``[B, D]``, weights ``[B, S]``; no real position pools to 0."""
        weights = mask.to(x.dtype) / mask.sum(1, keepdim=True).clamp(min=1)  # [B, S]
        return (weights[:, :, None] * x).sum(1), weights  # [B, D]


class FirstPosition(nn.Module):
    """The state at position 0 (the prepended CLS vector)."""

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, None]:
        return x[:, 0], None  # [B, D]


class TransformerClassifier(nn.Module):
    """Token embedding + positions + encoder layers (+ final norm for pre-LN) + pooling + linear head.

    Sub-layers are handed in by :func:`transformer_classifier`. ``cls`` is the learned vector to prepend
    (``[D]``) when the pooling reads position 0, else None.
    """

    def __init__(self, *, embed: nn.Embedding, positions: Positions, encoder: nn.ModuleList, pooling: nn.Module,
                 head: nn.Linear, norm_first: bool, dropout: float, cls: nn.Parameter | None = None,
                 pad_id: int = 0) -> None:
        super().__init__()
        self.embed, self.positions, self.encoder, self.pooling, self.head = embed, positions, encoder, pooling, head
        # Pre-LN stacks end with a final norm (their residual stream is never normalised otherwise).
        self.norm = nn.LayerNorm(embed.embedding_dim) if norm_first else nn.Identity()
        self.dropout = Dropout(dropout)
        self.cls, self.pad_id = cls, pad_id

    @property
    def num_classes(self) -> int:
        return self.head.out_features

    def encode(self, tokens: Tensor, mask: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor, Tensor | None]:
        """Encoder states ``[B, S', D]``, their mask ``[B, S']`` and, when asked, the self-attention
        ``[B, L, H, S', S']`` (``S' = S + 1`` with a CLS vector, else ``S``)."""
        x = self.embed(tokens)  # [B, S, D]
        if self.cls is not None:
            x = torch.cat([self.cls.to(x.dtype).expand(x.size(0), 1, -1), x], 1)  # [B, S + 1, D]
            mask = torch.cat([mask.new_ones(mask.size(0), 1), mask], 1)  # [B, S + 1]
        x = self.positions(x)
        weights = []
        for layer in self.encoder:
            x, w = layer(x, mask, need_weights)  # [B, S', D], [B, H, S', S'] or None
            weights.append(w)
        return self.norm(x), mask, (torch.stack(weights, 1) if need_weights else None)

    def forward(self, tokens: Tensor, mask: Tensor, need_weights: bool = False) -> ClassifierOutput:
        """Class logits of a batch of token sequences.

        Shapes:
            tokens ``[B, S]`` (integer ids), mask ``[B, S]`` (bool, True = real token) -> logits ``[B, C]``,
            attn ``[B, L, H, S, S]`` (``S + 1`` with cls pooling, CLS at 0; None unless ``need_weights``),
            pool_weights ``[B, S]`` (0 on padding; None with cls pooling).
        """
        if tokens.dim() != 2 or tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
            raise ValueError(f"tokens must be integer ids [B, S], got {tokens.dtype} {list(tokens.shape)}")
        if mask.shape != tokens.shape or mask.dtype != torch.bool:
            raise ValueError(f"mask must be bool {list(tokens.shape)} like tokens, got {mask.dtype} {list(mask.shape)}")
        states, mask, attn = self.encode(tokens, mask, need_weights)
        pooled, pool_weights = self.pooling(states, mask)  # [B, D], [B, S'] or None
        if pool_weights is not None and self.cls is not None:
            pool_weights = pool_weights[:, 1:]  # [B, S]
        return ClassifierOutput(self.head(self.dropout(pooled)), attn, pool_weights)

    def loss(self, batch, label_smoothing: float = 0.0) -> ClassificationLoss:
        """Cross-entropy of ``batch.labels [B]`` given ``batch.tokens``, ``batch.mask``; fused attention path."""
        return classification_loss(self(batch.tokens, batch.mask).logits, batch.labels, label_smoothing,
                                   getattr(batch, "class_weights", None))


@register_model("transformer_classifier")
def transformer_classifier(vocab_size: int, num_classes: int, *, embed_dim: int = 128, num_heads: int = 4,
                           ff_dim: int = 512, num_layers: int = 2, dropout: float = 0.1, norm_first: bool = True,
                           positions: str = "sinusoidal", max_positions: int = 1024, pooling: str = "attention",
                           attention_dropout: float | None = None, pad_id: int = 0) -> TransformerClassifier:
    """Build the classifier from its parts (every sub-layer is handed to its layer); ``attention_dropout``
    defaults to ``dropout``."""
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    embed = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
    nn.init.normal_(embed.weight, 0.0, embed_dim**-0.5)
    with torch.no_grad():
        embed.weight[pad_id].zero_()
    encoder = nn.ModuleList(
        EncoderLayer(self_attn=MultiHeadAttention(embed_dim, num_heads,
                                                  dropout=dropout if attention_dropout is None else attention_dropout),
                     ff=feed_forward(embed_dim, ff_dim, dropout), dim=embed_dim, dropout=dropout,
                     norm_first=norm_first)
        for _ in range(num_layers))
    pool = {"attention": lambda: AttentionPooling(embed_dim), "mean": MeanPooling, "cls": FirstPosition}[pooling]()
    cls = nn.Parameter(torch.randn(embed_dim) * embed_dim**-0.5) if pooling == "cls" else None
    return TransformerClassifier(embed=embed,
                                 positions=Positions(embed_dim, kind=positions, max_len=max_positions, dropout=dropout),
                                 encoder=encoder, pooling=pool, head=nn.Linear(embed_dim, num_classes),
                                 norm_first=norm_first, dropout=dropout, cls=cls, pad_id=pad_id)
