"""Toy models implementing the step protocol, shared by the decoding tests.

- ``ToyGRU``: a tiny random GRU encoder-decoder with dot attention (Luong et al. 2015, eq. 8), float64 so
  that "batched == alone" can be checked tightly.
- ``TableModel``: next-token probabilities from a hand-written ``[V, V]`` table indexed by the previous
  token, and a one-hot attention that walks along the source (position ``step mod src_len``), so every
  expected number can be worked out by hand.

Token ids: 0 pad, 1 BOS, 2 EOS, 3 "A", 4 "B", ...
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from torch import Tensor, nn

PAD, BOS, EOS, A, B = 0, 1, 2, 3, 4


@dataclass
class GRUState:
    hidden: Tensor  # [B, D]
    memory: Tensor  # [B, S, D]
    mask: Tensor  # [B, S]
    extra: tuple[Any, ...]  # non-tensor leaves pass through search unchanged


class ToyGRU(nn.Module):
    def __init__(self, vocab: int = 12, dim: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.encoder = nn.GRU(dim, dim, batch_first=True)
        self.cell = nn.GRUCell(dim, dim)
        self.out = nn.Linear(2 * dim, vocab)
        with torch.no_grad():  # sharper than the default init, so that some sentences end early (EOS) and others
            self.embed.weight.mul_(2.0)  # run into the length budget, and beams of one sentence diverge
            self.out.weight.mul_(4.0)
            self.out.bias[EOS] += 0.5

    def encode(self, src: Tensor, src_mask: Tensor) -> GRUState:
        memory, _ = self.encoder(self.embed(src))  # [B, S, D]; right padding cannot change real positions
        weights = src_mask.unsqueeze(-1).to(memory.dtype)  # [B, S, 1]
        hidden = (memory * weights).sum(1) / weights.sum(1).clamp(min=1)  # [B, D]
        return GRUState(hidden, memory, src_mask, (None, "toy"))

    def decode_step(self, tokens: Tensor, state: GRUState) -> tuple[Tensor, GRUState, Tensor]:
        hidden = self.cell(self.embed(tokens), state.hidden)  # [B, D]
        scores = torch.einsum("bsd,bd->bs", state.memory, hidden).masked_fill(~state.mask, float("-inf"))
        attn = scores.softmax(dim=-1)  # [B, S]
        context = torch.einsum("bs,bsd->bd", attn, state.memory)  # [B, D]
        log_probs = self.out(torch.cat([hidden, context], dim=-1)).log_softmax(dim=-1)  # [B, V]
        return log_probs, dataclasses.replace(state, hidden=hidden), attn


class TableModel:
    """``p(next | previous)`` from a table; the state is a dict of a step counter, source lengths and plain leaves."""

    def __init__(self, rows: dict[int, dict[int, float]], vocab: int = 5, floor: float = 1e-6) -> None:
        probs = torch.full((vocab, vocab), floor, dtype=torch.float64)
        for prev, row in rows.items():
            for nxt, p in row.items():
                probs[prev, nxt] = p
        self.probs = probs / probs.sum(dim=1, keepdim=True)  # [V, V]

    def encode(self, src: Tensor, src_mask: Tensor) -> dict[str, Any]:
        steps = torch.zeros(src.size(0), dtype=torch.long)  # [B]
        return {"step": steps, "src_len": src_mask.sum(1), "width": src.size(1), "none": None}

    def decode_step(self, tokens: Tensor, state: dict[str, Any]) -> tuple[Tensor, dict[str, Any], Tensor]:
        log_probs = self.probs[tokens].log()  # [B, V]
        attn = torch.zeros(tokens.size(0), state["width"], dtype=torch.float64)
        attn[torch.arange(tokens.size(0)), state["step"] % state["src_len"]] = 1.0  # [B, S]
        return log_probs, {**state, "step": state["step"] + 1}, attn


class CountingModel:
    """Wraps a model and records how many rows each ``decode_step`` call received."""

    def __init__(self, model: Any) -> None:
        self.model, self.rows = model, []

    def encode(self, src: Tensor, src_mask: Tensor) -> Any:
        return self.model.encode(src, src_mask)

    def decode_step(self, tokens: Tensor, state: Any) -> tuple[Tensor, Any, Tensor]:
        self.rows.append(tokens.size(0))
        return self.model.decode_step(tokens, state)


def padded_batch(lengths: list[int], vocab: int = 12, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Random source ids ``[B, S]`` (no special tokens) right-padded with PAD, and the mask ``[B, S]``."""
    gen = torch.Generator().manual_seed(seed)
    width = max(lengths)
    src = torch.randint(3, vocab, (len(lengths), width), generator=gen)
    mask = torch.arange(width).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)  # [B, S]
    return src.masked_fill(~mask, PAD), mask


@pytest.fixture
def gru() -> ToyGRU:
    torch.manual_seed(0)
    return ToyGRU().double().eval()


@pytest.fixture
def batch() -> tuple[Tensor, Tensor]:
    return padded_batch([5, 3, 7, 1, 4, 6])


def _replay(model: Any, src: Tensor, tokens: list[int], finished: bool) -> tuple[Tensor, float]:
    """Teacher-force ``tokens`` (+ EOS if finished) for one unpadded sentence ``src [S]``.

    Returns the attention rows ``[L, S]`` the model emits along that path and its total log-probability.
    """
    with torch.no_grad():
        state = model.encode(src.unsqueeze(0), torch.ones(1, src.numel(), dtype=torch.bool))
        prev, rows, total = BOS, [], 0.0
        for tok in [*tokens, *([EOS] if finished else [])]:
            log_probs, state, attn = model.decode_step(torch.tensor([prev]), state)  # [1, V], [1, S]
            rows.append(attn[0])
            total += float(log_probs[0, tok])
            prev = tok
    return torch.stack(rows), total


def _decode_alone(search: Any, model: Any, src: Tensor, src_mask: Tensor, **options: Any) -> list[list[Any]]:
    """Decode every sentence of a padded batch on its own, without padding."""
    out = []
    for row, mask in zip(src, src_mask, strict=True):
        real = row[mask].unsqueeze(0)  # [1, S_real]
        out.extend(search(model, real, torch.ones_like(real, dtype=torch.bool), **options))
    return out


@pytest.fixture
def trap() -> TableModel:
    """Greedy takes A (0.6) and then can only end with p = 0.6 * 0.4; B then EOS has p = 0.4 * 0.99."""
    return TableModel({BOS: {A: 0.6, B: 0.4}, A: {A: 0.3, B: 0.3, EOS: 0.4}, B: {EOS: 0.99, A: 0.005, B: 0.005}})


@pytest.fixture
def endless() -> TableModel:
    """EOS (almost) never wins: every sentence runs to its length budget."""
    return TableModel({BOS: {A: 0.6, B: 0.4}, A: {A: 0.55, B: 0.45}, B: {A: 0.7, B: 0.3}})


@pytest.fixture
def replay() -> Any:
    return _replay


@pytest.fixture
def decode_alone() -> Any:
    return _decode_alone


@pytest.fixture
def counting() -> Any:
    return CountingModel


@pytest.fixture
def table_model() -> Any:
    return TableModel
