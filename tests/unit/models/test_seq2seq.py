"""RNN encoder-decoder: the teacher-forced pass (which batches work across steps) equals stepping the
decoder with ``decode_step``, for every decoder, cell and depth."""

import pytest
import torch
import torch.nn.functional as F

from attnkit.models import create_model

CASES = [(decoder, cell, layers, feeding) for decoder in ("bahdanau", "luong", "none") for cell in ("gru", "lstm")
         for layers in (1, 2) for feeding in ((True, False) if decoder == "luong" else (True,))]


def _ids(case):
    decoder, cell, layers, feeding = case
    return f"{decoder}-{cell}-{layers}{'' if feeding else '-nofeed'}"


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_teacher_forcing_equals_stepping(case):
    decoder, cell, layers, feeding = case
    torch.manual_seed(0)
    model = create_model("rnn", src_vocab=13, tgt_vocab=11, decoder=decoder, cell=cell, embed_dim=6, hidden_dim=8,
                         encoder_layers=layers, decoder_layers=layers, input_feeding=feeding,
                         score="general" if decoder == "luong" else "additive").double().eval()
    src = torch.tensor([[4, 5, 6, 7, 8], [9, 10, 11, 0, 0]])
    src_mask = src != 0
    tgt_in = torch.tensor([[1, 4, 5, 6], [1, 7, 8, 0]])
    logits, attn = model(src, src_mask, tgt_in)  # [B, T, V], [B, T, S]
    state = model.encode(src, src_mask)
    for t in range(tgt_in.size(1)):
        log_probs, state, step_attn = model.decode_step(tgt_in[:, t], state)
        torch.testing.assert_close(log_probs, F.log_softmax(logits[:, t], -1), rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(step_attn, attn[:, t], rtol=1e-10, atol=1e-10)


def test_training_pass_backpropagates_into_every_parameter():
    torch.manual_seed(0)
    model = create_model("rnn", src_vocab=13, tgt_vocab=11, decoder="luong", cell="lstm", embed_dim=6, hidden_dim=8,
                         encoder_layers=2, decoder_layers=2, score="general").train()
    src = torch.tensor([[4, 5, 6, 7, 8], [9, 10, 11, 0, 0]])
    logits, _ = model(src, src != 0, torch.tensor([[1, 4, 5, 6], [1, 7, 8, 0]]))
    logits.sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_context_readout_teacher_forcing_equals_stepping(cell):
    torch.manual_seed(0)
    model = create_model("rnn", src_vocab=13, tgt_vocab=11, decoder="bahdanau", cell=cell, embed_dim=6,
                         hidden_dim=8, readout="context").double().eval()
    assert model.readout.in_features == model.encoder.out_dim + 6  # [c_i, y_{i-1}], no state
    src = torch.tensor([[4, 5, 6, 7, 8], [9, 10, 11, 0, 0]])
    tgt_in = torch.tensor([[1, 4, 5, 6], [1, 7, 8, 0]])
    logits, attn = model(src, src != 0, tgt_in)
    state = model.encode(src, src != 0)
    for t in range(tgt_in.size(1)):
        log_probs, state, step_attn = model.decode_step(tgt_in[:, t], state)
        torch.testing.assert_close(log_probs, F.log_softmax(logits[:, t], -1), rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(step_attn, attn[:, t], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(("readout", "state_leaks"), [("context", False), ("state", True)])
def test_context_readout_reads_the_state_only_through_the_attention(readout, state_leaks):
    # Zero scores make every step's attention uniform, so every step's context is the same: with the
    # context readout, two steps fed the same token must then predict the same, however the state moved.
    torch.manual_seed(0)
    model = create_model("rnn", src_vocab=13, tgt_vocab=11, decoder="bahdanau", embed_dim=6, hidden_dim=8,
                         readout=readout).double().eval()
    with torch.no_grad():
        for p in model.attention.score.parameters():
            p.zero_()
    src = torch.tensor([[4, 5, 6, 7, 8]])
    logits, attn = model(src, src != 0, torch.tensor([[1, 4, 9, 4]]))
    torch.testing.assert_close(attn, torch.full_like(attn, 0.2))
    same = torch.allclose(logits[0, 1], logits[0, 3], atol=1e-12)
    assert same != state_leaks


def test_context_readout_is_bahdanau_only():
    with pytest.raises(ValueError, match="bahdanau decoder only"):
        create_model("rnn", src_vocab=13, tgt_vocab=11, decoder="luong", score="general", readout="context")
    with pytest.raises(ValueError, match="unknown readout"):
        create_model("rnn", src_vocab=13, tgt_vocab=11, readout="hidden")
