import pytest
import torch

from attnkit.attention import Dropout, dropout


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.9])
def test_drops_a_p_share_and_keeps_the_expectation(p):
    torch.manual_seed(0)
    x = torch.ones(1000, 999)  # an odd size: the last random word is only partly used
    y = dropout(x, p)
    assert abs(float((y == 0).float().mean()) - p) < 0.005
    assert abs(float(y.mean()) - 1.0) < 0.01
    kept = y[y != 0]
    assert torch.allclose(kept, torch.full_like(kept, 1 / (1 - p)), rtol=1e-4)


def test_every_lane_of_a_random_word_drops_alike():
    torch.manual_seed(1)
    y = dropout(torch.ones(400_000, 4), 0.25)  # column j = lane j of each 64-bit word
    share = (y == 0).float().mean(0)
    assert torch.all((share - 0.25).abs() < 0.005), share


def test_gradient_is_the_mask_times_the_scale():
    torch.manual_seed(2)
    x = torch.randn(64, 33, requires_grad=True)
    y = dropout(x, 0.2)
    (y * 3).sum().backward()
    mask = (y != 0).float()
    assert torch.allclose(x.grad, 3 * mask / (1 - 0.2), rtol=1e-4)
    assert torch.allclose(y, x.detach() * mask / (1 - 0.2), rtol=1e-5)


def test_reproducible_with_the_seed_and_differs_between_draws():
    torch.manual_seed(3)
    a, b = dropout(torch.ones(50, 50), 0.5), dropout(torch.ones(50, 50), 0.5)
    torch.manual_seed(3)
    assert torch.equal(dropout(torch.ones(50, 50), 0.5), a) and not torch.equal(a, b)


def test_identity_in_eval_and_at_zero_and_zero_at_one():
    x = torch.randn(5, 7)
    module = Dropout(0.4).eval()
    assert module(x) is x and dropout(x, 0.0) is x
    assert torch.equal(dropout(x, 1.0), torch.zeros_like(x))
    assert repr(Dropout(0.4)) == "Dropout(p=0.4)"
    with pytest.raises(ValueError, match="dropout probability"):
        Dropout(1.5)


def test_masks_follow_torch_rng_state():
    """A mask is drawn from torch's default generator: restoring its state, as a resumed run does,
    redraws the same mask, and the draw advances torch's stream."""
    torch.manual_seed(4)
    state = torch.get_rng_state()
    first = dropout(torch.ones(300, 7), 0.3)
    after = torch.get_rng_state()
    torch.set_rng_state(state)
    assert torch.equal(dropout(torch.ones(300, 7), 0.3), first)
    assert not torch.equal(after, state)
