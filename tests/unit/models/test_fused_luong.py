"""The one-node Luong-LSTM recurrence and its inference step compute what stepping the decoder with
autograd computes: outputs, attention and every parameter's gradient, with dropout, input feeding on and
off, 1-3 layers, dot and general scores, and a loss that reads the attention too."""

import pytest
import torch
import torch.nn.functional as F

from attnkit.decoding import beam_search, greedy_search
from attnkit.models import create_model

SRC = torch.tensor([[4, 5, 6, 7, 8, 9, 10], [9, 10, 11, 4, 5, 0, 0], [6, 7, 0, 0, 0, 0, 0]])
TGT_IN = torch.tensor([[1, 4, 5, 6, 7], [1, 7, 8, 9, 0], [1, 5, 0, 0, 0]])


def _model(layers=2, feeding=True, score="general", dropout=0.0, **kw):
    torch.manual_seed(0)
    return create_model("rnn", src_vocab=13, tgt_vocab=11, decoder="luong", cell="lstm", embed_dim=5, hidden_dim=6,
                        encoder_layers=layers, decoder_layers=layers, input_feeding=feeding, score=score,
                        dropout=dropout, **kw).double()


def _pass(model, fused: bool, src_mask=None, attn_weight=1.0):
    model.fused = fused
    model.zero_grad(set_to_none=True)
    torch.manual_seed(1)  # the same dropout masks on both paths
    logits, attn = model(SRC, SRC != 0 if src_mask is None else src_mask, TGT_IN)
    weights = torch.linspace(-1, 1, attn.numel(), dtype=attn.dtype).view_as(attn)
    (logits.sin().mean() + attn_weight * (attn * weights).sum()).backward()
    return logits.detach(), attn.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


CASES = [(layers, feeding, score, dropout) for layers in (1, 2, 3) for feeding in (True, False)
         for score in ("general", "dot") for dropout in (0.0, 0.3)]


@pytest.mark.parametrize("layers,feeding,score,dropout", CASES)
def test_fused_recurrence_matches_autograd_stepping(layers, feeding, score, dropout):
    model = _model(layers, feeding, score, dropout).train()
    assert model._fusable(torch.zeros(1, dtype=torch.float64))
    ref_logits, ref_attn, ref_grads = _pass(model, fused=False)
    logits, attn, grads = _pass(model, fused=True)
    torch.testing.assert_close(logits, ref_logits, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(attn, ref_attn, rtol=1e-12, atol=1e-12)
    assert grads.keys() == ref_grads.keys()
    for name, grad in grads.items():
        torch.testing.assert_close(grad, ref_grads[name], rtol=1e-10, atol=1e-12, msg=name)
    assert all(g.abs().sum() > 0 for n, g in grads.items()), "every parameter gets a gradient"


def test_a_loss_that_ignores_the_attention_and_an_empty_source_row():
    model = _model().train()
    mask = SRC != 0
    mask[2] = False  # a source with no real token: its attention is all zeros on both paths
    ref = _pass(model, fused=False, src_mask=mask, attn_weight=0.0)
    new = _pass(model, fused=True, src_mask=mask, attn_weight=0.0)
    assert new[1][2].abs().max() == 0
    for a, b in zip(new[:2], ref[:2], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    for name, grad in new[2].items():
        torch.testing.assert_close(grad, ref[2][name], rtol=1e-10, atol=1e-12, msg=name)


@pytest.mark.parametrize("feeding", [True, False])
def test_inference_step_matches_the_teacher_forced_pass(feeding):
    model = _model(feeding=feeding).eval()
    logits, attn = model(SRC, SRC != 0, TGT_IN)
    with torch.no_grad():
        state = model.encode(SRC, SRC != 0)
        assert state.step is not None
        for t in range(TGT_IN.size(1)):
            log_probs, state, step_attn = model.decode_step(TGT_IN[:, t], state)
            torch.testing.assert_close(log_probs, F.log_softmax(logits[:, t], -1), rtol=1e-10, atol=1e-10)
            torch.testing.assert_close(step_attn, attn[:, t], rtol=1e-10, atol=1e-10)


def test_the_inference_step_is_reused_until_a_weight_changes():
    model = _model().eval()
    with torch.no_grad():
        first = model.encode(SRC, SRC != 0).step
        assert model.encode(SRC[:2], SRC[:2] != 0).step is first  # the same weights: rearranged once
        empty = SRC != 0
        empty[2] = False
        assert model.encode(SRC, empty).step.empty_sources and not first.empty_sources  # per batch
        unpadded = model.encode(SRC[:1], SRC[:1] != 0)  # the first row has no padding
        assert first.padded and not unpadded.step.padded
        full = model.decode_step(TGT_IN[:1, 1], unpadded)[0]
        unpadded.step.padded = True  # the masking it skips changes nothing
        torch.testing.assert_close(model.decode_step(TGT_IN[:1, 1], unpadded)[0], full, rtol=0, atol=0)
        model.rnn.weight_hh_l1.mul_(0.5)  # as an optimiser step does: in place, a new version
        second = model.encode(SRC, SRC != 0)
        assert second.step is not first
        model.fused = False
        reference = model.encode(SRC, SRC != 0)
        model.fused = True
        tokens = TGT_IN[:, 1]
        torch.testing.assert_close(model.decode_step(tokens, second)[0], model.decode_step(tokens, reference)[0],
                                   rtol=1e-10, atol=1e-10)
        model.load_state_dict(_model().state_dict())  # loading copies into the same tensors: new versions
        assert model.encode(SRC, SRC != 0).step is not second.step


def test_search_finds_the_same_hypotheses_either_way():
    model = _model(layers=2).eval()
    results = {}
    for fused in (True, False):
        model.fused = fused
        beams = beam_search(model, SRC, SRC != 0, beam=3, n_best=3, max_len_offset=6, bos=1, eos=2)
        greedy = greedy_search(model, SRC, SRC != 0, max_len_offset=6, bos=1, eos=2)
        results[fused] = (beams, greedy)
    for fast, ref in zip(results[True][0] + results[True][1], results[False][0] + results[False][1], strict=True):
        assert [h.tokens for h in fast] == [h.tokens for h in ref]
        for h, g in zip(fast, ref, strict=True):
            assert h.score == pytest.approx(g.score, abs=1e-10)
            torch.testing.assert_close(h.attn, g.attn, rtol=1e-10, atol=1e-10)


def test_other_decoders_and_autocast_take_the_stepping_path():
    assert not _model(score="concat")._fusable(torch.zeros(1, dtype=torch.float64))
    gru = create_model("rnn", src_vocab=13, tgt_vocab=11, decoder="luong", cell="gru", score="general")
    assert not gru._fusable(torch.zeros(1))
    bahdanau = create_model("rnn", src_vocab=13, tgt_vocab=11, decoder="bahdanau", cell="lstm")
    assert not bahdanau._fusable(torch.zeros(1))
    model = _model().float()
    assert model._fusable(torch.zeros(1))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not model._fusable(torch.zeros(1))
        logits, _ = model(SRC, SRC != 0, TGT_IN)  # runs the stepping path under autocast
    assert torch.isfinite(logits).all()
