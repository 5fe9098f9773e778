"""Shape mistakes raise ValueError naming the argument and the shapes."""

import pytest
import torch

from attnkit.attention import Attention, AttentionPooling, CoAttention, LocalAttention, MultiHeadAttention, build_score
from attnkit.attention.functional import additive_scores_lean


def test_query_rank_is_checked():
    with pytest.raises(ValueError, match=r"query must be \[B, T, Dq\], got \[2, 4\]"):
        Attention("dot", 4, 4)(torch.randn(2, 4), torch.randn(2, 3, 4), torch.randn(2, 3, 4))


def test_batch_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"batch sizes differ: query \[2, 1, 4\] vs key \[3, 5, 4\]"):
        Attention("dot", 4, 4)(torch.randn(2, 1, 4), torch.randn(3, 5, 4), torch.randn(3, 5, 4))


def test_key_value_length_mismatch():
    with pytest.raises(ValueError, match=r"key and value must share \[B, S\]"):
        Attention("dot", 4, 4)(torch.randn(2, 1, 4), torch.randn(2, 5, 4), torch.randn(2, 6, 4))


def test_wrong_feature_dim_names_the_expected_one():
    with pytest.raises(ValueError, match="query last dim must be query_dim=8"):
        Attention("additive", 8, 4)(torch.randn(2, 1, 4), torch.randn(2, 5, 4), torch.randn(2, 5, 4))


def test_mask_shape_and_dtype():
    attn = Attention("dot", 4, 4)
    q, k = torch.randn(2, 3, 4), torch.randn(2, 5, 4)
    with pytest.raises(ValueError, match=r"mask \[2, 4\] fits neither a key-padding mask \[B, S\]=\[2, 5\]"):
        attn(q, k, k, torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask must be boolean"):
        attn(q, k, k, torch.ones(2, 5))
    with pytest.raises(ValueError, match="fits neither"):  # a 2-D mask is never read as [T, S]
        attn(q, k, k, torch.ones(3, 5, dtype=torch.bool))


def test_unknown_names_list_the_choices():
    with pytest.raises(ValueError, match="unknown score 'cosine'; choose one of"):
        build_score("cosine", 4, 4)
    with pytest.raises(ValueError, match="unknown normalizer"):
        Attention("dot", 4, 4, normalizer="entmax")
    with pytest.raises(ValueError, match="unknown local attention mode"):
        LocalAttention("dot", 4, 4, mode="global")
    with pytest.raises(ValueError, match="dot score needs query_dim == key_dim"):
        build_score("dot", 4, 6)


def test_multihead_and_pooling_and_coattention_shapes():
    with pytest.raises(ValueError, match="not divisible"):
        MultiHeadAttention(10, 3)
    with pytest.raises(ValueError, match=r"x must be \[B, S, 5\]"):
        AttentionPooling(5)(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match=r"mask2 must be \[2, 4\]"):
        CoAttention(3)(torch.randn(2, 5, 3), torch.randn(2, 4, 3), None, torch.ones(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="additive scores need"):
        additive_scores_lean(torch.randn(1, 2, 3), torch.randn(1, 2, 4), torch.randn(3))
