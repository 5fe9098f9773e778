"""Gold attention targets for guided alignment (supervised attention).

Guided alignment (Chen et al. 2016, "Guided Alignment Training for Topic-Aware Neural Machine
Translation"; Liu et al. 2016, "Neural Machine Translation with Supervised Attention") adds to the
translation loss a cross-entropy between a gold distribution over source tokens and the model's
attention, one term per target token. This module builds that gold distribution from a pair's
character links.

Legend: S source tokens, T target tokens (no BOS/EOS), both as the tokenizers encode them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from attnkit.data.examples import Pair
from attnkit.data.tokenizers import Tokenizer

__all__ = ["gold_alignment_matrix"]


def _token_of_char(spans: Sequence[tuple[int, int]], length: int) -> list[int | None]:
    """For each character of a text of ``length`` characters: the token whose span covers it, or None."""
    owner: list[int | None] = [None] * length
    for token, (start, end) in enumerate(spans):
        for c in range(max(0, start), min(length, end)):
            if owner[c] is None:  # overlapping spans (rare, SentencePiece fallback): the first token keeps it
                owner[c] = token
    return owner


def gold_alignment_matrix(pair: Pair, src_tok: Tokenizer, tgt_tok: Tokenizer) -> Tensor:
    """The gold attention distribution of ``pair`` over source tokens, one row per target token.

    Every *possible* link (which includes the sure ones, S ⊆ P) from source character ``i`` to target
    character ``j`` becomes a link between the tokens holding them (through :meth:`Tokenizer.spans`: the
    identity for characters; a subword is linked if any of its characters is). Each row is uniform over
    the source tokens its target token links to; a target token without links gets an all-zero row,
    which guided alignment skips. No row for EOS: it has no gold.

    Shapes:
        returns ``[T, S]`` float32, ``T = len(tgt_tok.encode(pair.tgt))``, ``S = len(src_tok.encode(pair.src))``;
        every row sums to 1 or is all zeros.
    """
    if pair.possible is None and pair.sure is None:
        raise ValueError(f"pair {pair.id or pair.src!r} has no gold alignment (sure and possible are None)")
    src_spans, tgt_spans = src_tok.spans(pair.src), tgt_tok.spans(pair.tgt)
    src_owner = _token_of_char(src_spans, len(pair.src))
    tgt_owner = _token_of_char(tgt_spans, len(pair.tgt))
    rows = [[0.0] * len(src_spans) for _ in tgt_spans]  # [T][S]: plain lists, one tensor at the end (fast)
    for i, j in set(pair.possible or ()) | set(pair.sure or ()):
        s = src_owner[i] if 0 <= i < len(src_owner) else None
        t = tgt_owner[j] if 0 <= j < len(tgt_owner) else None
        if s is not None and t is not None:  # characters no token covers (e.g. spaces between words) drop out
            rows[t][s] = 1.0
    gold = torch.tensor(rows, dtype=torch.float32).reshape(len(tgt_spans), len(src_spans))  # [T, S]
    return gold / gold.sum(-1, keepdim=True).clamp(min=1.0)  # uniform over each row's links
