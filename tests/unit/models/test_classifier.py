"""The encoder-only self-attention classifier: shapes, padding invariance, pooling weights, learning."""

from types import SimpleNamespace

import pytest
import torch

from attnkit.attention import attention_rollout
from attnkit.models import create_model
from attnkit.models.classifier import TransformerClassifier

POOLINGS = ["attention", "mean", "cls"]
TOL = {"rtol": 1e-9, "atol": 1e-9}


pytestmark = pytest.mark.usefixtures("one_thread")


def _model(**kw):
    torch.manual_seed(0)
    args = {"embed_dim": 16, "num_heads": 2, "ff_dim": 32, "num_layers": 2}
    return create_model("transformer_classifier", vocab_size=13, num_classes=3, **{**args, **kw})


def _batch():
    """Three sequences of lengths 6, 4, 1, right-padded with 0."""
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(1, 13, (3, 6), generator=g)
    mask = torch.arange(6)[None] < torch.tensor([6, 4, 1])[:, None]  # [3, 6]
    return tokens.masked_fill(~mask, 0), mask


def test_registered_builder_returns_the_model():
    model = _model()
    assert isinstance(model, TransformerClassifier) and model.num_classes == 3
    with pytest.raises(ValueError, match="unknown pooling 'max'"):
        _model(pooling="max")


@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize("pooling", POOLINGS)
def test_forward_backward_finite(pooling, norm_first):
    model = _model(pooling=pooling, norm_first=norm_first, positions="learned")
    tokens, mask = _batch()
    out = model.loss(SimpleNamespace(tokens=tokens, mask=mask, labels=torch.tensor([0, 2, 1])), label_smoothing=0.1)
    assert out.logits.shape == (3, 3) and out.ntokens == 3 and torch.isfinite(out.loss) and torch.isfinite(out.nll)
    out.loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert all(torch.isfinite(g).all() for g in grads.values())
    assert any(n.startswith("pooling") for n in grads) == (pooling == "attention")
    assert ("cls" in grads) == (pooling == "cls")


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("pooling", POOLINGS)
def test_padding_changes_nothing(pooling, need_weights):
    model = _model(pooling=pooling).double().eval()
    tokens, mask = _batch()
    padded = model(tokens, mask, need_weights=need_weights)
    for b, n in enumerate(mask.sum(1).tolist()):
        alone = model(tokens[b:b + 1, :n], mask[b:b + 1, :n], need_weights=need_weights)
        torch.testing.assert_close(padded.logits[b:b + 1], alone.logits, **TOL)
        if padded.pool_weights is not None:
            torch.testing.assert_close(padded.pool_weights[b:b + 1, :n], alone.pool_weights, **TOL)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_fused_equals_explicit_attention(pooling):
    model = _model(pooling=pooling).double().eval()
    tokens, mask = _batch()
    torch.testing.assert_close(model(tokens, mask).logits, model(tokens, mask, need_weights=True).logits, **TOL)


@pytest.mark.parametrize("pooling", ["attention", "mean"])
def test_pool_weights_sum_to_one_over_real_tokens(pooling):
    tokens, mask = _batch()
    weights = _model(pooling=pooling).eval()(tokens, mask).pool_weights
    assert weights.shape == (3, 6) and (weights[~mask] == 0).all() and (weights[mask] > 0).all()
    torch.testing.assert_close(weights.sum(1), torch.ones(3))
    if pooling == "mean":
        torch.testing.assert_close(weights[1, :4], torch.full((4,), 0.25))


@pytest.mark.parametrize("pooling", POOLINGS)
def test_need_weights_shapes(pooling):
    model = _model(pooling=pooling).eval()
    tokens, mask = _batch()
    out = model(tokens, mask)
    assert out.attn is None and (out.pool_weights is None) == (pooling == "cls")
    out = model(tokens, mask, need_weights=True)
    S = 6 + (pooling == "cls")  # the CLS vector takes position 0
    assert out.attn.shape == (3, 2, 2, S, S)
    keys = torch.cat([torch.ones(3, 1, dtype=torch.bool), mask], 1) if pooling == "cls" else mask
    assert (out.attn.masked_select(~keys[:, None, None, None, :].expand_as(out.attn)) == 0).all()
    torch.testing.assert_close(out.attn.sum(-1), torch.ones(3, 2, 2, S))
    rollout = attention_rollout(out.attn, mask=keys)  # the maps feed the analysis directly
    torch.testing.assert_close(rollout.sum(-1), keys.float())


def test_shape_errors_are_clear():
    model = _model()
    tokens, mask = _batch()
    with pytest.raises(ValueError, match=r"tokens must be integer ids \[B, S\]"):
        model(tokens[0], mask[0])
    with pytest.raises(ValueError, match=r"tokens must be integer ids"):
        model(tokens.float(), mask)
    with pytest.raises(ValueError, match=r"mask must be bool \[3, 6\]"):
        model(tokens, mask[:, :5])
    with pytest.raises(ValueError, match=r"mask must be bool"):
        model(tokens, mask.long())
    with pytest.raises(ValueError, match=r"labels must be \[B\]=\[3\], got \[3, 1\]"):
        model.loss(SimpleNamespace(tokens=tokens, mask=mask, labels=torch.zeros(3, 1, dtype=torch.long)))
    with pytest.raises(ValueError, match="exceeds max_len=4"):
        _model(max_positions=4)(tokens, mask)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_learns_whether_a_token_occurs(pooling):
    g = torch.Generator().manual_seed(2)
    lengths = torch.randint(3, 9, (64,), generator=g)
    mask = torch.arange(8)[None] < lengths[:, None]  # [64, 8]
    tokens = torch.randint(1, 10, (64, 8), generator=g).masked_fill(~mask, 0)
    labels = ((tokens == 5) & mask).any(1).long()
    assert 0.3 < labels.float().mean() < 0.7
    batch = SimpleNamespace(tokens=tokens, mask=mask, labels=labels)
    torch.manual_seed(0)
    model = create_model("transformer_classifier", vocab_size=10, num_classes=2, embed_dim=16, num_heads=2,
                         ff_dim=32, num_layers=1, dropout=0.0, pooling=pooling)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        out = model.loss(batch)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        losses.append(out.loss.item())
    assert losses[-1] < 0.25 * losses[0], losses[::10]
    model.eval()
    accuracy = (model(tokens, mask).logits.argmax(-1) == labels).float().mean()
    assert accuracy > 0.95
