"""Hard (stochastic) attention: attend to one sampled position.

Xu et al. (2015), "Show, Attend and Tell", section 4.1: the location ``s_t ~ Multinoulli(alpha_t)``
is sampled from the soft weights and the context is the value at that location. The sampling is not
differentiable, so the module returns ``log p(s_t)`` for a REINFORCE / Monte-Carlo estimator
(Williams 1992) and the entropy for the entropy bonus; ``straight_through`` and ``gumbel``
(Jang et al. 2017) give biased but low-variance pathwise gradients instead.

Legend: B batch, T queries, S keys, Dv value dim.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attnkit.attention.attention import Attention
from attnkit.attention.functional import checked_mask, masked_softmax

__all__ = ["ESTIMATORS", "HardAttention", "HardAttentionOutput"]

ESTIMATORS = ("reinforce", "straight_through", "gumbel")


class HardAttentionOutput(NamedTuple):
    context: Tensor  # [B, T, Dv] value at the sampled position
    attn_weights: Tensor  # [B, T, S] the distribution sampled from (soft weights)
    sample: Tensor  # [B, T] long, the chosen key
    log_prob: Tensor  # [B, T] log p(sample); 0 for rows with nothing to attend
    entropy: Tensor  # [B, T] entropy of attn_weights


class HardAttention(nn.Module):
    """Attention that samples one key per query.

    Args:
        score, query_dim, key_dim, hidden_dim: as :class:`~attnkit.attention.Attention`.
        estimator: ``reinforce`` (context carries no gradient; use ``log_prob``), ``straight_through``
            (one-hot forward, soft gradient backward) or ``gumbel`` (Gumbel-softmax, hard forward).
        temperature: Gumbel-softmax temperature.

    Shapes:
        query ``[B, T, Dq]``, key ``[B, S, Dk]``, value ``[B, S, Dv]``, mask as ``Attention``
        -> :class:`HardAttentionOutput`. Only unmasked keys are ever sampled.
    """

    def __init__(
        self,
        score: str,
        query_dim: int,
        key_dim: int,
        hidden_dim: int | None = None,
        *,
        estimator: str = "reinforce",
        temperature: float = 1.0,
    ) -> None:
        super().__init__()
        if estimator not in ESTIMATORS:
            raise ValueError(f"unknown estimator {estimator!r}; choose one of {', '.join(ESTIMATORS)}")
        self.attention = Attention(score, query_dim, key_dim, hidden_dim)
        self.estimator = estimator
        self.temperature = temperature

    def project_keys(self, key: Tensor) -> Tensor:
        return self.attention.project_keys(key)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        mask: Tensor | None = None,
        *,
        projected_keys: Tensor | None = None,
        deterministic: bool = False,
    ) -> HardAttentionOutput:
        """``deterministic=True`` takes the most likely key instead of sampling (for evaluation)."""
        mask = checked_mask(query, key, value, mask)  # [B, T, S] or None
        S = key.size(1)
        scores = self.attention.scores(query, key, projected_keys)  # [B, T, S]
        weights = masked_softmax(scores, mask)  # [B, T, S]
        has_key = weights.sum(-1) > 0  # [B, T]
        if self.estimator == "gumbel" and not deterministic:
            logits = scores if mask is None else scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
            one_hot = F.gumbel_softmax(logits, tau=self.temperature, hard=True)  # [B, T, S]
            sample = one_hot.argmax(-1)
        else:
            sample = self._pick(weights, has_key, deterministic)  # [B, T]
            one_hot = F.one_hot(sample, S).to(weights.dtype)  # [B, T, S]
            if self.estimator == "straight_through":
                one_hot = one_hot + weights - weights.detach()
        one_hot = one_hot * has_key[..., None]
        log_w = torch.log(weights.clamp_min(torch.finfo(weights.dtype).tiny))
        log_prob = log_w.gather(-1, sample[..., None]).squeeze(-1) * has_key  # [B, T]
        entropy = -(weights * log_w).sum(-1)  # [B, T]
        context = one_hot @ value  # [B, T, Dv]
        return HardAttentionOutput(context, weights, sample, log_prob, entropy)

    @staticmethod
    def _pick(weights: Tensor, has_key: Tensor, deterministic: bool) -> Tensor:
        if deterministic:
            return weights.argmax(-1)
        flat = weights.detach().reshape(-1, weights.size(-1))  # [B*T, S]
        # Rows with nothing to attend sample from a uniform stand-in; their output is zeroed.
        flat = torch.where(has_key.reshape(-1, 1), flat, torch.ones_like(flat))
        return torch.multinomial(flat, 1).view(weights.shape[:-1])  # [B, T]
