"""Score functions: how well a query matches each key.

Every score splits into a key-side projection that can be computed once per source
(:meth:`Score.project_keys`) and a per-query part (:meth:`Score.forward`), so a decoder can pass the
projected keys explicitly at every step instead of recomputing them or hiding them on the module.

Legend: B batch, T queries, S keys, Dq query dim, Dk key dim, A attention hidden dim.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from attnkit.attention.functional import additive_scores, additive_scores_lean

__all__ = [
    "SCORES",
    "AdditiveScore",
    "ConcatScore",
    "DotScore",
    "GeneralScore",
    "LearnedQueryScore",
    "ScaledDotScore",
    "Score",
    "build_score",
]


class Score(nn.Module):
    """Base class: ``scores = forward(query, project_keys(key))``.

    Shapes:
        query ``[B, T, Dq]``, key ``[B, S, Dk]`` -> scores ``[B, T, S]``.
    """

    def project_keys(self, key: Tensor) -> Tensor:
        """Key-side work, done once per source. Identity unless the score projects keys."""
        return key

    def forward(self, query: Tensor, projected_keys: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


def _require_equal_dims(query_dim: int, key_dim: int, name: str) -> None:
    if query_dim != key_dim:
        raise ValueError(f"{name} score needs query_dim == key_dim, got {query_dim} and {key_dim}")


class DotScore(Score):
    """``score(h_t, h_s) = h_t . h_s`` (Luong et al. 2015, eq. 8, "dot")."""

    def __init__(self, query_dim: int, key_dim: int) -> None:
        super().__init__()
        _require_equal_dims(query_dim, key_dim, "dot")

    def forward(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        return query @ projected_keys.transpose(1, 2)  # [B, T, S]


class ScaledDotScore(Score):
    """``score(q, k) = q . k / sqrt(d_k)`` (Vaswani et al. 2017, eq. 1)."""

    def __init__(self, query_dim: int, key_dim: int) -> None:
        super().__init__()
        _require_equal_dims(query_dim, key_dim, "scaled_dot")
        self.scale = 1.0 / math.sqrt(key_dim)

    def forward(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        return (query * self.scale) @ projected_keys.transpose(1, 2)  # [B, T, S]


class GeneralScore(Score):
    """Bilinear ``score(h_t, h_s) = h_t^T W_a h_s`` (Luong et al. 2015, eq. 8, "general").

    ``project_keys`` computes ``W_a h_s`` once, so each step costs one batched matmul.
    """

    def __init__(self, query_dim: int, key_dim: int) -> None:
        super().__init__()
        self.W_a = nn.Linear(key_dim, query_dim, bias=False)

    def project_keys(self, key: Tensor) -> Tensor:
        return self.W_a(key)  # [B, S, Dq]

    def forward(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        return query @ projected_keys.transpose(1, 2)  # [B, T, S]


class _TanhScore(Score):
    """Shared body of the two feed-forward scores ``v . tanh(q' + k')``.

    For many queries at once the memory-lean kernel avoids the ``[B, T, S, A]`` tensor.
    """

    memory_efficient: bool

    def _score(self, query_proj: Tensor, key_proj: Tensor) -> Tensor:
        if self.memory_efficient and query_proj.size(1) > 1:
            return additive_scores_lean(query_proj, key_proj, self.v)
        return additive_scores(query_proj, key_proj, self.v)


class AdditiveScore(_TanhScore):
    """Bahdanau et al. (2015), eq. 6 / appendix A.1.2: ``e = v^T tanh(W q + U k + b)``."""

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int, *, memory_efficient: bool = True):
        super().__init__()
        self.W = nn.Linear(query_dim, hidden_dim, bias=True)  # holds b
        self.U = nn.Linear(key_dim, hidden_dim, bias=False)
        self.v = nn.Parameter(torch.empty(hidden_dim).uniform_(-1 / math.sqrt(hidden_dim), 1 / math.sqrt(hidden_dim)))
        self.memory_efficient = memory_efficient

    def project_keys(self, key: Tensor) -> Tensor:
        return self.U(key)  # [B, S, A]

    def forward(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        return self._score(self.W(query), projected_keys)  # [B, T, S]


class ConcatScore(_TanhScore):
    """Luong et al. (2015), eq. 8, "concat": ``score = v_a^T tanh(W_a [h_t; h_s])``.

    One weight ``W_a`` of shape ``[A, Dq + Dk]`` as in the paper; its key half is applied once per
    source, its query half once per step.
    """

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int, *, memory_efficient: bool = True):
        super().__init__()
        self.query_dim = query_dim
        self.W_a = nn.Linear(query_dim + key_dim, hidden_dim, bias=False)
        self.v = nn.Parameter(torch.empty(hidden_dim).uniform_(-1 / math.sqrt(hidden_dim), 1 / math.sqrt(hidden_dim)))
        self.memory_efficient = memory_efficient

    def project_keys(self, key: Tensor) -> Tensor:
        return key @ self.W_a.weight[:, self.query_dim :].T  # [B, S, A]

    def forward(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        return self._score(query @ self.W_a.weight[:, : self.query_dim].T, projected_keys)  # [B, T, S]


class LearnedQueryScore(Score):
    """HAN's word/sentence score (Yang et al. 2016, eqs. 5-6): ``u_it = tanh(W h_it + b)``, score
    ``u_it . u_w`` against a learned context vector ``u_w``. The ``query`` argument is ignored.

    Shapes:
        key ``[B, S, Dk]`` -> scores ``[B, 1, S]``.
    """

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.W = nn.Linear(key_dim, hidden_dim, bias=True)
        self.u_w = nn.Parameter(torch.empty(hidden_dim).normal_(0.0, 1 / math.sqrt(hidden_dim)))

    def project_keys(self, key: Tensor) -> Tensor:
        return torch.tanh(self.W(key))  # [B, S, A]

    def forward(self, query: Tensor | None, projected_keys: Tensor) -> Tensor:
        return (projected_keys @ self.u_w)[:, None, :]  # [B, 1, S]


SCORES: dict[str, type[Score]] = {
    "dot": DotScore,
    "scaled_dot": ScaledDotScore,
    "general": GeneralScore,
    "bilinear": GeneralScore,
    "concat": ConcatScore,
    "additive": AdditiveScore,
    "learned_query": LearnedQueryScore,
}
_NEEDS_HIDDEN = {"concat", "additive", "learned_query"}


def build_score(
    name: str, query_dim: int, key_dim: int, hidden_dim: int | None = None, *, memory_efficient: bool = True
) -> Score:
    """Create a score by name: one of ``dot, scaled_dot, general (= bilinear), concat, additive,
    learned_query``. ``hidden_dim`` (the ``A`` of ``v . tanh(...)``) defaults to ``key_dim``."""
    if name not in SCORES:
        raise ValueError(f"unknown score {name!r}; choose one of {', '.join(sorted(SCORES))}")
    cls = SCORES[name]
    if name in _NEEDS_HIDDEN:
        hidden = hidden_dim or key_dim
        if name == "learned_query":
            return cls(query_dim, key_dim, hidden)
        return cls(query_dim, key_dim, hidden, memory_efficient=memory_efficient)
    return cls(query_dim, key_dim)
