"""Hierarchical Attention Networks for document classification (Yang et al. 2016).

A document is a grid of word ids ``[B, N, W]``: N sentences of at most W words. Two levels, each an
encoder followed by a pooling (section 2.2 of the paper):

- word encoder: ``x_it = W_e w_it``, ``h_it = [GRU_fwd(x_it); GRU_bwd(x_it)]`` (2.2.1);
- word attention: ``u_it = tanh(W_w h_it + b_w)``, ``alpha_it = softmax_t(u_it . u_w)``,
  ``s_i = sum_t alpha_it h_it`` (eqs. 5-7), an :class:`AttentionPooling`;
- sentence encoder: ``h_i = [GRU_fwd(s_i); GRU_bwd(s_i)]`` (2.2.3);
- sentence attention: ``u_i = tanh(W_s h_i + b_s)``, ``alpha_i = softmax_i(u_i . u_s)``,
  ``v = sum_i alpha_i h_i`` (eqs. 8-10), a second :class:`AttentionPooling`;
- classifier: ``p = softmax(W_c v + b_c)`` (eq. 11), trained with cross-entropy (eq. 12).

``pooling="mean"`` / ``"max"`` swaps both attentions for a masked average / masked max: the same network
without attention, the baseline the paper compares against (its "HN-AVE" and "HN-MAX").

Only real text is read. The word GRU runs over the sentences that hold at least one real word, the
sentence GRU over the documents that hold at least one real sentence, the real positions of each row are
moved to its front first, and no GRU step reads padding before text (:class:`RaggedBiGRU`), so padding
anywhere (after the text or between its pieces) changes nothing. :class:`Compaction` keeps the indices
that move vectors between the full ``[R, L]`` grid and these left-aligned, non-empty rows; the matcher
(:mod:`attnkit.models.matcher`) reuses it with :class:`RaggedBiGRU` and :class:`MaxPooling`.

Legend: B batch (documents), N sentences, W words, K real positions of a mask, R rows of a mask,
R' non-empty rows, L row length, L' longest real row, E embed dim, H GRU hidden dim per direction,
A attention dim, D feature dim, C classes, V vocabulary.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from attnkit.attention import AttentionPooling, Dropout, PoolingOutput
from attnkit.models.classifier import ClassificationLoss, MeanPooling, classification_loss
from attnkit.models.registry import register_model

__all__ = [
    "HAN",
    "HAN_POOLINGS",
    "Compaction",
    "HANOutput",
    "HierarchicalAttentionNetwork",
    "MaxPooling",
    "RaggedBiGRU",
    "embedding",
    "han",
    "init_gru",
    "scatter_real",
]

HAN_POOLINGS = ("attention", "mean", "max")


class HANOutput(NamedTuple):
    logits: Tensor  # [B, C]
    word_weights: Tensor  # [B, N, W] each real sentence's weights sum to 1 over its real words; 0 elsewhere
    sentence_weights: Tensor  # [B, N] each document's weights sum to 1 over its real sentences; 0 elsewhere


# --------------------------------------------------------------------------- reading only real positions
class Compaction(NamedTuple):
    """Where the real positions of a ``[R, L]`` mask go once the empty rows are dropped and every kept
    row is left-aligned (its real positions first, in their order).

    Vectors of the K real positions, listed in the mask's row-major order (``x[mask]``), move to the
    compact grid with :meth:`gather`; ``compact[row, col]`` brings them back, and :func:`scatter_real`
    puts them into the full grid.
    """

    rows: Tensor  # [R'] index of each kept (non-empty) row in the full grid
    lengths: Tensor  # [R'] real positions in each kept row (>= 1)
    row: Tensor  # [K] kept-row index of each real position
    col: Tensor  # [K] its column in the compact grid
    width: int  # L' = the longest kept row (0 when nothing is real)

    @classmethod
    def of(cls, mask: Tensor) -> Compaction:
        lengths = mask.sum(1)  # [R]
        kept = lengths > 0
        rows = kept.nonzero().squeeze(1)  # [R']
        row_of_real = mask.nonzero(as_tuple=True)[0]  # [K] full-grid row of each real position
        row = (kept.cumsum(0) - 1)[row_of_real]  # [K]
        col = (mask.cumsum(1) - 1)[mask]  # [K] real positions before it in its row
        width = int(lengths.max()) if lengths.numel() else 0
        return cls(rows, lengths[rows], row, col, width)

    def gather(self, values: Tensor) -> Tensor:
        """``values [K, D]`` (real positions in row-major order) -> ``[R', L', D]``, zeros past each length."""
        grid = values.new_zeros(self.rows.numel(), self.width, *values.shape[1:])  # [R', L', D]
        return grid.index_put((self.row, self.col), values)

    def mask(self) -> Tensor:
        """The compact grid's mask ``[R', L']``: True on the first ``lengths`` positions of each row."""
        return torch.arange(self.width, device=self.lengths.device)[None, :] < self.lengths[:, None]


def scatter_real(values: Tensor, mask: Tensor) -> Tensor:
    """Put ``values [K, ...]`` (one per True of ``mask``, row-major order) into a zero grid ``[*mask.shape, ...]``."""
    grid = values.new_zeros(*mask.shape, *values.shape[1:])
    return grid.index_put(mask.nonzero(as_tuple=True), values)


def init_gru(rnn: nn.GRU) -> None:
    """Glorot input weights, orthogonal recurrent weights (one block per gate), zero biases."""
    for name, param in rnn.named_parameters():
        if name.startswith("weight_ih"):
            nn.init.xavier_uniform_(param)
        elif name.startswith("weight_hh"):
            for gate in param.chunk(3, 0):  # reset, update, new: each [H, H]
                nn.init.orthogonal_(gate)
        else:
            nn.init.zeros_(param)


class RaggedBiGRU(nn.Module):
    """A one-layer bidirectional GRU over left-aligned rows that never reads past a row's length.

    The backward direction reads each row reversed within its length (padding stays behind the text), so
    both directions see only real steps before any padding, and the outputs at real positions equal
    those of a packed bidirectional GRU. It runs on the padded grid rather than a ``PackedSequence``: on
    CPU, autograd through a packed GRU slices the packed input once per time step, and every slice's
    backward writes a gradient of the full input's size (``O(L K)`` memory traffic, most of a HAN step).

    Shapes:
        x ``[R, L, E]``, lengths ``[R]`` (each >= 1) -> ``[R, L, 2H]``, zeros past each length.
    """

    def __init__(self, input_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.fwd = nn.GRU(input_dim, hidden_dim, batch_first=True)
        self.bwd = nn.GRU(input_dim, hidden_dim, batch_first=True)
        self.out_dim = 2 * hidden_dim
        init_gru(self.fwd)
        init_gru(self.bwd)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        R, L = x.shape[:2]
        if R == 0 or L == 0:
            return x.new_zeros(R, L, self.out_dim)
        steps = torch.arange(L, device=x.device)[None, :]  # [1, L]
        real = steps < lengths[:, None]  # [R, L]
        # Reversing within the length is its own inverse: the same index maps the outputs back.
        flip = torch.where(real, lengths[:, None] - 1 - steps, steps)[:, :, None]  # [R, L, 1]
        forward_states, _ = self.fwd(x)  # [R, L, H]
        backward_states, _ = self.bwd(x.gather(1, flip.expand_as(x)))  # [R, L, H] in reversed order
        backward_states = backward_states.gather(1, flip.expand_as(backward_states))  # [R, L, H]
        return torch.cat([forward_states, backward_states], -1) * real[:, :, None]  # [R, L, 2H]


class MaxPooling(nn.Module):
    """The element-wise maximum over the real positions.

    Max pooling has no weights of its own; as a picture of where the summary came from, the returned
    ``attn_weights`` give each position the fraction of the D feature dimensions whose maximum it holds
    (they sum to 1 over a row with a real position). Gradients flow through the maxima only.

    Shapes:
        x ``[B, S, D]``, mask ``[B, S]`` -> context ``[B, D]``, attn_weights ``[B, S]``; a row with no
        real position pools to zeros with zero weights.
    """

    def forward(self, x: Tensor, mask: Tensor) -> PoolingOutput:
        if x.size(1) == 0:  # max() refuses an empty dimension
            return PoolingOutput(x.new_zeros(x.size(0), x.size(2)), x.new_zeros(mask.shape))
        filled = x.masked_fill(~mask[:, :, None], float("-inf"))  # [B, S, D]
        values, argmax = filled.max(1)  # [B, D], [B, D]
        nonempty = mask.any(1, keepdim=True)  # [B, 1]
        context = torch.where(nonempty, values, torch.zeros_like(values))  # [B, D] no -inf for empty rows
        share = x.new_full(argmax.shape, 1.0 / max(x.size(-1), 1))  # [B, D]
        weights = x.new_zeros(mask.shape).scatter_add(1, argmax, share) * nonempty  # [B, S]
        return PoolingOutput(context, weights)


def _pooling(kind: str, input_dim: int, attention_dim: int | None) -> nn.Module:
    if kind == "attention":
        return AttentionPooling(input_dim, attention_dim)
    return MeanPooling() if kind == "mean" else MaxPooling()


# --------------------------------------------------------------------------- the network
class HierarchicalAttentionNetwork(nn.Module):
    """Word encoder + word pooling + sentence encoder + sentence pooling + linear head (Yang et al. 2016).

    Sub-layers are handed in by :func:`han`. Poolings take ``(x [R, L, D], mask [R, L])`` and return
    ``(context [R, D], weights [R, L])``.
    """

    def __init__(self, *, embed: nn.Embedding, word_encoder: RaggedBiGRU, word_pooling: nn.Module,
                 sentence_encoder: RaggedBiGRU, sentence_pooling: nn.Module, head: nn.Linear, dropout: float,
                 pad_id: int = 0) -> None:
        super().__init__()
        self.embed, self.word_encoder, self.word_pooling = embed, word_encoder, word_pooling
        self.sentence_encoder, self.sentence_pooling, self.head = sentence_encoder, sentence_pooling, head
        self.dropout = Dropout(dropout)
        self.pad_id = pad_id

    @property
    def num_classes(self) -> int:
        return self.head.out_features

    def _checked_mask(self, tokens: Tensor, mask: Tensor | None) -> Tensor:
        if tokens.dim() != 3 or tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
            raise ValueError(f"tokens must be integer ids [B, N, W], got {tokens.dtype} {list(tokens.shape)}")
        if mask is None:
            return tokens != self.pad_id
        if mask.shape != tokens.shape or mask.dtype != torch.bool:
            raise ValueError(f"mask must be bool {list(tokens.shape)} like tokens, got {mask.dtype} {list(mask.shape)}")
        return mask

    def forward(self, tokens: Tensor, mask: Tensor | None = None) -> HANOutput:
        """Class logits of a batch of documents, with the word and sentence weights.

        Shapes:
            tokens ``[B, N, W]`` (integer ids), mask ``[B, N, W]`` (bool, True = real word; default
            ``tokens != pad_id``) -> logits ``[B, C]``, word_weights ``[B, N, W]``, sentence_weights
            ``[B, N]``. A sentence is real when it holds a real word. A document without real words gets
            the head's bias as logits and all-zero weights.
        """
        mask = self._checked_mask(tokens, mask)
        B, N, W = tokens.shape
        sentence_mask = mask.any(-1)  # [B, N]
        words = Compaction.of(mask.reshape(B * N, W))  # rows: the real sentences
        sentences = Compaction.of(sentence_mask)  # rows: the documents with a real sentence

        x = self.dropout(self.embed(tokens[mask]))  # [K, E] real words only
        h = self.word_encoder(words.gather(x), words.lengths)  # [S', W', 2H], S' real sentences
        s, alpha = self.word_pooling(h, words.mask())  # [S', 2H], [S', W'] (eqs. 5-7)
        # The real sentences are the rows `words` kept, in the same row-major order `sentences` lists them.
        h = self.sentence_encoder(sentences.gather(self.dropout(s)), sentences.lengths)  # [B', N', 2H]
        v, beta = self.sentence_pooling(h, sentences.mask())  # [B', 2H], [B', N'] (eqs. 8-10)

        doc = v.new_zeros(B, v.size(-1)).index_copy(0, sentences.rows, v)  # [B, 2H]
        logits = self.head(self.dropout(doc))  # [B, C] (eq. 11)
        word_weights = scatter_real(alpha[words.row, words.col], mask)  # [B, N, W]
        sentence_weights = scatter_real(beta[sentences.row, sentences.col], sentence_mask)  # [B, N]
        return HANOutput(logits, word_weights, sentence_weights)

    def loss(self, batch, label_smoothing: float = 0.0) -> ClassificationLoss:
        """Cross-entropy (eq. 12) of ``batch.labels [B]`` given ``batch.tokens [B, N, W]`` and ``batch.mask``."""
        return classification_loss(self(batch.tokens, batch.mask).logits, batch.labels, label_smoothing,
                                   getattr(batch, "class_weights", None))


HAN = HierarchicalAttentionNetwork


def embedding(vocab_size: int, embed_dim: int, pad_id: int) -> nn.Embedding:
    """A word embedding with ``N(0, 1/E)`` rows and a zero, never-updated padding row."""
    embed = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
    nn.init.normal_(embed.weight, 0.0, embed_dim**-0.5)
    with torch.no_grad():
        embed.weight[pad_id].zero_()
    return embed


@register_model("han")
def han(vocab_size: int, num_classes: int, *, embed_dim: int = 100, hidden_dim: int = 50,
        attention_dim: int | None = 100, pooling: str = "attention", dropout: float = 0.1,
        pad_id: int = 0) -> HierarchicalAttentionNetwork:
    """Build a HAN from its parts. ``hidden_dim`` is per GRU direction; ``attention_dim`` is the size of
    ``u_it`` and of the context vectors (None: ``2 * hidden_dim``); ``pooling`` picks attention, mean or max
    at both levels."""
    if pooling not in HAN_POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; choose one of {', '.join(HAN_POOLINGS)}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    if not 0 <= pad_id < vocab_size:
        raise ValueError(f"pad_id={pad_id} must be a token id below vocab_size={vocab_size}")
    dim = 2 * hidden_dim
    return HierarchicalAttentionNetwork(
        embed=embedding(vocab_size, embed_dim, pad_id),
        word_encoder=RaggedBiGRU(embed_dim, hidden_dim), word_pooling=_pooling(pooling, dim, attention_dim),
        sentence_encoder=RaggedBiGRU(dim, hidden_dim), sentence_pooling=_pooling(pooling, dim, attention_dim),
        head=nn.Linear(dim, num_classes), dropout=dropout, pad_id=pad_id)
