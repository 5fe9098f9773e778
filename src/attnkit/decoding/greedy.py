"""Batched greedy search over the step protocol.

Any model works that implements ``encode(src, src_mask) -> state`` and
``decode_step(tokens, state) -> (log_probs, state, attn)`` with a batch-first state; the search never
looks at what the model is. Sentences that emit EOS or reach their length budget leave the active
batch (:func:`~attnkit.decoding.state.select_state`), so each step only pays for the sentences still
running.

Legend: B batch, S source len (padded), V vocabulary, N sentences still active, L longest budget.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import Tensor

from attnkit.decoding.hypothesis import Hypothesis, check_source, check_step, make_hypothesis, max_lengths
from attnkit.decoding.state import select_state

__all__ = ["StepModel", "greedy_search"]


class StepModel(Protocol):
    """What search needs from a model (Annotated Transformer's ``encode``/``decode`` split, made stepwise)."""

    def encode(self, src: Tensor, src_mask: Tensor) -> Any:
        """``src [B, S]`` long, ``src_mask [B, S]`` bool (True = real token) -> batch-first state."""

    def decode_step(self, tokens: Tensor, state: Any) -> tuple[Tensor, Any, Tensor]:
        """``tokens [N]`` previous outputs -> ``log_probs [N, V]``, new state, ``attn [N, S]``."""


@torch.inference_mode()
def greedy_search(
    model: StepModel,
    src: Tensor,
    src_mask: Tensor,
    *,
    max_len_ratio: float = 2.0,
    max_len_offset: int = 10,
    bos: int = 1,
    eos: int = 2,
    attention: bool = True,
) -> list[list[Hypothesis]]:
    """Pick the most probable token at every step, for a whole batch at once.

    Each sentence ``b`` gets at most ``ceil(src_len_b * max_len_ratio) + max_len_offset`` steps (EOS
    included); one cut there is returned with ``finished=False``. ``norm_score == score`` (no length
    penalty: there is nothing to rank). ``attention=False`` keeps no attention (``attn`` is None).

    Shapes:
        src ``[B, S]`` long, src_mask ``[B, S]`` bool (True = real token).

    Returns:
        ``B`` lists, each holding one :class:`Hypothesis` (the same layout :func:`beam_search` returns).
    """
    check_source(src, src_mask)
    batch, src_len = src.shape
    budget = max_lengths(src_mask, max_len_ratio, max_len_offset).to(src.device)  # [B]
    state = model.encode(src, src_mask)
    active = torch.arange(batch, device=src.device)  # [N] original sentence of each active row
    tokens = src.new_full((batch,), bos)  # [N]
    scores = torch.zeros(batch, device=src.device)  # [N] float32, promoted if the model is wider (as beam)
    out_tokens = src.new_zeros((batch, int(budget.max())))  # [B, L]
    out_attn: Tensor | None = None  # [B, L, S], allocated with the model's attention dtype
    lengths, final_scores = budget.clone(), torch.zeros(batch, dtype=torch.float64, device=src.device)  # [B]
    finished = torch.zeros(batch, dtype=torch.bool, device=src.device)  # [B]
    for t in range(out_tokens.size(1)):
        log_probs, state, attn = model.decode_step(tokens, state)  # [N, V], [N, S]
        check_step(log_probs, attn, active.numel(), src_len)
        step_scores, tokens = log_probs.max(dim=-1)  # [N], [N]
        scores = scores + step_scores
        out_tokens[active, t] = tokens
        if attention:
            if out_attn is None:
                out_attn = attn.new_zeros((batch, out_tokens.size(1), *attn.shape[1:]))
            out_attn[active, t] = attn
        is_eos = tokens == eos  # [N]
        done = is_eos | (t + 1 >= budget[active])  # [N]
        if not bool(done.any()):
            continue
        ended = active[done]
        lengths[ended], final_scores[ended], finished[ended] = t + 1, scores[done].double(), is_eos[done]
        keep = (~done).nonzero().squeeze(1)  # [N']
        if keep.numel() == 0:
            break
        state, active, tokens, scores = select_state(state, keep), active[keep], tokens[keep], scores[keep]
    rows = zip(lengths.tolist(), final_scores.tolist(), finished.tolist(), strict=True)
    return [
        [make_hypothesis(out_tokens[b, : n - 1 if fin else n], None if out_attn is None else out_attn[b, :n],
                         src_mask[b], score, score, fin)]
        for b, (n, score, fin) in enumerate(rows)
    ]
