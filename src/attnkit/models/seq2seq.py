"""RNN encoder-decoder translation, with and without attention.

* ``bahdanau``: Bahdanau, Cho & Bengio (2015). The previous decoder state ``s_{i-1}`` attends over the
  annotations (additive score, eq. 6); ``s_i = f(s_{i-1}, y_{i-1}, c_i)`` (eq. 4); the output reads
  ``s_i``, ``c_i`` and ``y_{i-1}`` (appendix A.2.2, with tanh in place of maxout).
* ``luong``: Luong, Pham & Manning (2015). ``h_t = RNN(h_{t-1}, [y_{t-1}; h~_{t-1}])`` (input feeding,
  section 3.3), ``c_t`` from ``h_t`` (dot/general/concat, eq. 8), ``h~_t = tanh(W_c [c_t; h_t])``
  (eq. 5), ``p(y_t) = softmax(W_s h~_t)`` (eq. 6).
* ``none``: the encoder-decoder with one fixed context vector ``C`` (Cho et al. 2014; Sutskever et al.
  2014) that attention replaced: ``C`` is the encoder's final state, fed at every step. Its ``attn``
  is all zeros, returned so every decoder speaks the same protocol.

Guided alignment (Chen et al. 2016; Liu et al. 2016): when a batch carries gold attention
(``batch.align``) and a positive weight, ``loss`` adds ``weight * CE(gold, attention)`` per supervised
target token (:func:`guided_alignment_loss`); the Transformer shares the same functions.

Coverage penalty (See et al. 2017, eq. 12-13; Tu et al. 2016's coverage vector): with
``batch.coverage_weight > 0``, ``loss`` adds ``weight * mean_t sum_s min(a_t[s], c_t[s])``, where
``c_t = sum_{t' < t} a_t'`` is the attention already spent on each source position. No gold links are
used: the term only discourages attending twice to the same source token (:func:`coverage_penalty`).

All decoders speak the step protocol of :mod:`attnkit.decoding`: ``encode(src, src_mask) -> state``,
``decode_step(tokens, state) -> (log_probs, state, attn)``; state tensors are batch-first.

The encoder's two directions each get ``hidden_dim // 2`` units, so memory and decoder share a size
(as OpenNMT's ``brnn``).

Legend: B batch, S source len, T target len, E embed dim, He encoder hidden, Hd decoder hidden,
Dm memory dim (2 He), A attention dim, L layers, V vocabulary.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attnkit.attention import Attention, Dropout, apply_mask, dropout_mask
from attnkit.attention.scores import DotScore, GeneralScore
from attnkit.models.fused_luong import LuongLSTMStep, luong_lstm_recurrence
from attnkit.models.registry import register_model

__all__ = ["DECODERS", "LossOutput", "RNNEncoder", "RNNSeq2Seq", "RNNState", "add_attention_terms",
           "add_coverage_penalty", "add_guided_alignment", "coverage_penalty", "guidance_weight",
           "guided_alignment_loss", "rnn_seq2seq", "sequence_loss", "vocab_log_probs"]

DECODERS = ("bahdanau", "luong", "none")
READOUTS = ("state", "context")  # what an output layer reads besides the context and y_{i-1}: + the state, or not
_CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}
# Attention weights are floored before the log of the guided-alignment loss: a gold cell whose weight
# underflowed to 0 then costs -log(1e-12) ~ 27.6 instead of infinity (and passes no gradient).
ATTN_FLOOR = 1e-12


@dataclass
class RNNState:
    """Decoder state between steps; every tensor is batch-first so search can reorder it."""

    hidden: tuple[Tensor, ...]  # per decoder layer [B, Hd]
    cell: tuple[Tensor, ...] | None  # per decoder layer [B, Hd] (LSTM only)
    # Per-layer tensors, not one stacked [B, L, Hd]: a layer's slice of the stack is not contiguous, so the
    # cell's matmul copied it, and restacking every step copied the state once more.
    feed: Tensor | None  # [B, Hd] Luong input feeding: the previous attentional state h~
    # The same for every beam of a sentence (search need not reorder them along beams):
    memory: Tensor = field(metadata={"per_source": True})  # [B, S, Dm] values (annotations)
    keys: Tensor = field(metadata={"per_source": True})  # [B, S, A] keys projected once per source
    src_mask: Tensor = field(metadata={"per_source": True})  # [B, S]
    context: Tensor | None = field(metadata={"per_source": True})  # [B, Dm] fixed context C (decoder "none")
    step: LuongLSTMStep | None = None  # the weights rearranged for inference steps (None: step by _step)

    @property
    def beams_share_source(self) -> bool:
        """Beam search may keep the per-source tensors at one row per sentence: the inference step reads
        them so (:mod:`attnkit.decoding.state`)."""
        return self.step is not None


class LossOutput(NamedTuple):
    loss: Tensor  # scalar: mean (label-smoothed) cross-entropy per target token (+ weighted guided alignment)
    nll: Tensor  # scalar: summed negative log-likelihood (no smoothing), for perplexity
    ntokens: int
    attn: Tensor  # [B, T, S] teacher-forced attention
    align_loss: Tensor | None = None  # scalar, unweighted guided-alignment loss (None: not computed)
    coverage_loss: Tensor | None = None  # scalar, unweighted coverage penalty (None: not computed)


class RNNEncoder(nn.Module):
    """Bidirectional GRU/LSTM over embedded source tokens (Bahdanau et al. 2015, section 3.2).

    Shapes:
        src ``[B, S]``, src_mask ``[B, S]`` -> memory ``[B, S, 2 He]`` (zeros at padding),
        final ``[B, 2 He]`` (top layer's last forward and first backward state).
    """

    def __init__(self, vocab_size: int, *, cell: str, embed_dim: int, hidden_dim: int, num_layers: int,
                 dropout: float, pad_id: int = 0) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.rnn = _CELLS[cell](embed_dim, hidden_dim, num_layers=num_layers, batch_first=True,
                                bidirectional=True, dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = Dropout(dropout)
        self.dropout_between = Dropout(dropout if num_layers > 1 else 0.0)  # between layers, as nn.LSTM's dropout
        self.out_dim = 2 * hidden_dim

    def forward(self, src: Tensor, src_mask: Tensor) -> tuple[Tensor, Tensor]:
        """Each direction of each layer runs as one unidirectional RNN over the padded batch: the forward
        one as it is (its states at padding are never read), the backward one over every sentence
        reversed within its length, so padding comes after the words. The same result as packed
        sequences, but each direction is one fused call whose backward pass is one node (packed
        sequences take an unfused per-time-step path, 1.7x slower for a training step's encoder). Without
        gradients (decoding), a batch without padding (every sentence as long, as length-sorted batches
        mostly are) runs each layer's two directions as one bidirectional call instead: the same numbers, a
        third less time. Not with gradients: there the bidirectional call's saved state raised the training
        process's peak RSS by ~50 MiB (peers RNN, 300 steps) for no measurable gain in speed."""
        if not torch.is_grad_enabled() and bool(src_mask.all()):
            return self._unpadded(src)
        return self._per_direction(src, src_mask)

    def _per_direction(self, src: Tensor, src_mask: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`forward` for any batch: two unidirectional calls per layer, the backward one reversed."""
        S = src.size(1)
        lengths = src_mask.sum(1).clamp(min=1)  # [B]
        positions = torch.arange(S, device=src.device)[None]  # [1, S]
        flipped = lengths[:, None] - 1 - positions
        reverse = torch.where(flipped >= 0, flipped, positions)[:, :, None]  # [B, S, 1] within-length reversal
        last = (lengths - 1)[:, None, None]  # [B, 1, 1]
        x = self.dropout(self.embed(src))  # [B, S, E]
        rnn = self.rnn
        for layer in range(rnn.num_layers):
            if layer and self.training and rnn.dropout:
                x = self.dropout_between(x)
            forward_out = self._direction(x, layer, "")  # [B, S, He]
            backward_in = x.gather(1, reverse.expand(-1, -1, x.size(2)))
            backward_out = self._direction(backward_in, layer, "_reverse")
            backward_out = backward_out.gather(1, reverse.expand(-1, -1, rnn.hidden_size))  # back in place
            x = torch.cat([forward_out, backward_out], dim=-1)  # [B, S, 2He]
        memory = x * src_mask[:, :, None].to(x.dtype)  # zeros at padding, as packed sequences give
        final_forward = forward_out.gather(1, last.expand(-1, -1, rnn.hidden_size))[:, 0]  # state after the last word
        final = torch.cat([final_forward, backward_out[:, 0]], dim=-1)  # [B, 2He] (backward: after the first word)
        return self.dropout(memory), final

    def _unpadded(self, src: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`forward` for a batch with no padding: one bidirectional call per layer."""
        rnn = self.rnn
        x = self.dropout(self.embed(src))  # [B, S, E]
        for layer in range(rnn.num_layers):
            if layer and self.training and rnn.dropout:
                x = self.dropout_between(x)
            x = self._direction(x, layer, "", "_reverse")  # [B, S, 2He]
        He = rnn.hidden_size
        final = torch.cat([x[:, -1, :He], x[:, 0, He:]], dim=-1)  # [B, 2He]: after the last / the first word
        return self.dropout(x), final

    def _direction(self, x: Tensor, layer: int, *suffixes: str) -> Tensor:
        """Outputs of one layer of ``self.rnn`` (its own weights), from zeros: one direction ``[B, S, He]``
        (suffix ``""`` or ``"_reverse"``), or both in one bidirectional call ``[B, S, 2He]`` (both suffixes)."""
        rnn = self.rnn
        weights = [getattr(rnn, f"{kind}_l{layer}{suffix}") for suffix in suffixes
                   for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        h0 = x.new_zeros(len(suffixes), x.size(0), rnn.hidden_size)
        both = len(suffixes) == 2
        if isinstance(rnn, nn.LSTM):
            if x.device.type == "cpu" and torch.is_autocast_enabled("cpu") and not _onednn_bf16():
                # Autocast sends the LSTM to oneDNN in bfloat16, which has no such kernel on a CPU without
                # AVX-512 ("could not create a primitive descriptor"): this layer stays in float32 there.
                with torch.autocast("cpu", enabled=False):
                    return self._direction(x.float(), layer, *suffixes)
            return torch.lstm(x, (h0, h0), weights, True, 1, 0.0, self.training, both, True)[0]
        return torch.gru(x, h0, weights, True, 1, 0.0, self.training, both, True)[0]


@functools.cache
def _onednn_bf16() -> bool:
    """Whether oneDNN has bfloat16 kernels on this CPU (AVX-512 BF16 or newer)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


class RNNSeq2Seq(nn.Module):
    """Encoder-decoder with a ``bahdanau``, ``luong`` or ``none`` (fixed context) decoder."""

    def __init__(self, src_vocab: int, tgt_vocab: int, *, decoder: str = "bahdanau", cell: str = "gru",
                 score: str = "additive", embed_dim: int = 64, hidden_dim: int = 128,
                 attention_dim: int | None = None, encoder_layers: int = 1, decoder_layers: int = 1,
                 dropout: float = 0.1, input_feeding: bool = True, readout: str = "state",
                 tie_embeddings: bool = False, pad_id: int = 0) -> None:
        super().__init__()
        if decoder not in DECODERS:
            raise ValueError(f"unknown decoder {decoder!r}; choose one of {', '.join(DECODERS)}")
        if cell not in _CELLS:
            raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(_CELLS)}")
        if readout not in READOUTS:
            raise ValueError(f"unknown readout {readout!r}; choose one of {', '.join(READOUTS)}")
        if readout != "state" and decoder != "bahdanau":
            raise ValueError(f"readout={readout!r} applies to the bahdanau decoder only, not {decoder!r}")
        self.kind, self.cell_kind, self.pad_id = decoder, cell, pad_id
        # The Bahdanau output layer reads [s_i, c_i, y_{i-1}] ("state") or [c_i, y_{i-1}] ("context"): without
        # the state, which carries what earlier contexts said, each token has to be read through this step's
        # attention.
        self.readout_state = readout == "state"
        # Teacher forcing through the one-node recurrence, and inference through its step, where they apply
        # (Luong, LSTM, dot/general); False steps the decoder cell by cell instead (the same numbers, the
        # reference for their tests).
        self.fused = True
        self.input_feeding = input_feeding and decoder == "luong"
        self.num_layers, self.hidden_dim = decoder_layers, hidden_dim
        self.encoder = RNNEncoder(src_vocab, cell=cell, embed_dim=embed_dim, hidden_dim=max(1, hidden_dim // 2),
                                  num_layers=encoder_layers, dropout=dropout, pad_id=pad_id)
        dm = self.encoder.out_dim
        self.embed = nn.Embedding(tgt_vocab, embed_dim, padding_idx=pad_id)
        self.bridge = nn.Linear(dm, decoder_layers * hidden_dim)
        self.bridge_cell = nn.Linear(dm, decoder_layers * hidden_dim) if cell == "lstm" else None
        self.dropout = Dropout(dropout)
        rnn_in = embed_dim + {"bahdanau": dm, "none": dm, "luong": hidden_dim if self.input_feeding else 0}[decoder]
        self.rnn = _CELLS[cell](rnn_in, hidden_dim, num_layers=decoder_layers, batch_first=True,
                                dropout=dropout if decoder_layers > 1 else 0.0)  # its weights, stepped by _rnn
        self.dropout_between = Dropout(dropout if decoder_layers > 1 else 0.0)
        self._build_attention_and_output(decoder, score, dm, embed_dim, hidden_dim, attention_dim)
        self.generator = nn.Linear(hidden_dim if decoder == "luong" else embed_dim, tgt_vocab)
        if tie_embeddings:
            self.generator.weight = self.embed.weight

    def _build_attention_and_output(self, decoder, score, dm, embed_dim, hidden_dim, attention_dim) -> None:
        if decoder == "bahdanau":
            self.attention = Attention(score, hidden_dim, dm, attention_dim or hidden_dim)
            self.readout = nn.Linear((hidden_dim if self.readout_state else 0) + dm + embed_dim, embed_dim)
        elif decoder == "luong":
            # Keys/values projected to Hd so dot scores are defined (Luong's h_s and h_t share a size).
            self.memory_proj = nn.Linear(dm, hidden_dim, bias=False)
            self.attention = Attention(score, hidden_dim, hidden_dim, attention_dim or hidden_dim)
            self.W_c = nn.Linear(2 * hidden_dim, hidden_dim, bias=False)
        else:
            self.readout = nn.Linear(hidden_dim + dm + embed_dim, embed_dim)

    # ------------------------------------------------------------------ protocol
    def encode(self, src: Tensor, src_mask: Tensor) -> RNNState:
        """Run the encoder once; project keys once. Shapes: src, src_mask ``[B, S]``."""
        if src.shape != src_mask.shape:
            raise ValueError(f"src {list(src.shape)} and src_mask {list(src_mask.shape)} must match")
        memory, final = self.encoder(src, src_mask)  # [B, S, Dm], [B, Dm]
        B = src.size(0)
        hidden = self._per_layer(torch.tanh(self.bridge(final)))  # L x [B, Hd]
        cell = None if self.bridge_cell is None else self._per_layer(torch.tanh(self.bridge_cell(final)))
        if self.kind == "luong":
            memory = self.memory_proj(memory)  # [B, S, Hd]
        keys = self.attention.project_keys(memory) if self.kind != "none" else memory[:, :, :0]
        feed = memory.new_zeros(B, self.hidden_dim) if self.input_feeding else None
        context = final if self.kind == "none" else None
        step = None
        if self.fused and not self.training and not torch.is_grad_enabled() and self._fusable(memory):
            step = self._inference_step(src_mask)
        return RNNState(hidden, cell, feed, memory, keys, src_mask, context, step)

    def _inference_step(self, src_mask: Tensor) -> LuongLSTMStep:
        """The :class:`LuongLSTMStep` for the current weights, rearranged once and reused for every source
        batch until a weight changes (an optimiser step or a load bumps its version; a new tensor has a new
        address)."""
        rnn_weights = self._rnn_weights()
        key = (self.input_feeding, *((w.data_ptr(), w._version, w.dtype)
                                     for w in (self.embed.weight, *rnn_weights, self.W_c.weight)))
        cached = self.__dict__.get("_step_cache")
        if cached is None or cached[0] != key:
            cached = (key, LuongLSTMStep(self.embed.weight, rnn_weights, self.W_c.weight, self.input_feeding))
            self.__dict__["_step_cache"] = cached
        return cached[1].for_sources(src_mask)

    def _rnn_weights(self) -> list[Tensor]:
        """``(W_ih, W_hh, b_ih, b_hh)`` of every decoder layer, in order."""
        return [getattr(self.rnn, f"{kind}_l{layer}") for layer in range(self.num_layers)
                for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]

    def _per_layer(self, x: Tensor) -> tuple[Tensor, ...]:
        """``[B, L * Hd]`` -> L contiguous ``[B, Hd]`` tensors (the bridge's output, one per decoder layer)."""
        return tuple(x.view(x.size(0), self.num_layers, self.hidden_dim).transpose(0, 1).contiguous().unbind(0))

    def decode_step(self, tokens: Tensor, state: RNNState) -> tuple[Tensor, RNNState, Tensor]:
        """One step. Shapes: tokens ``[B]`` -> log_probs ``[B, V]``, attn ``[B, S]``."""
        if state.step is not None:
            features, hidden, cell, attn = state.step(tokens, state.hidden, state.cell, state.feed, state.memory,
                                                      state.keys, state.src_mask)
            state = replace(state, hidden=hidden, cell=cell, feed=features if self.input_feeding else None)
            return vocab_log_probs(features, self.generator), state, attn
        features, state, attn = self._step(self.dropout(self.embed(tokens)), state)
        return vocab_log_probs(self.dropout(features), self.generator), state, attn

    def _rnn(self, x: Tensor, state: RNNState, masks: Tensor | None = None) -> tuple[Tensor, RNNState]:
        """One time step of the stacked decoder RNN, cell by cell with ``self.rnn``'s weights (a one-step
        call of the fused ``nn.LSTM`` costs more in overhead than the step computes). ``masks [L-1, B, Hd]``:
        this step's dropout masks between layers (drawn for all steps by :meth:`forward`)."""
        rnn, hiddens, cells, all_weights = self.rnn, [], [], self._rnn_weights()
        for layer in range(rnn.num_layers):
            if layer and masks is not None:
                x = apply_mask(x, masks[layer - 1])
            elif layer and self.training and rnn.dropout:
                x = self.dropout_between(x)
            weights = all_weights[4 * layer:4 * layer + 4]
            if state.cell is not None:
                h, c = torch.lstm_cell(x, (state.hidden[layer], state.cell[layer]), *weights)
                cells.append(c)
            else:
                h = torch.gru_cell(x, state.hidden[layer], *weights)
            hiddens.append(h)
            x = h
        return x, replace(state, hidden=tuple(hiddens), cell=tuple(cells) if cells else None)  # [B, Hd]

    def _attend(self, query: Tensor, state: RNNState) -> tuple[Tensor, Tensor]:
        out = self.attention(query[:, None], state.memory, state.memory, state.src_mask,
                             projected_keys=state.keys)
        return out.context[:, 0], out.attn_weights[:, 0]  # [B, Dm], [B, S]

    def _step(self, emb: Tensor, state: RNNState, masks: Tensor | None = None) -> tuple[Tensor, RNNState, Tensor]:
        """One decoder step up to the output layer: features ``[B, E or Hd]``, new state, attn ``[B, S]``.

        The output dropout and projection are applied by the caller, once for all steps when teacher
        forcing (the features feed nothing else but the output: input feeding reads them undropped).
        """
        if self.kind == "bahdanau":
            context, attn = self._attend(state.hidden[-1], state)  # query: s_{i-1}
            out, state = self._rnn(torch.cat([emb, context], -1), state, masks)
            parts = [out, context, emb] if self.readout_state else [context, emb]
            return torch.tanh(self.readout(torch.cat(parts, -1))), state, attn
        if self.kind == "luong":
            x = torch.cat([emb, state.feed], -1) if self.input_feeding else emb
            out, state = self._rnn(x, state, masks)
            context, attn = self._attend(out, state)  # query: h_t
            attentional = torch.tanh(self.W_c(torch.cat([context, out], -1)))  # h~_t, eq. 5
            if self.input_feeding:
                state = replace(state, feed=attentional)
            return attentional, state, attn
        out, state = self._rnn(torch.cat([emb, state.context], -1), state, masks)
        readout = torch.tanh(self.readout(torch.cat([out, state.context, emb], -1)))
        no_attention = emb.new_zeros(state.src_mask.shape)  # [B, S]: this decoder attends nothing
        return readout, state, no_attention

    # ------------------------------------------------------------------ training
    def forward(self, src: Tensor, src_mask: Tensor, tgt_in: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher-forced logits ``[B, T, V]`` and attention ``[B, T, S]``."""
        state = self.encode(src, src_mask)
        embedded = self.dropout(self.embed(tgt_in))  # [B, T, E]
        T, L = tgt_in.size(1), self.num_layers
        masks = (dropout_mask((T, L - 1, src.size(0), self.hidden_dim), self.dropout_between.p, embedded)
                 if self.training and L > 1 else None)  # [T, L-1, B, Hd]: one draw for every step
        if self.fused and self._fusable(embedded):
            features, attn = luong_lstm_recurrence(embedded, state.memory, state.keys, src_mask, masks,
                                                   torch.stack(state.hidden), torch.stack(state.cell),
                                                   self.W_c.weight, self._rnn_weights(), self.input_feeding)
        else:
            steps, attns = [], []
            for t in range(T):
                step_features, state, step_attn = self._step(embedded[:, t], state, None if masks is None else masks[t])
                steps.append(step_features)
                attns.append(step_attn)
            features, attn = torch.stack(steps, 1), torch.stack(attns, 1)
        features = self.dropout(features)  # [B, T, E or Hd]: one dropout mask for all steps
        return self.generator(features), attn  # [B, T, V], [B, T, S]

    def _fusable(self, embedded: Tensor) -> bool:
        """Whether :mod:`~attnkit.models.fused_luong` computes this model's steps (teacher-forced and inference)."""
        return (self.kind == "luong" and self.cell_kind == "lstm" and self.attention.normalizer == "softmax"
                and type(self.attention.score) in (DotScore, GeneralScore)
                and embedded.dtype in (torch.float32, torch.float64)
                and not torch.is_autocast_enabled(embedded.device.type))

    def loss(self, batch, label_smoothing: float = 0.0, guided_alignment: float | None = None) -> LossOutput:
        """Cross-entropy over the target tokens of a batch (``src, src_mask, tgt_in, tgt_out, tgt_mask``).

        With gold attention on the batch (``batch.align``) and a positive weight (``guided_alignment``,
        by default ``batch.align_weight``), the decoder attention is supervised too: see
        :func:`add_guided_alignment`; with ``batch.coverage_weight > 0`` it pays the coverage penalty
        (:func:`coverage_penalty`). ``nll`` and ``ntokens`` never include either term. Decoder ``none``
        raises a ``ValueError`` when either is asked for (it has no attention).
        """
        logits, attn = self(batch.src, batch.src_mask, batch.tgt_in)
        out = sequence_loss(logits, batch.tgt_out, attn, pad_id=self.pad_id, label_smoothing=label_smoothing)
        if self.kind == "none" and (guidance_weight(batch, guided_alignment) or coverage_weight(batch)):
            raise ValueError("guided alignment and the coverage penalty need attention; decoder 'none' has none "
                             "(use bahdanau or luong)")
        return add_attention_terms(out, attn, batch, guided_alignment)


def vocab_log_probs(features: Tensor, generator: torch.nn.Linear) -> Tensor:
    """``log_softmax(generator(features))`` ``[N, V]``. Below 16 words (one AVX-512 vector) the CPU's
    softmax over the last dimension is a scalar loop, 6x slower than over 16: the logits are then made
    ``[V, N]`` and normalised along dim 0 (measured for V = 14, the ISO dates)."""
    weight, bias = generator.weight, generator.bias
    if weight.size(0) >= 16 or features.device.type != "cpu":
        return torch.log_softmax(generator(features), dim=-1)
    logits = weight @ features.t() if bias is None else torch.addmm(bias.unsqueeze(1), weight, features.t())
    return logits.log_softmax(0).t().contiguous()


def sequence_loss(logits: Tensor, gold: Tensor, attn: Tensor, *, pad_id: int, label_smoothing: float) -> LossOutput:
    """Token-level cross-entropy of ``logits [B, T, V]`` against ``gold [B, T]`` (padding ignored):
    the label-smoothed mean that training minimises, and the plain summed NLL for perplexity."""
    # One log_softmax serves both (F.cross_entropy twice would compute it twice), in float32 even when
    # the logits come from bf16 autocast.
    log_probs = F.log_softmax(logits.reshape(-1, logits.size(-1)).float(), dim=-1)  # [BT, V]
    gold = gold.reshape(-1)
    real = (gold != pad_id).to(log_probs.dtype)  # [BT]
    ntokens = int(real.sum())
    token_nll = -log_probs.gather(1, gold[:, None]).squeeze(1) * real  # [BT]
    nll = token_nll.sum()
    loss = nll
    if label_smoothing > 0:  # (1 - eps) * NLL + eps * cross-entropy with the uniform distribution
        uniform = -(log_probs.mean(-1) * real).sum()
        loss = (1 - label_smoothing) * nll + label_smoothing * uniform
    return LossOutput(loss / max(ntokens, 1), nll.detach(), ntokens, attn)


def guided_alignment_loss(attn: Tensor, gold: Tensor) -> Tensor:
    """Guided alignment (Chen et al. 2016; Liu et al. 2016, the cross-entropy variant): the mean over
    supervised target positions of ``-sum_s gold[b, t, s] * log attn[b, t, s]``.

    A row of ``gold`` is a distribution over source positions (uniform over the gold links) or all zeros;
    all-zero rows (no gold: EOS, unlinked tokens, padding) add nothing and are not counted. 0 when no
    row is supervised.

    Shapes:
        attn ``[B, T, S]`` (rows sum to 1 over the real source positions), gold ``[B, T, S]`` -> scalar.
    """
    if attn.shape != gold.shape:
        raise ValueError(f"attention {list(attn.shape)} and gold alignment {list(gold.shape)} must match")
    dtype = torch.promote_types(attn.dtype, torch.float32)  # the floor and the log need at least float32
    gold = gold.to(device=attn.device, dtype=dtype)
    cross_entropy = -(gold * attn.to(dtype).clamp_min(ATTN_FLOOR).log()).sum(-1)  # [B, T]
    supervised = (gold.sum(-1) > 0).sum()
    return cross_entropy.sum() / supervised.clamp(min=1)


def guidance_weight(batch, weight: float | None = None) -> float:
    """The guided-alignment weight for ``batch``: ``weight`` if given, else ``batch.align_weight``;
    0 when the batch has no gold attention (no ``align`` field, or None)."""
    if getattr(batch, "align", None) is None:
        return 0.0
    weight = float(getattr(batch, "align_weight", 0.0) if weight is None else weight)
    if weight < 0:
        raise ValueError(f"the guided-alignment weight must be >= 0, got {weight}")
    return weight


def add_guided_alignment(out: LossOutput, attn: Tensor, gold: Tensor, weight: float) -> LossOutput:
    """``out`` with ``weight * guided_alignment_loss(attn, gold)`` added to ``loss`` (not to ``nll``) and the
    unweighted term, detached, as ``align_loss``. Shapes: attn, gold ``[B, T, S]``."""
    align_loss = guided_alignment_loss(attn, gold)
    return out._replace(loss=out.loss + weight * align_loss, align_loss=align_loss.detach())


def coverage_penalty(attn: Tensor, tgt_mask: Tensor) -> Tensor:
    """The coverage loss of See et al. (2017, eq. 12): the mean over real target positions of
    ``sum_s min(a_t[s], c_t[s])`` with ``c_t = sum_{t' < t} a_t'`` (Tu et al. 2016's coverage vector).

    0 when every source position is attended at most once in total; it grows with the attention a
    target token spends where earlier tokens already looked.

    Shapes:
        attn ``[B, T, S]``, tgt_mask ``[B, T]`` (True = real target token) -> scalar.
    """
    if attn.shape[:2] != tgt_mask.shape:
        raise ValueError(f"attention {list(attn.shape)} and target mask {list(tgt_mask.shape)} must share [B, T]")
    real = tgt_mask.to(attn.dtype)[:, :, None]  # [B, T, 1]
    attn = attn * real  # padded target rows neither cost nor add coverage
    coverage = attn.cumsum(1) - attn  # [B, T, S] attention spent before step t
    return torch.minimum(attn, coverage).sum() / real.sum().clamp(min=1)


def coverage_weight(batch) -> float:
    """The coverage-penalty weight of ``batch`` (``batch.coverage_weight``; 0 when absent)."""
    weight = float(getattr(batch, "coverage_weight", 0.0) or 0.0)
    if weight < 0:
        raise ValueError(f"the coverage-penalty weight must be >= 0, got {weight}")
    return weight


def add_coverage_penalty(out: LossOutput, attn: Tensor, tgt_mask: Tensor, weight: float) -> LossOutput:
    """``out`` with ``weight * coverage_penalty(attn, tgt_mask)`` added to ``loss`` (not to ``nll``) and the
    unweighted term, detached, as ``coverage_loss``. Shapes: attn ``[B, T, S]``, tgt_mask ``[B, T]``."""
    penalty = coverage_penalty(attn, tgt_mask)
    return out._replace(loss=out.loss + weight * penalty, coverage_loss=penalty.detach())


def add_attention_terms(out: LossOutput, attn: Tensor, batch, guided_alignment: float | None = None) -> LossOutput:
    """``out`` with the batch's guided-alignment and coverage terms added (each only where its weight is > 0)."""
    weight = guidance_weight(batch, guided_alignment)
    if weight:
        out = add_guided_alignment(out, attn, batch.align, weight)
    weight = coverage_weight(batch)
    if weight:
        out = add_coverage_penalty(out, attn, batch.tgt_mask, weight)
    return out


@register_model("rnn")
def rnn_seq2seq(src_vocab: int, tgt_vocab: int, **kwargs) -> RNNSeq2Seq:
    """Builder for :class:`RNNSeq2Seq` (keyword arguments as its constructor)."""
    return RNNSeq2Seq(src_vocab, tgt_vocab, **kwargs)
