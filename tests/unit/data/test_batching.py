import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnkit.data.batching import Batch, bucket_batches, make_batch, pad
from attnkit.data.tokenizers import BOS, EOS, PAD


def _lengths(n, seed):
    rng = random.Random(seed)
    return [rng.randint(1, 60) for _ in range(n)], [rng.randint(1, 60) for _ in range(n)]


def _cost(batch, src, tgt):
    return len(batch) * max(max(src[i], tgt[i]) for i in batch)


@settings(deadline=None, max_examples=60)
@given(lengths=st.lists(st.tuples(st.integers(0, 80), st.integers(0, 80)), max_size=120),
       max_tokens=st.integers(1, 400), shuffle=st.booleans(), seed=st.integers(0, 5), epoch=st.integers(0, 3),
       max_sentences=st.none() | st.integers(1, 20))
def test_every_index_once_and_budget_respected(lengths, max_tokens, shuffle, seed, epoch, max_sentences):
    src, tgt = [s for s, _ in lengths], [t for _, t in lengths]
    batches = bucket_batches(src, tgt, max_tokens=max_tokens, shuffle=shuffle, seed=seed, epoch=epoch,
                             max_sentences=max_sentences)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert batch, "no empty batches"
        assert len(batch) == 1 or _cost(batch, src, tgt) <= max_tokens
        assert max_sentences is None or len(batch) <= max_sentences


def test_sentence_cap_gives_full_batches_when_tokens_allow():
    src, tgt = _lengths(1000, seed=4)
    batches = bucket_batches(src, tgt, max_tokens=10**6, shuffle=True, seed=0, max_sentences=64)
    sizes = sorted(map(len, batches))
    assert sizes[-1] == 64 and sum(s == 64 for s in sizes) >= len(sizes) - 10  # one short batch per chunk at most


def test_oversized_example_gets_its_own_batch():
    batches = bucket_batches([5, 500, 5], [5, 3, 5], max_tokens=100, shuffle=False, seed=0)
    assert [1] in batches and sorted(map(len, batches)) == [1, 2]


def test_deterministic_per_seed_and_epoch():
    src, tgt = _lengths(3000, seed=1)
    run = lambda seed, epoch: bucket_batches(src, tgt, max_tokens=600, shuffle=True, seed=seed, epoch=epoch)  # noqa: E731
    assert run(1, 0) == run(1, 0)
    assert run(1, 0) != run(1, 1)
    assert run(1, 0) != run(2, 0)


def test_bucketing_keeps_padding_low():
    src, tgt = _lengths(3000, seed=2)
    batches = bucket_batches(src, tgt, max_tokens=800, shuffle=True, seed=0)
    padded = sum(_cost(b, src, tgt) for b in batches)
    real = sum(max(s, t) for s, t in zip(src, tgt, strict=True))
    assert padded < 1.1 * real  # unsorted batches of 16 pad to about 1.45x here


def test_unshuffled_batches_are_sorted_by_length():
    src, tgt = _lengths(500, seed=3)
    batches = bucket_batches(src, tgt, max_tokens=300, shuffle=False, seed=0)
    longest = [max(max(src[i], tgt[i]) for i in b) for b in batches]
    assert longest == sorted(longest)


def test_mismatched_lengths_and_bad_budget():
    with pytest.raises(ValueError, match="src_lens has 2"):
        bucket_batches([1, 2], [1], max_tokens=10, shuffle=False, seed=0)
    with pytest.raises(ValueError, match="max_tokens"):
        bucket_batches([1], [1], max_tokens=0, shuffle=False, seed=0)
    with pytest.raises(ValueError, match="max_sentences"):
        bucket_batches([1], [1], max_tokens=10, shuffle=False, seed=0, max_sentences=0)


def test_pad():
    out = pad([[5, 6, 7], [8], []], pad_id=9)
    assert out.dtype == torch.long
    assert out.tolist() == [[5, 6, 7], [8, 9, 9], [9, 9, 9]]


def test_make_batch_shift_and_masks():
    batch = make_batch([[10, 11, 12], [13]], [[20, 21], [22, 23, 24]], indices=[7, 3])
    assert batch.src.tolist() == [[10, 11, 12], [13, PAD, PAD]]
    assert batch.src_mask.tolist() == [[True, True, True], [True, False, False]]
    assert batch.tgt_in.tolist() == [[BOS, 20, 21, PAD], [BOS, 22, 23, 24]]
    assert batch.tgt_out.tolist() == [[20, 21, EOS, PAD], [22, 23, 24, EOS]]
    assert batch.tgt_mask.tolist() == [[True, True, True, False], [True, True, True, True]]
    assert batch.src_mask.dtype == torch.bool and batch.tgt_mask.dtype == torch.bool
    assert batch.ntokens == 7
    assert batch.indices == [7, 3]
    # teacher forcing: the decoder input at step t+1 is the target at step t
    assert torch.equal(batch.tgt_in[:, 1:][batch.tgt_mask[:, 1:]], batch.tgt_out[:, :-1][batch.tgt_mask[:, 1:]])


def test_batch_to_moves_every_tensor():
    batch = make_batch([[4]], [[5]], indices=[0])
    moved = batch.to("cpu")
    assert isinstance(moved, Batch) and moved is not batch
    assert torch.equal(moved.tgt_out, batch.tgt_out) and moved.indices == [0]


def test_make_batch_checks_sizes():
    with pytest.raises(ValueError, match="must match"):
        make_batch([[1]], [[1], [2]], indices=[0])
