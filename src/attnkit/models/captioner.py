"""Image captioning with soft or hard attention over CNN regions (Xu et al. 2015, "Show, Attend and Tell").

The encoder (:class:`~attnkit.models.vision.SmallCNN`) turns an image into annotation vectors
``a_1 .. a_R`` (section 3.1.1). The decoder (:class:`AttentionLSTMDecoder`, section 3.1.2) is an LSTM
that at each step

1. scores every region against the previous state, ``e_ti = f_att(a_i, h_{t-1})`` (additive score,
   keys ``U a_i`` projected once per image), ``alpha_t = softmax(e_t)`` (eqs. 4-5);
2. forms the context ``z_t = phi(a, alpha_t)``, gated by ``beta_t = sigmoid(f_beta(h_{t-1}))``
   (section 4.2.1): ``z_t = beta_t sum_i alpha_ti a_i`` (soft, section 4.2) or ``z_t = beta_t a_{s_t}`` with
   ``s_t ~ Multinoulli(alpha_t)`` (hard, section 4.1);
3. updates ``h_t, c_t = LSTM([E y_{t-1}; z_t], h_{t-1}, c_{t-1})`` (eq. 1);
4. predicts with the deep output layer ``p(y_t) = softmax(L_o tanh(E y_{t-1} + L_h h_t + L_z z_t))``
   (eq. 7; the tanh, as in the readout of the RNN decoders of :mod:`attnkit.models.seq2seq`, keeps the
   layer from collapsing into one low-rank linear map).

``h_0`` and ``c_0`` come from two MLPs over the mean annotation (section 3.1.2).

Training (section 4):

* soft: cross-entropy plus the doubly stochastic regulariser ``lambda sum_i (1 - sum_t alpha_ti)^2``
  (eq. 14), summed over the real target steps only, which pushes the model to look at every region at
  some point of the caption;
* hard: the caption is decoded with sampled regions and the loss is ``NLL - (r - b) sum_t log p(s_t) -
  lambda_e sum_t H(alpha_t)`` (the learning rule of section 4.1): the REINFORCE estimator (Williams 1992) with reward
  ``r = log p(y | s, a)`` per caption (detached), a moving-average baseline ``b <- decay b + (1 - decay)
  mean(r)`` (a buffer, updated by every training-mode loss; the first update sets it to the batch mean),
  and an entropy bonus.

Evaluation of a hard model: decoding (:meth:`AttentionLSTMDecoder.step` in eval mode) uses the expected
context ``sum_i alpha_ti a_i``, deterministic so beam search is well defined; it is the expectation
of the sampled context over ``s_t`` (section 4.2). With ``mc_samples = M > 0`` an eval-mode ``loss``
instead scores the caption under ``M`` sampled attention paths and averages the token probabilities
(a mixture of the ``M`` predictive distributions at every step), which estimates what the model was
trained for at M times the cost.

Search: :func:`attnkit.decoding.greedy_search` and :func:`~attnkit.decoding.beam_search` take token ids
``src [B, S]``; :func:`search_inputs` hands them the model wrapped so that it encodes the images
instead, with placeholder ids ``[B, R]`` and an all-True mask, so their attention maps are ``[L, R]``.
The step budget is ``ceil(R * max_len_ratio) + max_len_offset``: pass ``max_len_ratio=0`` and the longest
caption as ``max_len_offset``.

Legend: B batch, C channels, H/W image size, R regions, D feature dim, T target len, V vocabulary,
E embed dim, Hd decoder hidden dim, A attention dim, M Monte-Carlo samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attnkit.attention import Attention, Dropout, HardAttention
from attnkit.models.registry import register_model
from attnkit.models.seq2seq import READOUTS, LossOutput, sequence_loss
from attnkit.models.vision import SmallCNN

__all__ = [
    "ATTENTIONS",
    "AttentionLSTMDecoder",
    "CaptionLoss",
    "CaptionOutput",
    "CaptionSearch",
    "CaptionState",
    "ImageCaptioner",
    "RegionPositions",
    "captioner",
    "doubly_stochastic_penalty",
    "search_inputs",
]

ATTENTIONS = ("soft", "hard")


@dataclass
class CaptionState:
    """Decoder state between steps; every tensor is batch-first so search can reorder it."""

    hidden: Tensor  # [B, Hd] h_{t-1}
    cell: Tensor  # [B, Hd] c_{t-1}
    features: Tensor  # [B, R, D] annotation vectors a_i: the attention's values
    keys: Tensor  # [B, R, A] U a_i, projected once per image
    mask: Tensor | None  # [B, R] True = real region; None when all are


class CaptionOutput(NamedTuple):
    logits: Tensor  # [B, T, V]
    attn: Tensor  # [B, T, R] the distribution each step attended (or sampled) with
    log_prob: Tensor | None  # [B, T] log p(s_t) of the sampled regions (hard attention, sampling only)
    entropy: Tensor | None  # [B, T] entropy of alpha_t (hard attention, sampling only)


class CaptionLoss(NamedTuple):
    loss: Tensor  # scalar: what training minimises, per target token
    nll: Tensor  # scalar: summed negative log-likelihood of the target tokens (no smoothing)
    ntokens: int
    attn: Tensor  # [B, T, R] teacher-forced attention
    doubly_stochastic: Tensor | None = None  # scalar, unweighted penalty per caption (soft), detached
    reward: Tensor | None = None  # scalar, mean reward log p(y | s, a) of the batch (hard, sampling), detached
    entropy: Tensor | None = None  # scalar, mean entropy of alpha_t per real step (hard, sampling), detached


def doubly_stochastic_penalty(attn: Tensor, tgt_mask: Tensor, region_mask: Tensor | None = None) -> Tensor:
    """``sum_i (1 - sum_t alpha_ti)^2`` per caption (Xu et al. 2015, eq. 14), real steps and regions only.

    Shapes:
        attn ``[B, T, R]``, tgt_mask ``[B, T]`` (True = real target step), region_mask ``[B, R]`` -> ``[B]``.
    """
    if attn.dim() != 3 or tgt_mask.shape != attn.shape[:2]:
        raise ValueError(f"attn must be [B, T, R] and tgt_mask [B, T]; got {list(attn.shape)}, {list(tgt_mask.shape)}")
    totals = (attn * tgt_mask[:, :, None].to(attn.dtype)).sum(1)  # [B, R] attention each region received
    penalty = (1.0 - totals).square()  # [B, R]
    if region_mask is not None:
        penalty = penalty * region_mask.to(penalty.dtype)
    return penalty.sum(-1)  # [B]


class AttentionLSTMDecoder(nn.Module):
    """The attention LSTM of Xu et al. (2015) over any set of feature vectors (image regions, video frames).

    Args:
        vocab_size: target vocabulary ``V``.
        feature_dim: size ``D`` of the annotation vectors.
        attention: ``soft`` (deterministic, section 4.2) or ``hard`` (sampled, section 4.1).
        doubly_stochastic: ``lambda`` of eq. 14 (soft attention only; 0 turns it off).
        entropy_bonus: ``lambda_e`` of section 4.1's learning rule (hard attention only).
        baseline_decay: decay of the moving-average reward baseline (hard attention only).
        mc_samples: hard attention, eval-mode ``loss`` only: 0 = expected context, ``M`` = average over
            ``M`` sampled paths (see the module docstring).
        readout: what the deep output layer reads besides ``E y_{t-1}``: ``state`` = ``h_t`` and ``z_t``
            (eq. 7); ``context`` = ``z_t`` only, so a word cannot be written from what earlier steps left in
            the state and has to come through this step's attention (as ``readout`` of
            :class:`~attnkit.models.seq2seq.RNNSeq2Seq`).

    Shapes:
        :meth:`start`: features ``[B, R, D]``, mask ``[B, R]`` -> :class:`CaptionState`;
        :meth:`step`: tokens ``[B]`` -> log_probs ``[B, V]``, state, attn ``[B, R]``;
        :meth:`forward`: tgt_in ``[B, T]`` -> :class:`CaptionOutput`.
    """

    def __init__(self, vocab_size: int, feature_dim: int, *, embed_dim: int = 64, hidden_dim: int = 256,
                 attention_dim: int = 128, attention: str = "soft", doubly_stochastic: float = 1.0,
                 entropy_bonus: float = 0.01, baseline_decay: float = 0.9, mc_samples: int = 0,
                 dropout: float = 0.1, readout: str = "state", pad_id: int = 0) -> None:
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"unknown readout {readout!r}; choose one of {', '.join(READOUTS)}")
        if attention not in ATTENTIONS:
            raise ValueError(f"unknown attention {attention!r}; choose one of {', '.join(ATTENTIONS)}")
        if not 0.0 <= baseline_decay < 1.0 or doubly_stochastic < 0 or entropy_bonus < 0 or mc_samples < 0:
            raise ValueError("need 0 <= baseline_decay < 1 and non-negative doubly_stochastic, entropy_bonus, "
                             f"mc_samples; got {baseline_decay}, {doubly_stochastic}, {entropy_bonus}, {mc_samples}")
        self.hard = attention == "hard"
        self.feature_dim, self.hidden_dim, self.pad_id = feature_dim, hidden_dim, pad_id
        self.doubly_stochastic, self.entropy_bonus = doubly_stochastic, entropy_bonus
        self.baseline_decay, self.mc_samples = baseline_decay, mc_samples
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.init_h = nn.Sequential(nn.Linear(feature_dim, hidden_dim), nn.Tanh())  # f_init,h
        self.init_c = nn.Sequential(nn.Linear(feature_dim, hidden_dim), nn.Tanh())  # f_init,c
        attention_cls = HardAttention if self.hard else Attention
        self.attention = attention_cls("additive", hidden_dim, feature_dim, attention_dim)
        self.f_beta = nn.Linear(hidden_dim, 1)  # the scalar gate of section 4.2.1
        self.lstm = nn.LSTMCell(embed_dim + feature_dim, hidden_dim)
        self.L_h = nn.Linear(hidden_dim, embed_dim) if readout == "state" else None
        self.L_z = nn.Linear(feature_dim, embed_dim, bias=readout != "state")
        self.L_o = nn.Linear(embed_dim, vocab_size)
        self.dropout = Dropout(dropout)
        self.register_buffer("reward_baseline", torch.zeros(()))
        self.register_buffer("baseline_updates", torch.zeros((), dtype=torch.long))

    @property
    def vocab_size(self) -> int:
        return self.L_o.out_features

    # ------------------------------------------------------------------ protocol
    def start(self, features: Tensor, mask: Tensor | None = None) -> CaptionState:
        """Initial state from the annotation vectors; the keys are projected here, once."""
        if features.dim() != 3 or features.size(-1) != self.feature_dim:
            raise ValueError(f"features must be [B, R, D={self.feature_dim}], got {list(features.shape)}")
        if mask is not None and (mask.shape != features.shape[:2] or mask.dtype != torch.bool):
            raise ValueError(f"mask must be bool {list(features.shape[:2])}, got {mask.dtype} {list(mask.shape)}")
        if mask is None:
            mean = features.mean(1)  # [B, D]
        else:
            weights = mask.to(features.dtype) / mask.sum(1, keepdim=True).clamp(min=1)  # [B, R]
            mean = (weights[:, :, None] * features).sum(1)  # [B, D]
        keys = self.attention.project_keys(features)  # [B, R, A]
        return CaptionState(self.init_h(mean), self.init_c(mean), features, keys, mask)

    def step(self, tokens: Tensor, state: CaptionState) -> tuple[Tensor, CaptionState, Tensor]:
        """One decoding step: ``log p(y_t | y_<t, a)``. Hard attention samples in training mode only."""
        emb = self.dropout(self.embed(tokens))  # [B, E]
        state, z, attn, _, _ = self._advance(emb, state, sample=self.hard and self.training)
        return F.log_softmax(self._readout(emb, state.hidden, z), dim=-1), state, attn  # [B, V]

    # ------------------------------------------------------------------ one step
    def _attend(self, state: CaptionState, sample: bool) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """Context ``[B, D]`` (ungated), weights ``[B, R]``; when sampling, ``log p(s_t)`` and entropy ``[B]``."""
        query = state.hidden[:, None]  # [B, 1, Hd]
        if sample:
            out = self.attention(query, state.features, state.features, state.mask, projected_keys=state.keys)
            return out.context[:, 0], out.attn_weights[:, 0], out.log_prob[:, 0], out.entropy[:, 0]
        soft = self.attention.attention if self.hard else self.attention  # the expected context
        out = soft(query, state.features, state.features, state.mask, projected_keys=state.keys)
        return out.context[:, 0], out.attn_weights[:, 0], None, None

    def _advance(self, emb: Tensor, state: CaptionState, sample: bool):
        """Attend with ``h_{t-1}``, gate, run the LSTM: new state, ``z_t [B, D]``, ``alpha_t [B, R]``,
        and when sampling ``log p(s_t)`` and the entropy ``[B]``."""
        context, attn, log_prob, entropy = self._attend(state, sample)
        z = torch.sigmoid(self.f_beta(state.hidden)) * context  # [B, D]
        h, c = self.lstm(torch.cat([emb, z], -1), (state.hidden, state.cell))  # [B, Hd] each
        return replace(state, hidden=h, cell=c), z, attn, log_prob, entropy

    def _readout(self, emb: Tensor, h: Tensor, z: Tensor) -> Tensor:
        """Deep output layer (eq. 7): logits ``[..., V]`` from ``E y_{t-1}``, ``h_t`` (state readout), ``z_t``."""
        pre = emb + self.L_z(z) if self.L_h is None else emb + self.L_h(self.dropout(h)) + self.L_z(z)
        return self.L_o(self.dropout(torch.tanh(pre)))

    # ------------------------------------------------------------------ training
    def forward(self, state: CaptionState, tgt_in: Tensor, *, sample: bool | None = None) -> CaptionOutput:
        """Teacher-forced pass over ``tgt_in [B, T]``; ``sample`` defaults to hard attention in training mode."""
        if tgt_in.dim() != 2 or tgt_in.size(0) != state.hidden.size(0):
            raise ValueError(f"tgt_in must be [B={state.hidden.size(0)}, T], got {list(tgt_in.shape)}")
        sample = self.hard and self.training if sample is None else sample
        if sample and not self.hard:
            raise ValueError("only a hard-attention decoder samples regions")
        embedded = self.dropout(self.embed(tgt_in))  # [B, T, E]
        hs, zs, attns, log_probs, entropies = [], [], [], [], []
        for t in range(tgt_in.size(1)):
            state, z, attn, log_prob, entropy = self._advance(embedded[:, t], state, sample)
            hs.append(state.hidden)
            zs.append(z)
            attns.append(attn)
            log_probs.append(log_prob)
            entropies.append(entropy)
        logits = self._readout(embedded, torch.stack(hs, 1), torch.stack(zs, 1))  # [B, T, V]
        if not sample:
            return CaptionOutput(logits, torch.stack(attns, 1), None, None)
        return CaptionOutput(logits, torch.stack(attns, 1), torch.stack(log_probs, 1), torch.stack(entropies, 1))

    def loss(self, state: CaptionState, tgt_in: Tensor, tgt_out: Tensor, label_smoothing: float = 0.0) -> CaptionLoss:
        """The training objective of the module docstring for one batch of captions ``[B, T]``."""
        if tgt_out.shape != tgt_in.shape:
            raise ValueError(f"tgt_in {list(tgt_in.shape)} and tgt_out {list(tgt_out.shape)} must match")
        if self.hard and not self.training and self.mc_samples > 0:
            return self._monte_carlo_loss(state, tgt_in, tgt_out)
        out = self(state, tgt_in)
        seq = sequence_loss(out.logits, tgt_out, out.attn, pad_id=self.pad_id, label_smoothing=label_smoothing)
        real = tgt_out != self.pad_id  # [B, T]
        per_token = max(seq.ntokens, 1)
        if out.log_prob is None:
            if self.hard or self.doubly_stochastic == 0:
                return CaptionLoss(seq.loss, seq.nll, seq.ntokens, out.attn)
            penalty = doubly_stochastic_penalty(out.attn, real, state.mask)  # [B]
            loss = seq.loss + self.doubly_stochastic * penalty.sum() / per_token
            return CaptionLoss(loss, seq.nll, seq.ntokens, out.attn, doubly_stochastic=penalty.mean().detach())
        return self._reinforce(seq, out, tgt_out, real, per_token)

    def _reinforce(self, seq: LossOutput, out: CaptionOutput, tgt_out: Tensor, real: Tensor,
                   per_token: int) -> CaptionLoss:
        """Add the REINFORCE and entropy terms of section 4.1 (hard attention, sampled regions)."""
        with torch.no_grad():
            token_nll = F.cross_entropy(out.logits.transpose(1, 2), tgt_out, ignore_index=self.pad_id,
                                        reduction="none")  # [B, T]
            reward = -token_nll.sum(1)  # [B] log p(y | s, a)
            mean = reward.mean()
            baseline = torch.where(self.baseline_updates > 0, self.reward_baseline, mean)
            advantage = reward - baseline  # [B]
            if self.training:
                self.reward_baseline.copy_(torch.where(
                    self.baseline_updates > 0,
                    self.baseline_decay * self.reward_baseline + (1 - self.baseline_decay) * mean, mean))
                self.baseline_updates += 1
        mask = real.to(out.log_prob.dtype)  # [B, T]
        reinforce = -(advantage * (out.log_prob * mask).sum(1)).sum()
        entropy = (out.entropy * mask).sum()
        loss = seq.loss + (reinforce - self.entropy_bonus * entropy) / per_token
        return CaptionLoss(loss, seq.nll, seq.ntokens, out.attn, reward=mean,
                           entropy=(entropy / per_token).detach())

    @torch.no_grad()
    def _monte_carlo_loss(self, state: CaptionState, tgt_in: Tensor, tgt_out: Tensor) -> CaptionLoss:
        """Eval-mode NLL under ``M`` sampled attention paths, token probabilities averaged over the paths."""
        B, T, M = tgt_in.size(0), tgt_in.size(1), self.mc_samples
        repeated = CaptionState(**{f.name: None if (v := getattr(state, f.name)) is None else v.repeat_interleave(M, 0)
                                   for f in fields(state)})  # [B * M, ...], the M copies of a row adjacent
        out = self(repeated, tgt_in.repeat_interleave(M, 0), sample=True)
        log_probs = out.logits.log_softmax(-1).view(B, M, T, -1).logsumexp(1) - math.log(M)  # [B, T, V]
        attn = out.attn.view(B, M, T, -1).mean(1)  # [B, T, R]
        # log_probs are normalised, so the cross-entropy's own log-softmax leaves them unchanged.
        seq = sequence_loss(log_probs, tgt_out, attn, pad_id=self.pad_id, label_smoothing=0.0)
        return CaptionLoss(seq.loss, seq.nll, seq.ntokens, attn)


class RegionPositions(nn.Module):
    """Where each region is, added to its features: ``a_i + W [x_i, y_i] + b`` with ``(x_i, y_i)`` the
    region's centre on the grid scaled to [-1, 1] (``W`` learned).

    A small CNN's features say little of where a region lies, so the soft context ``sum_i alpha_ti a_i``
    says what the model looked at but not where; words for relations ("left of", "above") need the
    where. With positions, the context carries ``W`` times the attention's centre of mass. Any grid size.

    Shapes:
        features ``[B, R, D]`` on an ``(h, w)`` grid (row-major, ``R = h * w``) -> ``[B, R, D]``.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(2, dim)

    def forward(self, features: Tensor, grid: tuple[int, int]) -> Tensor:
        h, w = grid
        if features.size(1) != h * w:
            raise ValueError(f"features have {features.size(1)} regions, the grid {h} x {w} has {h * w}")
        ys = torch.linspace(-1, 1, h, device=features.device) if h > 1 else torch.zeros(1, device=features.device)
        xs = torch.linspace(-1, 1, w, device=features.device) if w > 1 else torch.zeros(1, device=features.device)
        coords = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1).reshape(h * w, 2)  # [R, 2] as (x, y)
        return features + self.proj(coords.to(features.dtype))


class ImageCaptioner(nn.Module):
    """Show, Attend and Tell: a :class:`SmallCNN` encoder and an :class:`AttentionLSTMDecoder`; with
    ``positions`` (:class:`RegionPositions`) each region's features also say where it is.

    Shapes:
        images ``[B, C, H, W]``, mask ``[B, R]`` (optional, True = region to attend), tokens ``[B]``,
        tgt_in/tgt_out ``[B, T]`` (pad 0) -> log_probs ``[B, V]``, attn ``[B, R]`` per step.
    """

    def __init__(self, *, encoder: SmallCNN, decoder: AttentionLSTMDecoder, dropout: float,
                 positions: RegionPositions | None = None) -> None:
        super().__init__()
        self.encoder, self.decoder, self.positions = encoder, decoder, positions
        self.dropout = Dropout(dropout)

    def encode(self, images: Tensor, mask: Tensor | None = None) -> CaptionState:
        """Region features ``[B, R, D]`` of the images and the decoder's initial state."""
        grid = self.encoder.feature_map(images)  # [B, D, h, w]
        features = grid.flatten(2).transpose(1, 2)  # [B, R, D]
        if self.positions is not None:
            features = self.positions(features, tuple(grid.shape[2:]))
        return self.decoder.start(self.dropout(features), mask)

    def decode_step(self, tokens: Tensor, state: CaptionState) -> tuple[Tensor, CaptionState, Tensor]:
        return self.decoder.step(tokens, state)

    def forward(self, images: Tensor, tgt_in: Tensor, mask: Tensor | None = None) -> CaptionOutput:
        """Teacher-forced logits ``[B, T, V]`` and attention ``[B, T, R]``."""
        return self.decoder(self.encode(images, mask), tgt_in)

    def loss(self, batch, label_smoothing: float = 0.0) -> CaptionLoss:
        """The objective for ``batch.images``, ``batch.tgt_in``, ``batch.tgt_out`` (see the module docstring)."""
        state = self.encode(batch.images, getattr(batch, "region_mask", None))
        return self.decoder.loss(state, batch.tgt_in, batch.tgt_out, label_smoothing)


class CaptionSearch:
    """A captioner seen through the token-source search API: ``encode`` ignores its placeholder ids and
    returns the state of the inputs it was built with. Made by :func:`search_inputs`."""

    def __init__(self, model: nn.Module, state: CaptionState) -> None:
        self.model, self.state = model, state

    def encode(self, src: Tensor, src_mask: Tensor) -> CaptionState:
        if src.shape != self.state.features.shape[:2]:
            regions = list(self.state.features.shape[:2])
            raise ValueError(f"placeholder src {list(src.shape)} does not match the {regions} regions of the inputs")
        return self.state

    def decode_step(self, tokens: Tensor, state: CaptionState) -> tuple[Tensor, CaptionState, Tensor]:
        return self.model.decode_step(tokens, state)


@torch.no_grad()
def search_inputs(model: nn.Module, inputs: Tensor, mask: Tensor | None = None
                  ) -> tuple[CaptionSearch, Tensor, Tensor]:
    """``(step_model, src, src_mask)`` for :func:`~attnkit.decoding.greedy_search` / ``beam_search``.

    ``model.encode(inputs, mask)`` runs once, here; ``src`` is ``[B, R]`` placeholder ids (zeros) and
    ``src_mask`` the region mask (all True by default), so hypotheses carry ``[L, R]`` attention maps.
    Usage: ``greedy_search(*search_inputs(model, images), max_len_ratio=0.0, max_len_offset=max_len)``.
    """
    state = model.encode(inputs, mask)
    B, R = state.features.shape[:2]
    src_mask = torch.ones(B, R, dtype=torch.bool, device=inputs.device) if state.mask is None else state.mask
    return CaptionSearch(model, state), torch.zeros(B, R, dtype=torch.long, device=inputs.device), src_mask


@register_model("captioner")
def captioner(tgt_vocab: int, *, in_channels: int = 1, channels: Sequence[int] = (32, 64, 128),
              convs_per_block: int = 1, embed_dim: int = 64, hidden_dim: int = 256, attention_dim: int = 128,
              attention: str = "soft", doubly_stochastic: float = 1.0, entropy_bonus: float = 0.01,
              baseline_decay: float = 0.9, mc_samples: int = 0, dropout: float = 0.1, region_positions: bool = False,
              readout: str = "state", pad_id: int = 0) -> ImageCaptioner:
    """Build a Show, Attend and Tell captioner (``attention`` = ``soft`` or ``hard``); ``region_positions``
    adds :class:`RegionPositions` to the region features."""
    encoder = SmallCNN(in_channels, tuple(channels), convs_per_block=convs_per_block)
    decoder = AttentionLSTMDecoder(
        tgt_vocab, encoder.out_dim, embed_dim=embed_dim, hidden_dim=hidden_dim, attention_dim=attention_dim,
        attention=attention, doubly_stochastic=doubly_stochastic, entropy_bonus=entropy_bonus,
        baseline_decay=baseline_decay, mc_samples=mc_samples, dropout=dropout, readout=readout, pad_id=pad_id)
    return ImageCaptioner(encoder=encoder, decoder=decoder, dropout=dropout,
                          positions=RegionPositions(encoder.out_dim) if region_positions else None)
