"""Batched beam search over the step protocol, with the GNMT length penalty and full attention maps.

B sentences x K beams are flattened to ``B * K`` rows: the source is encoded once and the state repeated
(:func:`~attnkit.decoding.state.repeat_state`). Each step is a handful of tensor ops for the whole batch:
one top-2K over the K*V continuations of each sentence, then a gather along the backpointers for the
token and attention histories and one :func:`~attnkit.decoding.state.select_state` that both reorders
the beams and drops the sentences that are done. Python only touches hypotheses that are being
finalised.

Legend: B batch, S source len (padded), V vocabulary, K beam, N sentences still active, t steps so far.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from attnkit.decoding.greedy import StepModel
from attnkit.decoding.hypothesis import Hypothesis, check_source, check_step, max_lengths
from attnkit.decoding.state import repeat_state, select_beams, select_state

__all__ = ["beam_search", "gnmt_length_penalty"]


def gnmt_length_penalty(length: int | Tensor, alpha: float) -> float | Tensor:
    """GNMT length penalty ``lp(Y) = ((5 + |Y|) / 6) ** alpha`` (Wu et al. 2016, eq. 14).

    ``|Y|`` counts the generated tokens, EOS included (a float tensor of lengths gives a tensor of
    penalties); ``alpha = 0`` turns the penalty off.
    """
    return ((5.0 + length) / 6.0) ** alpha


@dataclass
class _Beams:
    """The live part of the search; every tensor is batch-first over the N active sentences."""

    sentence: Tensor  # [N] index of the sentence in the caller's batch
    budget: Tensor  # [N] max steps of that sentence
    n_finished: Tensor  # [N] finished hypotheses so far
    best_finished: Tensor  # [N, M] float64: the M = n_best best norm_scores among them, best first (-inf until found)
    scores: Tensor  # [N, K] total log-probability of each live beam
    tokens: Tensor  # [N, K, t] generated ids of each live beam
    attn: Tensor | None  # [N, K, t, S] attention rows of each live beam (None before the first step, or kept none)


@dataclass
class _Candidates:
    """The best 2K continuations of each sentence, best first."""

    scores: Tensor  # [N, 2K]
    beam: Tensor  # [N, 2K] backpointer: the live beam it extends
    token: Tensor  # [N, 2K]


class _Context:
    """Per-call constants and the finished hypotheses of every sentence."""

    def __init__(self, batch: int, src_mask: Tensor, alpha: float) -> None:
        self.src_mask, self.alpha = src_mask, alpha  # [B, S]
        self.results: list[list[Hypothesis]] = [[] for _ in range(batch)]
        lengths = src_mask.sum(1)  # [B]
        positions = torch.arange(src_mask.size(1), device=src_mask.device)
        # Right-padded sources (the usual case) keep their real columns by slicing, not by a boolean index.
        self.lengths = lengths.tolist()
        self.prefix = (src_mask == (positions < lengths[:, None])).all(1).tolist()  # [B] bools

    def add_many(self, sentences: Tensor, tokens: Tensor, attn: Tensor | None, scores: Tensor, steps: int,
                 finished: bool) -> None:
        """Record ``F`` paths at once: ``sentences [F]``, ``tokens [F, L']`` (without EOS), ``attn [F, L, ..., S]``
        (one row per generated step; None when the search keeps no attention), ``scores [F]``; every path
        took ``steps`` steps (EOS included). One transfer to Python for all of them, not a handful of tensor
        ops per hypothesis."""
        penalty = gnmt_length_penalty(steps, self.alpha)
        for i, (sentence, ids, score) in enumerate(zip(sentences.tolist(), tokens.tolist(), scores.tolist(),
                                                       strict=True)):
            if attn is None:
                self.results[sentence].append(Hypothesis(ids, float(score), float(score) / penalty, None, finished))
                continue
            rows = attn[i]  # [L, ..., S]
            if self.prefix[sentence]:
                rows = rows[..., : self.lengths[sentence]]  # [L, ..., S_real], a view (cloned if it is kept)
            else:
                rows = rows[..., self.src_mask[sentence].to(rows.device)]
            self.results[sentence].append(Hypothesis(ids, float(score), float(score) / penalty, rows, finished))


def _top_candidates(scores: Tensor, log_probs: Tensor, beam: int) -> _Candidates:
    n, vocab = scores.size(0), log_probs.size(-1)
    total = scores.unsqueeze(-1) + log_probs.view(n, beam, vocab)  # [N, K, V]
    # 2K candidates always hold K that are not EOS: each beam contributes at most one EOS candidate.
    top, flat = total.view(n, beam * vocab).topk(min(2 * beam, beam * vocab), dim=-1)  # [N, 2K]
    return _Candidates(top, torch.div(flat, vocab, rounding_mode="floor"), flat % vocab)


def _finalise_eos(beams: _Beams, cand: _Candidates, attn: Tensor | None, ctx: _Context, eos: int) -> Tensor | None:
    """Turn EOS candidates ranked within a sentence's top K into finished hypotheses; returns ``[N]`` counts
    (None when there are none). ``attn`` is the step's attention, None when the search keeps none.

    EOS candidates ranked below K are ignored, as a greedy step would never take them: with K = 1 this
    is exactly greedy search. Only the paths that can still be among the sentence's ``n_best`` (their
    ``norm_score`` at least its n_best-th best so far, ties kept) become :class:`Hypothesis` objects: the
    others are counted but never built, as they could not be returned.
    """
    k = beams.scores.size(1)
    final = (cand.token[:, :k] == eos) & torch.isfinite(cand.scores[:, :k])  # [N, K]: ranked within the top K
    if not bool(final.any()):
        return None
    count = final.sum(dim=1)  # [N]
    steps = beams.tokens.size(2) + 1  # |Y| of these paths, EOS included
    # float64, as add_many divides: the same numbers the results are ranked by
    norm = (cand.scores[:, :k].double() / gnmt_length_penalty(steps, ctx.alpha)).masked_fill(~final, float("-inf"))
    best = torch.cat([beams.best_finished, norm], dim=1)  # [N, M + K]
    beams.best_finished = best.topk(beams.best_finished.size(1), dim=1).values  # [N, M]
    n, j = (final & (norm >= beams.best_finished[:, -1:])).nonzero(as_tuple=True)  # [F] each
    b = cand.beam[n, j]  # [F] the live beam each finished path extends
    rows = None
    if attn is not None:
        rows = attn[n * k + b].unsqueeze(1)  # [F, 1, ..., S] the EOS step
        if beams.attn is not None:
            rows = torch.cat([beams.attn[n, b], rows], dim=1)  # [F, t + 1, ..., S]
    ctx.add_many(beams.sentence[n], beams.tokens[n, b], rows, cand.scores[n, j], steps, True)
    return count


def _settled(beams: _Beams, steps: int, alpha: float) -> Tensor:
    """``[N]``: no live beam can still end above the n_best-th best finished hypothesis, so the sentence's
    n-best list is final. A live path's log-probability only falls as it grows, so its best possible
    ``norm_score`` is its score over the largest length penalty it can still reach (it ends at ``steps + 1``
    tokens at the earliest, at its budget at the latest)."""
    lp = gnmt_length_penalty(beams.budget.double(), alpha).clamp(
        min=gnmt_length_penalty(steps + 1, alpha))  # [N]
    return beams.best_finished[:, -1] >= beams.scores.max(dim=1).values.double() / lp


def _advance(beams: _Beams, cand: _Candidates, attn: Tensor | None, eos: int) -> tuple[_Beams, Tensor]:
    """Keep each sentence's best K non-EOS candidates and follow their backpointers (and, unless ``attn``
    is None, their attention histories).

    Returns the new beams and the ``[N, K]`` backpointers (which old beam each new beam extends).
    """
    n, k = beams.scores.shape
    live = cand.scores.masked_fill(cand.token == eos, float("-inf"))  # [N, 2K]
    scores, pick = live.topk(k, dim=-1)  # [N, K]; candidates are sorted, so these are the first K non-EOS
    back, token = cand.beam.gather(1, pick), cand.token.gather(1, pick)  # [N, K]
    rows = torch.arange(n, device=back.device).unsqueeze(1)  # [N, 1]
    tokens = torch.cat([beams.tokens[rows, back], token.unsqueeze(-1)], dim=2)  # [N, K, t + 1]
    hist = None
    if attn is not None:
        step_attn = attn.view(n, k, *attn.shape[1:])[rows, back].unsqueeze(2)  # [N, K, 1, ..., S]
        hist = step_attn if beams.attn is None else torch.cat([beams.attn[rows, back], step_attn], dim=2)  # [N,K,t+1,S]
    new = _Beams(beams.sentence, beams.budget, beams.n_finished, beams.best_finished, scores, tokens, hist)
    return new, back


def _finalise_unfinished(beams: _Beams, cut: Tensor, ctx: _Context) -> None:
    """Sentences that ran out of steps (``cut [N]``) before K finished hypotheses keep their live beams,
    unfinished.

    Beams at ``-inf`` (never really started) are skipped, except the best one of a sentence that has
    nothing else, so that every sentence returns at least one hypothesis.
    """
    k = beams.scores.size(1)
    cut = cut & (beams.n_finished < k)  # [N]
    if not bool(cut.any()):
        return
    fallback = (beams.n_finished == 0).unsqueeze(1) & (torch.arange(k, device=cut.device) == 0)  # [N, K]
    usable = cut.unsqueeze(1) & (torch.isfinite(beams.scores) | fallback)  # [N, K]
    n, b = usable.nonzero(as_tuple=True)  # [F] each
    attn = None if beams.attn is None else beams.attn[n, b]
    ctx.add_many(beams.sentence[n], beams.tokens[n, b], attn, beams.scores[n, b], beams.tokens.size(2), False)


def _check_options(beam: int, n_best: int, length_penalty: float) -> None:
    if beam < 1:
        raise ValueError(f"beam must be >= 1, got {beam}")
    if not 1 <= n_best <= beam:
        raise ValueError(f"n_best must be in [1, beam={beam}], got {n_best}")
    if length_penalty != length_penalty or abs(length_penalty) == float("inf"):
        raise ValueError(f"length_penalty must be a finite number, got {length_penalty}")


@torch.inference_mode()
def beam_search(
    model: StepModel,
    src: Tensor,
    src_mask: Tensor,
    *,
    beam: int = 5,
    n_best: int = 1,
    length_penalty: float = 0.6,
    max_len_ratio: float = 2.0,
    max_len_offset: int = 10,
    bos: int = 1,
    eos: int = 2,
    attention: bool = True,
) -> list[list[Hypothesis]]:
    """Beam search (Sutskever et al. 2014; Wu et al. 2016, sec. 7) for a whole batch at once.

    Finished hypotheses are ranked by ``score / lp(Y)`` with the GNMT length penalty
    ``lp(Y) = ((5 + |Y|) / 6) ** length_penalty`` (Wu et al. 2016, eq. 14). A sentence stops as soon as
    it has ``n_best`` finished hypotheses that no live beam can still beat (a live path's score only falls
    as it grows, so this is exact: stopping changes no result), or at ``ceil(src_len * max_len_ratio) +
    max_len_offset`` steps; there, if fewer than ``beam`` have finished, its live beams are kept as
    unfinished hypotheses. ``beam=1`` is exactly :func:`greedy_search`. ``attention=False`` keeps no
    attention history (each hypothesis's ``attn`` is None): less copying per step, for callers that only
    want the text.

    Shapes:
        src ``[B, S]`` long, src_mask ``[B, S]`` bool (True = real token).

    Returns:
        ``B`` lists of ``n_best`` :class:`Hypothesis` (fewer only if fewer were found), best ``norm_score`` first.
    """
    check_source(src, src_mask)
    _check_options(beam, n_best, length_penalty)
    batch, src_len = src.shape
    ctx = _Context(batch, src_mask, length_penalty)
    state = model.encode(src, src_mask)
    shared = bool(getattr(state, "beams_share_source", False))  # per-source leaves stay [B, ...]
    # The first step is the same for every beam of a sentence: take it once per sentence, then repeat.
    log_probs, state, attn = model.decode_step(src.new_full((batch,), bos), state)  # [B, V], [B, S]
    check_step(log_probs, attn, batch, src_len)
    state = repeat_state(state, beam, per_source=not shared)  # leaves [B * K, ...]
    log_probs, attn = log_probs.repeat_interleave(beam, 0), attn.repeat_interleave(beam, 0)  # [B * K, ...]
    scores = torch.zeros(batch, beam, device=src.device)  # [B, K]
    scores[:, 1:] = float("-inf")  # all beams start identical: only beam 0 may expand at the first step
    budget = max_lengths(src_mask, max_len_ratio, max_len_offset).to(src.device)  # [B]
    beams = _Beams(
        torch.arange(batch, device=src.device),
        budget,
        torch.zeros_like(budget),
        torch.full((batch, n_best), float("-inf"), dtype=torch.float64, device=src.device),
        scores,
        src.new_zeros((batch, beam, 0)),
        None,
    )
    tokens = src.new_full((batch * beam,), bos)  # [N * K]
    first_cut = int(budget.min())  # no sentence runs out of steps before this many
    some_finished = False  # whether any sentence has a finished hypothesis yet (until then none can end)
    for t in range(int(budget.max())):
        if t:  # (step 0's outputs are the ones above)
            log_probs, state, attn = model.decode_step(tokens, state)  # [N * K, V], [N * K, S]
            check_step(log_probs, attn, beams.scores.numel(), src_len)
        cand = _top_candidates(beams.scores, log_probs, beam)
        kept_attn = attn if attention else None
        found = _finalise_eos(beams, cand, kept_attn, ctx, eos)
        if found is not None:
            beams.n_finished, some_finished = beams.n_finished + found, True
        beams, back = _advance(beams, cand, kept_attn, eos)
        # A sentence ends once no live beam can still beat its n_best-th finished hypothesis (beam 1: at its
        # first EOS, as greedy search does). Stopping at K finished ones instead would lose a live path that
        # had not yet ended when K worse ones took an early EOS, and would keep decoding a sentence whose
        # best hypothesis is already known while weak beams wander on. Until a sentence could end (some
        # hypothesis finished, or a budget reached) the step's checks are skipped: a few small ops fewer.
        keep = None  # [N'] the sentences that go on (None: all of them)
        if some_finished or t + 1 >= first_cut:
            finished = beams.n_finished >= n_best  # (n_best <= beam: 1 at beam 1)
            if beam > 1 and some_finished:
                finished &= _settled(beams, t + 1, length_penalty)
            done = finished | (t + 1 >= beams.budget)  # [N]
            _finalise_unfinished(beams, done & ~finished, ctx)
            if bool(done.any()):
                keep = (~done).nonzero().squeeze(1)
                if keep.numel() == 0:
                    break
        state = select_beams(state, keep, back, beam, beams.scores.size(0), per_source_repeated=not shared)
        if keep is not None:
            beams = select_state(beams, keep)
        tokens = beams.tokens[:, :, -1].reshape(-1)  # [N' * K]
    best = [sorted(hyps, key=lambda h: h.norm_score, reverse=True)[:n_best] for hyps in ctx.results]
    for hyps in best:  # own compact copies: a view would keep every gathered path of its step alive
        for h in hyps:
            if h.attn is not None:
                h.attn = h.attn.clone()
    return best
