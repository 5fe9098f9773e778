"""Text matching with co-attention: do two texts match (paraphrase, translation, entailment, ...)?

Both texts are read by one shared embedding and bidirectional GRU (``a_i``, ``b_j``). Then:

- ``coattention=True``: a :class:`CoAttention` affinity ``e_ij = a_i . b_j`` (or ``a_i^T W b_j``) is
  normalised both ways, giving each position what it attends to in the other text: ``c_i = sum_j
  softmax_j(e_ij) b_j`` and ``c_j = sum_i softmax_i(e_ij) a_i`` (Parikh et al. 2016, eq. 2; Chen et al.
  2017, ESIM, eqs. 12-13). Each position is compared with its attended summary through ESIM's enhanced
  features ``m = [h; c; h - c; h * c]`` (eq. 14) and a ReLU projection (the "compare" feed-forward network
  of Parikh et al., eq. 3; ESIM's second BiLSTM is left out: the encoder's GRU has already given every
  position its context). Each side is summarised by a masked mean and max (ESIM eqs. 18-19) of its
  encoder states *and* of its compared positions into ``u`` (first text) and ``v`` (second text), so the
  co-attention model sees everything the baseline sees plus the comparison.
- ``coattention_words=True`` (co-attention only): each position is ``z_i = [s x_i; a_i]``, its word
  embedding (scaled by a learned scalar ``s``, initially ``E ** 0.25``) beside its encoder state, and the
  affinity, the attended summaries and the comparison are over ``z``: ``e_ij = s^2 x_i . y_j + a_i . b_j``
  lines words up by what they are as well as by their contexts (the affinity of Parikh et al. 2016 is over
  word vectors alone; ESIM's over the encoder states). The pooled encoder states stay as they are.
- ``coattention=False``, the baseline without co-attention: ``u`` and ``v`` are the masked mean and max of
  the encoder states themselves.

Both variants end in the same classifier, an MLP with a tanh hidden layer over ``[u; v; |u - v|; u * v]``
(the matching features of Conneau et al. 2017), so the two differ only in co-attention and comparison.
ESIM's eq. 20 reads ``[u; v]`` alone; with it, the co-attention model lagged the baseline on a toy
"is b a permutation of a?" task (held-out accuracy 0.58-0.62 against 0.75-0.89), with the difference and
product it led (0.84-0.92).

Legend: B batch, N first-text length, M second-text length, L max(N, M), E embed dim, H GRU hidden dim per
direction, Z compared size (2H, or E + 2H with ``coattention_words``), P projection dim (= H), C classes,
V vocabulary.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attnkit.attention import CoAttention, Dropout
from attnkit.models.classifier import ClassificationLoss, MeanPooling, classification_loss
from attnkit.models.han import Compaction, MaxPooling, RaggedBiGRU, embedding, scatter_real
from attnkit.models.registry import register_model

__all__ = ["MATCHER_SCORES", "MatchOutput", "Matcher", "matcher"]

MATCHER_SCORES = ("dot", "scaled_dot", "general")


class MatchOutput(NamedTuple):
    logits: Tensor  # [B, C]
    attn_ab: Tensor | None  # [B, N, M] each real position of a over the real positions of b; None without co-attention
    attn_ba: Tensor | None  # [B, M, N] each real position of b over the real positions of a; None without co-attention


class MeanMaxPooling(nn.Module):
    """``[masked mean; masked max]`` over the real positions: ``[B, S, D]``, ``[B, S]`` -> ``[B, 2D]``."""

    def __init__(self) -> None:
        super().__init__()
        self.mean, self.max = MeanPooling(), MaxPooling()

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        return torch.cat([self.mean(x, mask)[0], self.max(x, mask)[0]], -1)  # [B, 2D]


class Matcher(nn.Module):
    """Shared encoder, optional co-attention + comparison, pooling, MLP classifier.

    Sub-layers are handed in by :func:`matcher`. ``coattention`` and ``compare`` (the ReLU projection of
    ``[h; c; h - c; h * c]``) are both given, or both None for the baseline.
    """

    def __init__(self, *, embed: nn.Embedding, encoder: RaggedBiGRU, coattention: CoAttention | None,
                 compare: nn.Module | None, classifier: nn.Sequential, dropout: float,
                 coattention_words: bool = False) -> None:
        super().__init__()
        if (coattention is None) != (compare is None):
            raise ValueError("coattention and compare come together: give both or neither")
        if coattention_words and coattention is None:
            raise ValueError("coattention_words=True needs coattention=True")
        self.embed, self.encoder, self.coattention, self.compare = embed, encoder, coattention, compare
        # s of z = [s x; h]: E ** 0.25 makes a word's affinity with itself (s^2 |x|^2, |x|^2 ~ 1 at init) ~ sqrt(E)
        self.word_scale = nn.Parameter(torch.tensor(float(embed.embedding_dim) ** 0.25)) if coattention_words else None
        self.pool = MeanMaxPooling()
        self.classifier = classifier
        self.dropout = Dropout(dropout)

    @property
    def num_classes(self) -> int:
        return self.classifier[-1].out_features

    def encode(self, tokens: Tensor, mask: Tensor, *, with_words: bool = False) -> Tensor:
        """Shared embedding + bi-GRU over the real tokens only: ``[R, L]`` ids and mask -> ``[R, L, 2H]``
        (zeros at padding); ``with_words``: ``[R, L, E + 2H]``, each state preceded by its (dropped-out)
        word embedding times :attr:`word_scale`."""
        rows = Compaction.of(mask)
        x = self.dropout(self.embed(tokens[mask]))  # [K, E]
        h = self.encoder(rows.gather(x), rows.lengths)  # [R', L', 2H]
        h = self.dropout(scatter_real(h[rows.row, rows.col], mask))  # [R, L, 2H]
        return torch.cat([self.word_scale * scatter_real(x, mask), h], -1) if with_words else h  # [R, L, (E +) 2H]

    def encode_pair(self, tokens_a: Tensor, mask_a: Tensor, tokens_b: Tensor, mask_b: Tensor, *,
                    with_words: bool = False) -> tuple[Tensor, Tensor]:
        """Both texts through :meth:`encode` in one GRU call (max(N, M) sequential steps, not N + M):
        ``[B, N, 2H]``, ``[B, M, 2H]`` (``E + 2H`` with ``with_words``)."""
        B, N, M = tokens_a.size(0), tokens_a.size(1), tokens_b.size(1)
        L = max(N, M)
        tokens = torch.cat([F.pad(tokens_a, (0, L - N)), F.pad(tokens_b, (0, L - M))])  # [2B, L]
        mask = torch.cat([F.pad(mask_a, (0, L - N), value=False), F.pad(mask_b, (0, L - M), value=False)])  # [2B, L]
        h = self.encode(tokens, mask, with_words=with_words)  # [2B, L, (E +) 2H]
        return h[:B, :N], h[B:, :M]

    @staticmethod
    def _check(tokens_a: Tensor, mask_a: Tensor, tokens_b: Tensor, mask_b: Tensor) -> None:
        for name, tokens, mask, dims in (("a", tokens_a, mask_a, "B, N"), ("b", tokens_b, mask_b, "B, M")):
            if tokens.dim() != 2 or tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
                raise ValueError(f"tokens_{name} must be integer ids [{dims}], got {tokens.dtype} {list(tokens.shape)}")
            if mask.shape != tokens.shape or mask.dtype != torch.bool:
                raise ValueError(f"mask_{name} must be bool {list(tokens.shape)} like tokens_{name}, "
                                 f"got {mask.dtype} {list(mask.shape)}")
        if tokens_a.size(0) != tokens_b.size(0):
            raise ValueError(f"tokens_a and tokens_b must share the batch size, got {tokens_a.size(0)} and "
                             f"{tokens_b.size(0)}")

    def forward(self, tokens_a: Tensor, mask_a: Tensor, tokens_b: Tensor, mask_b: Tensor) -> MatchOutput:
        """Match logits of a batch of text pairs, with both co-attention maps.

        Shapes:
            tokens_a, mask_a ``[B, N]``; tokens_b, mask_b ``[B, M]`` (integer ids; bool, True = real token)
            -> logits ``[B, C]``, attn_ab ``[B, N, M]``, attn_ba ``[B, M, N]`` (rows of real positions sum
            to 1 over the other text's real positions; padded rows and columns are 0; None without
            co-attention).
        """
        self._check(tokens_a, mask_a, tokens_b, mask_b)
        words = self.word_scale is not None
        za, zb = self.encode_pair(tokens_a, mask_a, tokens_b, mask_b, with_words=words)  # [B, N, Z], [B, M, Z]
        E = self.embed.embedding_dim if words else 0
        a, b = za[..., E:], zb[..., E:]  # the encoder states [B, N, 2H], [B, M, 2H]
        if self.coattention is None:
            return MatchOutput(self.classifier(self._compare_pooled(self.pool(a, mask_a), self.pool(b, mask_b))),
                               None, None)
        co = self.coattention(za, zb, mask_a, mask_b)
        ma = self.compare(torch.cat([za, co.context1, za - co.context1, za * co.context1], -1))  # [B, N, P]
        mb = self.compare(torch.cat([zb, co.context2, zb - co.context2, zb * co.context2], -1))  # [B, M, P]
        u = torch.cat([self.pool(a, mask_a), self.pool(ma, mask_a)], -1)  # [B, 4H + 2P]
        v = torch.cat([self.pool(b, mask_b), self.pool(mb, mask_b)], -1)  # [B, 4H + 2P]
        return MatchOutput(self.classifier(self._compare_pooled(u, v)), co.attn1, co.attn2)

    @staticmethod
    def _compare_pooled(u: Tensor, v: Tensor) -> Tensor:
        """The classifier's input ``[u; v; |u - v|; u * v]``: ``[B, F]`` twice -> ``[B, 4F]``."""
        return torch.cat([u, v, (u - v).abs(), u * v], -1)

    def loss(self, batch, label_smoothing: float = 0.0) -> ClassificationLoss:
        """Cross-entropy of ``batch.labels [B]`` given ``batch.tokens_a``, ``mask_a``, ``tokens_b``, ``mask_b``."""
        out = self(batch.tokens_a, batch.mask_a, batch.tokens_b, batch.mask_b)
        return classification_loss(out.logits, batch.labels, label_smoothing, getattr(batch, "class_weights", None))


@register_model("matcher")
def matcher(vocab_size: int, num_classes: int = 2, *, embed_dim: int = 100, hidden_dim: int = 100,
            coattention: bool = True, score: str = "dot", dropout: float = 0.1, pad_id: int = 0,
            coattention_words: bool = False) -> Matcher:
    """Build a :class:`Matcher`. ``hidden_dim`` is per GRU direction and the size of the comparison
    projection and of the MLP's hidden layer; ``score`` is the co-attention affinity (dot, scaled_dot or
    general); ``coattention_words`` co-attends over word embeddings and encoder states; ``coattention=False``
    builds the baseline."""
    if score not in MATCHER_SCORES:
        raise ValueError(f"unknown co-attention score {score!r}; choose one of {', '.join(MATCHER_SCORES)}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    if not 0 <= pad_id < vocab_size:
        raise ValueError(f"pad_id={pad_id} must be a token id below vocab_size={vocab_size}")
    dim = 2 * hidden_dim  # encoder output
    if coattention:
        z = dim + embed_dim * coattention_words  # what is co-attended and compared
        co = CoAttention(z, z, score=score)
        compare = nn.Sequential(nn.Linear(4 * z, hidden_dim), nn.ReLU())
        pooled = 2 * dim + 2 * hidden_dim  # [mean; max] of the encoder states and of the compared positions
    else:
        co, compare, pooled = None, None, 2 * dim  # [mean; max] of the encoder states
    features = 4 * pooled  # [u; v; |u - v|; u * v]
    classifier = nn.Sequential(Dropout(dropout), nn.Linear(features, hidden_dim), nn.Tanh(), Dropout(dropout),
                               nn.Linear(hidden_dim, num_classes))
    return Matcher(embed=embedding(vocab_size, embed_dim, pad_id), encoder=RaggedBiGRU(embed_dim, hidden_dim),
                   coattention=co, compare=compare, classifier=classifier, dropout=dropout,
                   coattention_words=coattention_words)
