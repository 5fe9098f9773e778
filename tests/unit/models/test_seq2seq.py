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
