"""Length-bucketed batching by token budget, padding, and the :class:`Batch` that models consume."""
# B batch, S source len, T target len (BOS + target, or target + EOS), L longest sequence

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, fields
from itertools import chain

import torch
from torch import Tensor

from attnkit.data.tokenizers import BOS, EOS, PAD

# Shuffled examples are sorted by length within chunks of about this many batches: large enough that
# neighbours have similar lengths (little padding), small enough that batches still mix the corpus.
CHUNK_BATCHES = 100


def _cut(order: Sequence[int], lengths: Sequence[int], max_tokens: int,
         max_sentences: int | None = None) -> list[list[int]]:
    """Cut ``order`` (sorted by length) greedily into batches of at most ``max_tokens`` padded tokens
    (and at most ``max_sentences`` examples)."""
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in order:
        grown = max(longest, lengths[i])
        full = max_sentences is not None and len(current) >= max_sentences
        if current and (full or (len(current) + 1) * grown > max_tokens):
            batches.append(current)
            current, grown = [], lengths[i]
        current.append(i)
        longest = grown
    if current:
        batches.append(current)
    return batches


def bucket_batches(src_lens: Sequence[int], tgt_lens: Sequence[int], *, max_tokens: int, shuffle: bool,
                   seed: int, epoch: int = 0, max_sentences: int | None = None) -> list[list[int]]:
    """Group example indices into batches of similar length under a padded-token budget.

    A batch's cost is ``len(batch) * longest``, where ``longest`` is the longest source *or* target in
    it (pass lengths as they will be padded, e.g. target + EOS), and stays ``<= max_tokens``; an example
    longer than ``max_tokens`` alone gets a batch of its own. With ``shuffle`` the examples are permuted,
    sorted by length within chunks of about :data:`CHUNK_BATCHES` batches, and the batch order is
    shuffled, all determined by ``(seed, epoch)``. Without it all examples are sorted by length
    (ties by index) and the batches come shortest first. Every index appears in exactly one batch.
    """
    if len(src_lens) != len(tgt_lens):
        raise ValueError(f"src_lens has {len(src_lens)} entries but tgt_lens has {len(tgt_lens)}")
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}")
    if max_sentences is not None and max_sentences < 1:
        raise ValueError(f"max_sentences must be positive, got {max_sentences}")
    lengths = [max(int(s), int(t)) for s, t in zip(src_lens, tgt_lens, strict=True)]
    n = len(lengths)
    if not shuffle:
        return _cut(sorted(range(n), key=lambda i: (lengths[i], i)), lengths, max_tokens, max_sentences)
    rng = random.Random(f"attnkit-batches:{seed}:{epoch}")  # str seeds hash with SHA-512: stable
    order = list(range(n))
    rng.shuffle(order)
    mean_len = max(1.0, sum(lengths) / max(1, n))
    per_batch = max_tokens / mean_len if max_sentences is None else min(max_sentences, max_tokens / mean_len)
    chunk = max(1, int(CHUNK_BATCHES * per_batch))
    batches: list[list[int]] = []
    for begin in range(0, n, chunk):
        part = sorted(order[begin:begin + chunk], key=lambda i: lengths[i])
        batches.extend(_cut(part, lengths, max_tokens, max_sentences))
    rng.shuffle(batches)
    return batches


def pad(seqs: Sequence[Sequence[int]], pad_id: int = PAD) -> torch.LongTensor:
    """Right-pad integer sequences into a ``[B, L]`` long tensor, ``L`` the longest length."""
    if len(seqs) == 0:
        raise ValueError("pad() needs at least one sequence")
    lengths = [len(s) for s in seqs]
    out = torch.full((len(seqs), max(lengths)), pad_id, dtype=torch.long)  # [B, L]
    # One tensor from all tokens, scattered through the mask (row-major order = sequence order): one
    # conversion per batch instead of one per sequence.
    out[_lengths_mask(lengths, out.size(1))] = torch.tensor(list(chain.from_iterable(seqs)), dtype=torch.long)
    return out


def _lengths_mask(lengths: Sequence[int], width: int) -> Tensor:
    return torch.arange(width)[None, :] < torch.as_tensor(list(lengths))[:, None]  # [B, L] bool


@dataclass
class Batch:
    """A padded batch of translation pairs, as models' ``loss()`` and the training loop see it.

    Shapes:
        src: ``[B, S]`` long; src_mask: ``[B, S]`` bool, True = real token.
        tgt_in: ``[B, T]`` long, BOS + target (decoder input); tgt_out: ``[B, T]`` long, target + EOS
        (what to predict); tgt_mask: ``[B, T]`` bool, True = real token.
        indices: positions of the pairs in the corpus, in batch order.
        align: ``[B, T, S]`` float or None: gold attention for guided alignment, row ``t`` the target of
        the attention that predicts ``tgt_out[:, t]``; each row sums to 1 or is all zeros (no gold: the
        EOS row, unlinked tokens, padding).
        align_weight: the weight of the guided-alignment term that ``loss()`` uses for this batch
        (0 = off; :class:`~attnkit.training.tasks.TranslationTask` sets ``train.guided_alignment``).
        coverage_weight: the weight of the coverage penalty that ``loss()`` adds (0 = off; set from
        ``train.coverage_penalty``).
    """

    src: Tensor
    src_mask: Tensor
    tgt_in: Tensor
    tgt_out: Tensor
    tgt_mask: Tensor
    indices: list[int]
    align: Tensor | None = None
    align_weight: float = 0.0
    coverage_weight: float = 0.0

    @property
    def ntokens(self) -> int:
        """Number of target tokens to predict, EOS included (the loss normaliser)."""
        return int(self.tgt_mask.sum())

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        """A copy with every tensor moved to ``device``."""
        moved = {f.name: getattr(self, f.name) for f in fields(self)}
        for key, value in moved.items():
            if isinstance(value, Tensor):
                moved[key] = value.to(device, non_blocking=non_blocking)
        return Batch(**moved)


def _pad_alignments(align: Sequence[Tensor], src_ids: Sequence[Sequence[int]], tgt_ids: Sequence[Sequence[int]],
                   width: tuple[int, int]) -> Tensor:
    """Stack per-example gold matrices ``[T_i, S_i]`` (``T_i`` target tokens without EOS, ``S_i`` source
    tokens) into a zero-padded ``[B, T, S]`` tensor, ``(T, S) = width``; the EOS row stays zero."""
    out = torch.zeros(len(align), *width)  # [B, T, S]
    for b, (gold, src, tgt) in enumerate(zip(align, src_ids, tgt_ids, strict=True)):
        gold = torch.as_tensor(gold, dtype=torch.float32)
        if gold.shape != (len(tgt), len(src)):
            raise ValueError(f"gold alignment {b} has shape {list(gold.shape)}; expected [target tokens, source "
                             f"tokens] = [{len(tgt)}, {len(src)}]")
        out[b, : len(tgt), : len(src)] = gold
    return out


def make_batch(src_ids: Sequence[Sequence[int]], tgt_ids: Sequence[Sequence[int]],
               indices: Sequence[int], *, align: Sequence[Tensor] | None = None, align_weight: float = 0.0,
               coverage_weight: float = 0.0) -> Batch:
    """Pad token ids (without BOS/EOS) into a :class:`Batch`, adding BOS to ``tgt_in`` and EOS to ``tgt_out``.

    ``align``: optional gold attention per example, ``[len(tgt_ids[i]), len(src_ids[i])]`` (as
    :func:`attnkit.data.alignment_targets.gold_alignment_matrix` builds it), padded into ``Batch.align``;
    ``align_weight`` and ``coverage_weight`` become the batch's fields of those names.
    """
    if not len(src_ids) == len(tgt_ids) == len(indices):
        raise ValueError(f"make_batch got {len(src_ids)} sources, {len(tgt_ids)} targets and "
                         f"{len(indices)} indices; they must match")
    if align is not None and len(align) != len(src_ids):
        raise ValueError(f"make_batch got {len(align)} gold alignments for {len(src_ids)} pairs; they must match")
    src = pad(src_ids)  # [B, S]
    tgt_in = pad([[BOS, *t] for t in tgt_ids])  # [B, T]
    tgt_out = pad([[*t, EOS] for t in tgt_ids])  # [B, T]
    gold = None if align is None else _pad_alignments(align, src_ids, tgt_ids, (tgt_out.shape[1], src.shape[1]))
    return Batch(
        src=src,
        src_mask=_lengths_mask([len(s) for s in src_ids], src.shape[1]),
        tgt_in=tgt_in,
        tgt_out=tgt_out,
        tgt_mask=_lengths_mask([len(t) + 1 for t in tgt_ids], tgt_out.shape[1]),
        indices=[int(i) for i in indices],
        align=gold,
        align_weight=float(align_weight),
        coverage_weight=float(coverage_weight),
    )
