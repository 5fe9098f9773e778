"""The Transformer encoder-decoder (Vaswani et al. 2017), composed from attnkit's multi-head attention.

Layers receive their sub-layers from builders (``transformer_seq2seq``), so pre-LN and post-LN
(Xiong et al. 2020), sinusoidal or learned positions, shared source/target embeddings and a tied output
projection are choices of construction, not branches inside ``forward``.

Incremental decoding keeps an explicit cache in the decoder state: the cross-attention keys/values of
every layer, projected once per source, and the self-attention keys/values of the steps so far. Cached
decoding equals the full teacher-forced forward pass (tested).

The step protocol returns, as ``attn``, the cross-attention of the alignment layer averaged over its
heads (``[B, S]``; default: the penultimate decoder layer, where attention aligns best, Garg et al. 2019);
with ``attention_output="all"`` it returns every layer and head, ``[B, L, H, S]``.

Legend: B batch, S source len, T target len, D model dim, H heads, Dh head dim, L layers, V vocab,
F feed-forward dim.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field, replace

import torch
from torch import Tensor, nn

from attnkit.attention import Dropout, MultiHeadAttention, causal_mask
from attnkit.models.registry import register_model
from attnkit.models.seq2seq import (
    LossOutput,
    add_attention_terms,
    coverage_weight,
    guidance_weight,
    sequence_loss,
    vocab_log_probs,
)

__all__ = ["DecoderLayer", "EncoderLayer", "Positions", "TransformerSeq2Seq", "TransformerState",
           "transformer_seq2seq"]


class Positions(nn.Module):
    """Sinusoidal (Vaswani et al. 2017, section 3.5) or learned absolute positions, added to ``x * sqrt(D)``."""

    def __init__(self, dim: int, *, kind: str = "sinusoidal", max_len: int = 1024, dropout: float = 0.1) -> None:
        super().__init__()
        if kind not in ("sinusoidal", "learned"):
            raise ValueError(f"unknown positions {kind!r}; choose sinusoidal or learned")
        self.kind, self.max_len, self.scale = kind, max_len, math.sqrt(dim)
        if kind == "learned":
            self.table = nn.Embedding(max_len, dim)
        else:
            pos = torch.arange(max_len, dtype=torch.float32)[:, None]
            div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
            table = torch.zeros(max_len, dim)
            table[:, 0::2], table[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)[:, : dim // 2]
            self.register_buffer("table_buffer", table, persistent=False)
        self.dropout = Dropout(dropout)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        """``x [B, T, D]`` embeddings of positions ``offset .. offset+T-1``."""
        T = x.size(1)
        if offset + T > self.max_len:
            raise ValueError(f"sequence of {offset + T} positions exceeds max_len={self.max_len}; "
                             f"raise model.max_positions")
        idx = torch.arange(offset, offset + T, device=x.device)
        table = self.table(idx) if self.kind == "learned" else self.table_buffer[idx]
        return self.dropout(x * self.scale + table)  # [B, T, D]


class _Residual(nn.Module):
    """``x + dropout(f(norm(x)))`` (pre-LN) or ``norm(x + dropout(f(x)))`` (post-LN)."""

    def __init__(self, dim: int, dropout: float, norm_first: bool) -> None:
        super().__init__()
        self.norm, self.dropout, self.norm_first = nn.LayerNorm(dim), Dropout(dropout), norm_first

    def forward(self, x: Tensor, fn) -> tuple[Tensor, object]:
        out, extra = fn(self.norm(x) if self.norm_first else x)
        y = x + self.dropout(out)
        return (y if self.norm_first else self.norm(y)), extra


def feed_forward(dim: int, ff_dim: int, dropout: float) -> nn.Sequential:
    """Position-wise FFN (section 3.3): ``max(0, x W1 + b1) W2 + b2``."""
    return nn.Sequential(nn.Linear(dim, ff_dim), nn.ReLU(inplace=True), Dropout(dropout), nn.Linear(ff_dim, dim))


class EncoderLayer(nn.Module):
    def __init__(self, *, self_attn: MultiHeadAttention, ff: nn.Module, dim: int, dropout: float,
                 norm_first: bool) -> None:
        super().__init__()
        self.self_attn, self.ff = self_attn, ff
        self.res_attn, self.res_ff = _Residual(dim, dropout, norm_first), _Residual(dim, dropout, norm_first)

    def forward(self, x: Tensor, mask: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        """``x [B, S, D]``, ``mask [B, S]`` -> ``[B, S, D]``, weights ``[B, H, S, S]`` or None."""
        x, w = self.res_attn(x, lambda h: self.self_attn(h, h, h, mask, need_weights=need_weights,
                                                          average_weights=False))
        x, _ = self.res_ff(x, lambda h: (self.ff(h), None))
        return x, w


class DecoderLayer(nn.Module):
    def __init__(self, *, self_attn: MultiHeadAttention, cross_attn: MultiHeadAttention, ff: nn.Module,
                 dim: int, dropout: float, norm_first: bool) -> None:
        super().__init__()
        self.self_attn, self.cross_attn, self.ff = self_attn, cross_attn, ff
        self.res_self = _Residual(dim, dropout, norm_first)
        self.res_cross = _Residual(dim, dropout, norm_first)
        self.res_ff = _Residual(dim, dropout, norm_first)

    def forward(self, x: Tensor, self_kv: tuple[Tensor, Tensor] | None, cross_kv: tuple[Tensor, Tensor],
                self_mask: Tensor | None, src_mask: Tensor, need_weights: bool = False,
                need_self_weights: bool | None = None, self_rows: Tensor | None = None):
        """One layer over ``x [N, T, D]``.

        ``self_kv`` holds the cached self-attention keys/values of earlier steps (``[N, H, t, Dh]``, or
        ``[M, H, t, Dh]`` of which row ``self_rows[n]`` belongs to row ``n`` of ``x``) or None (full pass).
        ``cross_kv`` and ``src_mask`` have ``B`` rows: ``N = B`` or, for one step
        (``T = 1``), ``N = B * K``, the ``K`` adjacent rows of a sentence's beams sharing its row (their
        queries then attend as ``K`` positions of one ``[K, S]`` attention). Returns the output, the new
        self keys/values, and self/cross weights ``[N, H, T, T or t+T]`` / ``[N, H, T, S]`` (None unless
        ``need_self_weights`` (default: ``need_weights``) / ``need_weights``).
        """
        need_self_weights = need_weights if need_self_weights is None else need_self_weights

        def self_block(h):
            q, (k, v) = self.self_attn.project_qkv(h)  # [N, H, T, Dh] each
            if self_kv is not None:
                k, v = _gather_append(self_kv[0], self_rows, k), _gather_append(self_kv[1], self_rows, v)
            out = self.self_attn.attend_heads(q, (k, v), self_mask, need_weights=need_self_weights,
                                              average_weights=False)
            return out.output, (k, v, out.attn_weights)

        x, (k, v, self_w) = self.res_self(x, self_block)
        x, cross_w = self.res_cross(x, lambda h: self._cross(h, cross_kv, src_mask, need_weights))
        x, _ = self.res_ff(x, lambda h: (self.ff(h), None))
        return x, (k, v), self_w, cross_w

    def _cross(self, h: Tensor, cross_kv: tuple[Tensor, Tensor], src_mask: Tensor, need_weights: bool):
        N, T, D = h.shape
        B = cross_kv[0].size(0)
        if N == B:
            out = self.cross_attn.attend(h, cross_kv, src_mask, need_weights=need_weights, average_weights=False)
            return out.output, out.attn_weights
        if T != 1 or N % B:
            raise ValueError(f"{N} rows of {T} step(s) cannot share {B} sources: beams share a source's row "
                             "one step at a time, K adjacent rows per sentence")
        out = self.cross_attn.attend(h.view(B, N // B, D), cross_kv, src_mask, need_weights=need_weights,
                                     average_weights=False)  # [B, K, D], [B, H, K, S]
        w = out.attn_weights
        w = None if w is None else w.transpose(1, 2).reshape(N, w.size(1), 1, w.size(3))  # [N, H, 1, S]
        return out.output.view(N, 1, D), w


def _gather_append(cache: Tensor, rows: Tensor | None, new: Tensor) -> Tensor:
    """The rows ``rows [N]`` of ``cache [M, H, t, Dh]`` (all of them, in order, if None) followed by ``new
    [N, H, T, Dh]`` along the steps, ``[N, H, t + T, Dh]``: one copy of the cache a step, gathered straight
    into the new one (a beam search that reordered the cache and then concatenated copied it twice)."""
    if rows is None:
        return torch.cat([cache, new], 2)
    grad = torch.is_grad_enabled() and (cache.requires_grad or new.requires_grad)  # out= records no gradient
    if grad or cache.device.type != "cpu":  # the strided out= is measured (and tested) on CPU only
        return torch.cat([cache.index_select(0, rows), new], 2)
    t = cache.size(2)
    out = new.new_empty(new.size(0), new.size(1), t + new.size(2), new.size(3))
    torch.index_select(cache, 0, rows, out=out[:, :, :t])
    out[:, :, t:] = new
    return out


@dataclass
class TransformerState:
    """Decoder state between steps; batch-first (the self-attention cache through ``self_rows``) so search can
    reorder it."""

    # The same for every beam of a sentence (search need not reorder them along beams):
    memory_mask: Tensor = field(metadata={"per_source": True})  # [B, S]
    cross_k: tuple[Tensor, ...] = field(metadata={"per_source": True})  # per layer [B, H, S, Dh], projected once
    cross_v: tuple[Tensor, ...] = field(metadata={"per_source": True})  # per layer [B, H, S, Dh]
    # The self-attention cache is not reordered by search: its rows are read through self_rows, which is,
    # and the next step gathers them as it appends its own keys (one copy of the cache a step, not two).
    self_k: tuple[Tensor, ...] = field(metadata={"gathered": True})  # per decoder layer [M, H, t, Dh]: keys so far
    self_v: tuple[Tensor, ...] = field(metadata={"gathered": True})  # per decoder layer [M, H, t, Dh]
    self_rows: Tensor  # [B] the cache row of each row
    # Per-layer tensors, not one stacked [B, L, ...] tensor: each step appends to every layer's cache,
    # and stacking would copy the whole cache once more per step; a layer's slice of a stacked cross-
    # attention tensor is not contiguous over [B, H], so every matmul with it would copy it (a quarter of
    # a beam-5 step, profiled).

    @property
    def beams_share_source(self) -> bool:
        """Beam search keeps the per-source tensors at one row per sentence: a step's cross-attention reads
        a sentence's row for all of its adjacent beams (:meth:`DecoderLayer.forward`)."""
        return True


class TransformerSeq2Seq(nn.Module):
    """Encoder-decoder Transformer speaking the ``encode`` / ``decode_step`` protocol."""

    def __init__(self, *, src_embed: nn.Embedding, tgt_embed: nn.Embedding, positions: Positions,
                 encoder: nn.ModuleList, decoder: nn.ModuleList, generator: nn.Linear, norm_first: bool,
                 align_layer: int = -2, attention_output: str = "align", pad_id: int = 0) -> None:
        super().__init__()
        self.src_embed, self.tgt_embed, self.positions = src_embed, tgt_embed, positions
        self.encoder, self.decoder, self.generator = encoder, decoder, generator
        dim = src_embed.embedding_dim
        # Pre-LN stacks end with a final norm (their residual stream is never normalised otherwise).
        self.enc_norm = nn.LayerNorm(dim) if norm_first else nn.Identity()
        self.dec_norm = nn.LayerNorm(dim) if norm_first else nn.Identity()
        n = len(decoder)
        self.align_layer = align_layer % n if n > 1 else 0
        self.attention_output, self.pad_id = attention_output, pad_id

    # ------------------------------------------------------------------ encoder
    def encode_memory(self, src: Tensor, src_mask: Tensor, need_weights: bool = False):
        """Encoder output ``[B, S, D]`` and, when asked, self-attention ``[B, L, H, S, S]``."""
        x = self.positions(self.src_embed(src))
        weights = []
        for layer in self.encoder:
            x, w = layer(x, src_mask, need_weights)
            weights.append(w)
        return self.enc_norm(x), (torch.stack(weights, 1) if need_weights else None)

    def encode(self, src: Tensor, src_mask: Tensor) -> TransformerState:
        if src.shape != src_mask.shape:
            raise ValueError(f"src {list(src.shape)} and src_mask {list(src_mask.shape)} must match")
        memory, _ = self.encode_memory(src, src_mask)
        kv = [layer.cross_attn.project_kv(memory, memory) for layer in self.decoder]
        cross_k = tuple(k.contiguous() for k, _ in kv)  # L x [B, H, S, Dh]
        cross_v = tuple(v.contiguous() for _, v in kv)
        empty = tuple(k[:, :, :0] for k in cross_k)  # L x [B, H, 0, Dh]
        return TransformerState(src_mask, cross_k, cross_v, empty, empty, torch.arange(src.size(0), device=src.device))

    def alignment_from(self, attn_all: Tensor) -> Tensor:
        """The alignment view of every-layer attention: ``[..., L, H, S]`` -> ``[..., S]`` (the alignment
        layer, heads averaged), as :meth:`decode_step` returns with ``attention_output="align"``."""
        return self._heads_averaged(attn_all[..., self.align_layer, :, :])

    @staticmethod
    def _heads_averaged(attn: Tensor) -> Tensor:
        """One layer's ``[..., H, S]`` -> the alignment view ``[..., S]``."""
        return attn.mean(-2)

    # ------------------------------------------------------------------ decoder
    def decode_step(self, tokens: Tensor, state: TransformerState) -> tuple[Tensor, TransformerState, Tensor]:
        """One step with the cache. tokens ``[B]`` -> log_probs ``[B, V]``, attn ``[B, S]`` or ``[B, L, H, S]``."""
        t = state.self_k[0].size(2)
        x = self.positions(self.tgt_embed(tokens[:, None]), offset=t)  # [B, 1, D]
        every = self.attention_output == "all"  # else only the alignment layer's weights are returned
        # One query a row: on the CPU the explicit attention (two batched products and a softmax, ~370 us)
        # took 60% of the time of F.scaled_dot_product_attention's flash kernel (~620 us; beam 5, 320 rows),
        # so every layer takes it there; elsewhere the layers whose weights are not returned take SDPA.
        explicit = x.device.type == "cpu"
        new_k, new_v, cross = [], [], []
        for i, layer in enumerate(self.decoder):
            returned = every or i == self.align_layer
            x, (k, v), _, w = layer(x, (state.self_k[i], state.self_v[i]),
                                    (state.cross_k[i], state.cross_v[i]), None, state.memory_mask,
                                    need_weights=returned or explicit, need_self_weights=explicit,
                                    self_rows=state.self_rows)
            new_k.append(k)
            new_v.append(v)
            if returned:
                cross.append(w[:, :, 0])  # [B, H, S]
        log_probs = vocab_log_probs(self.dec_norm(x[:, 0]), self.generator)  # [B, V]
        state = replace(state, self_k=tuple(new_k), self_v=tuple(new_v),
                        self_rows=torch.arange(x.size(0), device=x.device))
        attn = torch.stack(cross, 1) if every else self._heads_averaged(cross[0])  # [B, L, H, S] / [B, S]
        return log_probs, state, attn

    def decode_full(self, tgt_in: Tensor, memory_kv: TransformerState, need_weights: bool = False):
        """Teacher-forced decoder over all steps at once: output ``[B, T, D]``, self and cross weights
        ``[B, L, H, T, T]`` / ``[B, L, H, T, S]`` (None unless ``need_weights``)."""
        layers = range(len(self.decoder)) if need_weights else ()
        hidden, self_ws, cross_ws = self._decode_layers(tgt_in, memory_kv, layers)
        if not need_weights:
            return hidden, None, None
        return hidden, torch.stack(self_ws, 1), torch.stack(cross_ws, 1)

    def _decode_layers(self, tgt_in: Tensor, memory_kv: TransformerState, weights_of: Collection[int]):
        """The decoder stack over all steps; only the layers in ``weights_of`` take the explicit attention
        path and return weights (the rest stay fused). Returns output ``[B, T, D]`` and per-layer lists
        of self/cross weights ``[B, H, T, T]`` / ``[B, H, T, S]``, None for layers not in ``weights_of``."""
        T = tgt_in.size(1)
        x = self.positions(self.tgt_embed(tgt_in))
        mask = causal_mask(T, device=tgt_in.device)  # [1, T, T]
        self_ws, cross_ws = [], []
        for i, layer in enumerate(self.decoder):
            x, _, sw, cw = layer(x, None, (memory_kv.cross_k[i], memory_kv.cross_v[i]), mask,
                                 memory_kv.memory_mask, need_weights=i in weights_of)
            self_ws.append(sw)
            cross_ws.append(cw)
        return self.dec_norm(x), self_ws, cross_ws

    def forward(self, src: Tensor, src_mask: Tensor, tgt_in: Tensor, need_weights: bool = True):
        """Teacher-forced logits ``[B, T, V]`` and the alignment-layer cross-attention ``[B, T, S]``."""
        hidden, _, cross = self.decode_full(tgt_in, self.encode(src, src_mask), need_weights=need_weights)
        attn = cross[:, self.align_layer].mean(1) if need_weights else None
        return self.generator(hidden), attn

    def loss(self, batch, label_smoothing: float = 0.0, guided_alignment: float | None = None) -> LossOutput:
        """Label-smoothed cross-entropy; the fused attention path (no weights) while training.

        With gold attention on the batch (``batch.align``) and a positive weight (``guided_alignment``,
        by default ``batch.align_weight``), the head-averaged cross-attention of ``align_layer`` (the view
        :meth:`alignment_from` gives) is supervised as well (:func:`~attnkit.models.seq2seq.add_guided_alignment`);
        with ``batch.coverage_weight > 0`` the same view pays the coverage penalty
        (:func:`~attnkit.models.seq2seq.coverage_penalty`). Only that layer leaves the fused path. Its weights
        are the ones the layer used, attention dropout included: a cell is zero only where dropout removed it
        in every head.
        """
        if not (guidance_weight(batch, guided_alignment) or coverage_weight(batch)):
            logits, _ = self(batch.src, batch.src_mask, batch.tgt_in, need_weights=False)
            no_attn = logits.new_zeros(0)  # not computed on the fused training path
            return sequence_loss(logits, batch.tgt_out, no_attn, pad_id=self.pad_id, label_smoothing=label_smoothing)
        hidden, _, cross = self._decode_layers(batch.tgt_in, self.encode(batch.src, batch.src_mask), {self.align_layer})
        attn = cross[self.align_layer].mean(1)  # [B, T, S]
        out = sequence_loss(self.generator(hidden), batch.tgt_out, attn, pad_id=self.pad_id,
                            label_smoothing=label_smoothing)
        return add_attention_terms(out, attn, batch, guided_alignment)


@register_model("transformer")
def transformer_seq2seq(src_vocab: int, tgt_vocab: int, *, embed_dim: int = 128, num_heads: int = 4,
                        ff_dim: int = 512, encoder_layers: int = 2, decoder_layers: int = 2, dropout: float = 0.1,
                        norm_first: bool = True, positions: str = "sinusoidal", max_positions: int = 1024,
                        share_embeddings: bool = False, tie_embeddings: bool = True, align_layer: int = -2,
                        attention_output: str = "align", attention_dropout: float | None = None,
                        pad_id: int = 0) -> TransformerSeq2Seq:
    """Build a Transformer from its parts (every sub-layer is handed to its layer). ``attention_dropout``
    (default ``dropout``) drops attention weights; ``dropout`` the embeddings, sub-layer outputs and the
    feed-forward activations."""
    if share_embeddings and src_vocab != tgt_vocab:
        raise ValueError(f"share_embeddings needs one vocabulary; got {src_vocab} source and {tgt_vocab} target "
                         f"ids (set data.tokenizer.shared: true)")
    if attention_output not in ("align", "all"):
        raise ValueError(f"attention_output must be 'align' or 'all', got {attention_output!r}")

    def mha():
        rate = dropout if attention_dropout is None else attention_dropout
        return MultiHeadAttention(embed_dim, num_heads, dropout=rate)

    src_embed = nn.Embedding(src_vocab, embed_dim, padding_idx=pad_id)
    tgt_embed = src_embed if share_embeddings else nn.Embedding(tgt_vocab, embed_dim, padding_idx=pad_id)
    for emb in {id(src_embed): src_embed, id(tgt_embed): tgt_embed}.values():
        nn.init.normal_(emb.weight, 0.0, embed_dim**-0.5)
        with torch.no_grad():
            emb.weight[pad_id].zero_()  # normal_ overwrote padding_idx's zero row
    encoder = nn.ModuleList(EncoderLayer(self_attn=mha(), ff=feed_forward(embed_dim, ff_dim, dropout), dim=embed_dim,
                                         dropout=dropout, norm_first=norm_first) for _ in range(encoder_layers))
    decoder = nn.ModuleList(DecoderLayer(self_attn=mha(), cross_attn=mha(), ff=feed_forward(embed_dim, ff_dim, dropout),
                                         dim=embed_dim, dropout=dropout, norm_first=norm_first)
                            for _ in range(decoder_layers))
    generator = nn.Linear(embed_dim, tgt_vocab)
    if tie_embeddings:
        generator.weight = tgt_embed.weight
    return TransformerSeq2Seq(src_embed=src_embed, tgt_embed=tgt_embed,
                              positions=Positions(embed_dim, kind=positions, max_len=max_positions, dropout=dropout),
                              encoder=encoder, decoder=decoder, generator=generator, norm_first=norm_first,
                              align_layer=align_layer, attention_output=attention_output, pad_id=pad_id)
