"""Transformer equivalences: cached decoding == full forward, fused == explicit attention path."""

from dataclasses import replace

import pytest
import torch

from attnkit.decoding import beam_search, greedy_search
from attnkit.decoding.state import repeat_state
from attnkit.models import create_model


def _model(**kw):
    torch.manual_seed(0)
    args = {"embed_dim": 16, "num_heads": 2, "ff_dim": 32, "encoder_layers": 2, "decoder_layers": 3}
    return create_model("transformer", src_vocab=23, tgt_vocab=23, **{**args, **kw}).double().eval()


def _batch():
    g = torch.Generator().manual_seed(1)
    src = torch.randint(4, 23, (3, 7), generator=g)
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[1, 5:], mask[2, 3:] = False, False
    src[~mask] = 0
    tgt = torch.randint(4, 23, (3, 6), generator=g)
    tgt[:, 0] = 1
    return src, mask, tgt


@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
@pytest.mark.parametrize("norm_first", [True, False])
def test_cached_decoding_equals_full_forward(norm_first, positions):
    model = _model(norm_first=norm_first, positions=positions, share_embeddings=True)
    src, mask, tgt = _batch()
    logits, attn = model(src, mask, tgt)
    state, log_probs, attns = model.encode(src, mask), [], []
    for t in range(tgt.size(1)):
        lp, state, a = model.decode_step(tgt[:, t], state)
        log_probs.append(lp)
        attns.append(a)
    torch.testing.assert_close(torch.stack(log_probs, 1), torch.log_softmax(logits, -1), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(torch.stack(attns, 1), attn, rtol=1e-10, atol=1e-10)
    assert all(k.shape[2] == tgt.size(1) for k in state.self_k)


def test_fused_path_equals_explicit_path():
    model = _model()
    src, mask, tgt = _batch()
    fused, _ = model(src, mask, tgt, need_weights=False)
    explicit, _ = model(src, mask, tgt, need_weights=True)
    torch.testing.assert_close(fused, explicit, rtol=1e-10, atol=1e-10)


def test_padding_changes_nothing():
    model = _model()
    src, mask, tgt = _batch()
    alone, _ = model(src[2:, :3], mask[2:, :3], tgt[2:])
    batched, _ = model(src, mask, tgt)
    torch.testing.assert_close(batched[2:], alone, rtol=1e-10, atol=1e-10)


def test_alignment_layer_and_all_heads_through_beam_search():
    src, mask, _ = _batch()
    model = _model(attention_output="all")
    hyps = beam_search(model, src, mask, beam=3, n_best=2, max_len_offset=4)
    h = hyps[1][0]
    assert h.attn.shape == (len(h.tokens) + int(h.finished), 3, 2, int(mask[1].sum()))  # [steps, L, H, S_real]
    torch.testing.assert_close(h.attn.sum(-1), torch.ones(h.attn.shape[:-1], dtype=h.attn.dtype))
    align = _model(align_layer=0)
    greedy = greedy_search(align, src, mask, max_len_offset=4)[0][0]
    full = greedy_search(_model(attention_output="all"), src, mask, max_len_offset=4)[0][0]
    torch.testing.assert_close(greedy.attn, full.attn[:, 0].mean(1))


@pytest.mark.parametrize("attention_output", ["align", "all"])
def test_beams_sharing_a_source_row_equal_beams_with_their_own_copy(attention_output):
    model = _model(attention_output=attention_output)
    src, mask, tgt = _batch()
    state = model.encode(src, mask)
    assert state.beams_share_source
    shared, copied = repeat_state(state, 4, per_source=False), repeat_state(state, 4)
    assert shared.cross_k[0].size(0) == 3 and copied.cross_k[0].size(0) == 12
    tokens = tgt.repeat_interleave(4, 0)  # [12, T]
    tokens[1::4] = tokens[1::4].roll(1, 1)  # the beams of a sentence differ
    for t in range(tgt.size(1)):
        lp_shared, shared, a_shared = model.decode_step(tokens[:, t], shared)
        lp_copied, copied, a_copied = model.decode_step(tokens[:, t], copied)
        torch.testing.assert_close(lp_shared, lp_copied, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(a_shared, a_copied, rtol=1e-10, atol=1e-10)
    ragged = replace(shared, self_rows=shared.self_rows[:10])
    with pytest.raises(ValueError, match=r"10 rows of 1 step\(s\) cannot share 3 sources"):
        model.decode_step(tokens[:10, 0], ragged)


def test_beam_one_equals_greedy():
    src, mask, _ = _batch()
    model = _model()
    for g, b in zip(greedy_search(model, src, mask), beam_search(model, src, mask, beam=1), strict=True):
        assert g[0].tokens == b[0].tokens
        torch.testing.assert_close(g[0].attn, b[0].attn)


def test_share_embeddings_needs_one_vocabulary():
    with pytest.raises(ValueError, match="share_embeddings needs one vocabulary"):
        create_model("transformer", src_vocab=10, tgt_vocab=12, share_embeddings=True)


def test_positions_beyond_max_len_is_a_clear_error():
    model = _model(max_positions=8)
    src = torch.randint(4, 23, (1, 9))
    with pytest.raises(ValueError, match="exceeds max_len=8"):
        model.encode(src, torch.ones_like(src, dtype=torch.bool))


def test_attention_dropout_is_its_own_knob():
    from attnkit.attention import MultiHeadAttention

    def rates(**kwargs) -> set[float]:
        model = create_model("transformer", src_vocab=20, tgt_vocab=20, dropout=0.3, **kwargs)
        return {m.dropout for m in model.modules() if isinstance(m, MultiHeadAttention)}

    assert rates() == {0.3}  # default: the model's dropout
    assert rates(attention_dropout=0.0) == {0.0}
    classifier = create_model("transformer_classifier", vocab_size=20, num_classes=3, dropout=0.3,
                              attention_dropout=0.1)
    assert {m.dropout for m in classifier.modules() if isinstance(m, MultiHeadAttention)} == {0.1}


def test_a_step_reads_its_cache_rows_through_self_rows_as_search_reorders_them():
    model = _model()
    src, mask, tgt = _batch()
    state = model.encode(src, mask)
    for t in range(3):
        _, state, _ = model.decode_step(tgt[:, t], state)
    rows = torch.tensor([2, 0, 0])  # what a search's backpointers might ask for
    lazy = replace(state, self_rows=state.self_rows[rows])
    eager = replace(state, self_k=tuple(k[rows] for k in state.self_k), self_v=tuple(v[rows] for v in state.self_v))
    lp_lazy, after, _ = model.decode_step(tgt[rows, 3], lazy)
    lp_eager, _, _ = model.decode_step(tgt[rows, 3], eager)
    torch.testing.assert_close(lp_lazy, lp_eager, rtol=0, atol=0)
    assert after.self_rows.tolist() == [0, 1, 2] and after.self_k[0].shape[:3] == (3, 2, 4)
    with torch.enable_grad():  # the gathering copy records no gradient: under autograd it is done in two steps
        model.decode_step(tgt[rows, 3], lazy)[0].sum().backward()
    assert model.tgt_embed.weight.grad is not None
