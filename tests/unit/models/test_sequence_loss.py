import pytest
import torch
import torch.nn.functional as F

from attnkit.models.seq2seq import sequence_loss


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_sequence_loss_matches_cross_entropy(smoothing):
    torch.manual_seed(0)
    logits = torch.randn(3, 5, 7, requires_grad=True)  # [B, T, V]
    gold = torch.tensor([[1, 2, 3, 0, 0], [4, 5, 6, 1, 2], [3, 0, 0, 0, 0]])  # 0 = padding
    out = sequence_loss(logits, gold, torch.zeros(3, 5, 4), pad_id=0, label_smoothing=smoothing)
    flat = logits.reshape(-1, 7)
    expected = F.cross_entropy(flat, gold.reshape(-1), ignore_index=0, label_smoothing=smoothing)
    assert out.ntokens == 9
    assert torch.allclose(out.loss, expected, atol=1e-6)
    assert torch.allclose(out.nll, F.cross_entropy(flat, gold.reshape(-1), ignore_index=0, reduction="sum"), atol=1e-5)
    assert not out.nll.requires_grad
    grad, = torch.autograd.grad(out.loss, logits)
    expected_grad, = torch.autograd.grad(expected, logits)
    assert torch.allclose(grad, expected_grad, atol=1e-6)
    assert grad[0, 3:].abs().sum() == 0  # padding gets no gradient


def test_sequence_loss_upcasts_bf16_logits():
    logits = torch.randn(2, 3, 11).to(torch.bfloat16)
    out = sequence_loss(logits, torch.tensor([[1, 2, 0], [3, 4, 5]]), torch.zeros(2, 3, 1), pad_id=0,
                        label_smoothing=0.1)
    assert out.loss.dtype == torch.float32 and torch.isfinite(out.loss)
