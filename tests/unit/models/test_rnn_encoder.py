import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from attnkit.models.seq2seq import RNNEncoder


def _packed_reference(encoder: RNNEncoder, src, src_mask):
    """What the encoder computed with packed sequences before (nn.LSTM/GRU over a PackedSequence)."""
    lengths = src_mask.sum(1).clamp(min=1)
    packed = pack_padded_sequence(encoder.embed(src), lengths, batch_first=True, enforce_sorted=False)
    out, final = encoder.rnn(packed)
    memory, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
    h_n = final[0] if isinstance(final, tuple) else final
    return memory, torch.cat([h_n[-2], h_n[-1]], dim=-1)


@pytest.mark.parametrize(("cell", "layers"), [("lstm", 1), ("lstm", 2), ("gru", 1), ("gru", 3)])
def test_encoder_equals_packed_sequences(cell, layers):
    torch.manual_seed(0)
    encoder = RNNEncoder(20, cell=cell, embed_dim=6, hidden_dim=5, num_layers=layers, dropout=0.3).eval()
    lengths = torch.tensor([7, 3, 1, 7, 5])
    src_mask = torch.arange(7)[None] < lengths[:, None]
    src = torch.randint(1, 20, (5, 7)).masked_fill(~src_mask, 0)
    memory, final = encoder(src, src_mask)
    ref_memory, ref_final = _packed_reference(encoder, src, src_mask)
    torch.testing.assert_close(memory, ref_memory, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(final, ref_final, atol=1e-6, rtol=1e-5)
    assert torch.all(memory[~src_mask] == 0)


def test_encoder_gradients_equal_packed_sequences():
    torch.manual_seed(1)
    encoder = RNNEncoder(12, cell="lstm", embed_dim=4, hidden_dim=3, num_layers=2, dropout=0.0)
    lengths = torch.tensor([6, 2, 4])
    src_mask = torch.arange(6)[None] < lengths[:, None]
    src = torch.randint(1, 12, (3, 6)).masked_fill(~src_mask, 0)
    memory, final = encoder(src, src_mask)
    grads = torch.autograd.grad(memory.sum() + final.square().sum(), list(encoder.rnn.parameters()))
    ref_memory, ref_final = _packed_reference(encoder, src, src_mask)
    ref_grads = torch.autograd.grad(ref_memory.sum() + ref_final.square().sum(), list(encoder.rnn.parameters()))
    for got, want in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(("cell", "layers"), [("lstm", 2), ("gru", 1)])
def test_a_batch_without_padding_takes_one_call_per_layer_and_computes_the_same(cell, layers, monkeypatch):
    torch.manual_seed(2)
    encoder = RNNEncoder(20, cell=cell, embed_dim=6, hidden_dim=5, num_layers=layers, dropout=0.3).eval()
    src = torch.randint(1, 20, (4, 6))
    full = torch.ones_like(src, dtype=torch.bool)
    with monkeypatch.context() as patch, torch.no_grad():
        patch.setattr(encoder, "_per_direction", lambda *a: pytest.fail("an unpadded batch took the slow path"))
        memory, final = encoder(src, full)
    ref_memory, ref_final = _packed_reference(encoder, src, full)
    torch.testing.assert_close(memory, ref_memory, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(final, ref_final, atol=1e-6, rtol=1e-5)
    # the same as the per-direction path, which a padded batch takes: add a padded row, then drop it
    padded = torch.cat([src, src[:1].masked_fill(torch.arange(6) >= 3, 0)])
    both, both_final = encoder(padded, padded != 0)
    torch.testing.assert_close(both[:4], memory, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(both_final[:4], final, atol=1e-6, rtol=1e-5)


def test_without_gradients_an_unpadded_batch_drops_out_as_the_per_direction_path():
    torch.manual_seed(3)
    encoder = RNNEncoder(12, cell="lstm", embed_dim=4, hidden_dim=3, num_layers=2, dropout=0.25).train()
    src = torch.randint(1, 12, (3, 5))
    full = torch.ones_like(src, dtype=torch.bool)
    results = []
    with torch.no_grad():
        for run in (encoder.forward, encoder._per_direction):  # the fast path, and the one it replaces
            torch.manual_seed(4)  # the same dropout masks (embeddings, between layers, output)
            results.append(run(src, full))
        torch.manual_seed(5)
        assert not torch.allclose(encoder(src, full)[0], results[0][0])  # dropout is on: other masks
    for got, want in zip(results[0], results[1], strict=True):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)


def test_with_gradients_the_per_direction_path_is_taken(monkeypatch):
    # the bidirectional call keeps more for its backward pass (peak RSS of training): not used there
    encoder = RNNEncoder(12, cell="lstm", embed_dim=4, hidden_dim=3, num_layers=1, dropout=0.0)
    src = torch.randint(1, 12, (2, 4))
    monkeypatch.setattr(encoder, "_unpadded", lambda *a: pytest.fail("took the bidirectional call"))
    encoder(src, torch.ones_like(src, dtype=torch.bool))[0].sum().backward()
