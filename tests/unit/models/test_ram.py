"""Recurrent attention model: the retina against hand-cut patches, shapes, the hybrid loss, determinism."""

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from attnkit.models import RAMOutput, RecurrentAttentionModel, create_model
from attnkit.models.ram import GlimpseSensor

pytestmark = pytest.mark.usefixtures("one_thread")


def _centre(top: int, left: int, side: int, size: int) -> list[float]:
    """(x, y) in [-1, 1] of the centre of the ``side``-pixel square at (top, left) of a ``size`` image."""
    return [2 * (left + side / 2) / size - 1, 2 * (top + side / 2) / size - 1]


def test_glimpse_sensor_cuts_the_patches_by_hand():
    torch.manual_seed(0)
    images = torch.rand(2, 1, 60, 60)
    (top0, left0), (top1, left1) = (20, 8), (0, 40)
    loc = torch.tensor([_centre(top0, left0, 12, 60), _centre(top1, left1, 12, 60)])
    out = GlimpseSensor(12, 3)(images, loc)
    assert out.shape == (2, 3, 1, 12, 12)
    # scale 1: the 12 x 12 patch itself
    torch.testing.assert_close(out[0, 0], images[0, :, top0 : top0 + 12, left0 : left0 + 12])
    torch.testing.assert_close(out[1, 0], images[1, :, top1 : top1 + 12, left1 : left1 + 12])
    # scale 2: the concentric 24 x 24 square, averaged over 2 x 2 blocks
    torch.testing.assert_close(out[0, 1], F.avg_pool2d(images[0, :, top0 - 6 : top0 + 18, left0 - 6 : left0 + 18], 2))
    # scale 3: 48 x 48, partly outside the image (zeros there), averaged over 4 x 4 blocks
    padded = F.pad(images[0], (30, 30, 30, 30))  # [1, 120, 120]
    square = padded[:, 30 + top0 - 18 : 30 + top0 + 30, 30 + left0 - 18 : 30 + left0 + 30]  # [1, 48, 48]
    torch.testing.assert_close(out[0, 2], F.avg_pool2d(square, 4))


def _model(**kw) -> RecurrentAttentionModel:
    torch.manual_seed(0)
    args = {"image_size": 32, "glimpse_size": 6, "scales": 2, "glimpses": 3, "glimpse_hidden": 8,
            "location_hidden": 8, "hidden_dim": 16}
    return create_model("ram", num_classes=4, **{**args, **kw})


def _batch() -> SimpleNamespace:
    return SimpleNamespace(images=torch.rand(5, 1, 32, 32), labels=torch.tensor([0, 1, 2, 3, 0]))


@pytest.mark.parametrize("core", ["lstm", "gru"])
def test_shapes_and_loss_backward(core):
    model = _model(core=core).train()
    batch = _batch()
    out = model(batch.images)
    assert isinstance(out, RAMOutput)
    assert out.logits.shape == (5, 4) and out.locations.shape == (5, 3, 2)
    assert out.log_pi.shape == (5, 3) and out.baselines.shape == (5, 3)
    assert out.locations.abs().max() <= 1
    loss = model.loss(batch, label_smoothing=0.1)
    assert loss.ntokens == 5 and torch.isfinite(loss.loss)
    torch.testing.assert_close(loss.nll, F.cross_entropy(loss.logits.detach(), batch.labels, reduction="sum"))
    loss.loss.backward()
    for name in ("location", "baseline", "classifier", "core", "glimpse"):
        grads = [p.grad for p in getattr(model, name).parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads), name
        assert sum(float(g.abs().sum()) for g in grads) > 0, name


def test_hybrid_loss_by_hand():
    model = _model().train()
    batch = _batch()
    torch.manual_seed(3)
    got = model.loss(batch)
    torch.manual_seed(3)
    out = model(batch.images)
    reward = (out.logits.argmax(-1) == batch.labels).float()
    reinforce = -(out.log_pi * (reward[:, None] - out.baselines.detach())).sum(1).mean()
    mse = ((out.baselines - reward[:, None]) ** 2).mean()
    torch.testing.assert_close(got.loss, F.cross_entropy(out.logits, batch.labels) + reinforce + mse)
    torch.testing.assert_close(got.reward, reward.mean())


def test_every_glimpse_loss_by_hand():
    """Cross-entropy averaged over the glimpses; glimpse t's return is the mean correctness from t on."""
    model = _model(every_glimpse=True).train()
    batch = _batch()
    torch.manual_seed(3)
    got = model.loss(batch, label_smoothing=0.1)
    torch.manual_seed(3)
    out = model(batch.images)
    assert out.step_logits.shape == (5, 3, 4)
    torch.testing.assert_close(out.logits, out.step_logits[:, -1])  # the prediction is the last glimpse's
    correct = (out.step_logits.argmax(-1) == batch.labels[:, None]).float()  # [B, G]
    returns = torch.stack([correct[:, t:].mean(1) for t in range(3)], 1)  # [B, G]
    ce = sum(F.cross_entropy(out.step_logits[:, t], batch.labels, label_smoothing=0.1) for t in range(3)) / 3
    reinforce = -(out.log_pi * (returns - out.baselines.detach())).sum(1).mean()
    mse = ((out.baselines - returns) ** 2).mean()
    torch.testing.assert_close(got.loss, ce + reinforce + mse)
    torch.testing.assert_close(got.reward, correct[:, -1].mean())
    torch.testing.assert_close(got.nll, F.cross_entropy(out.logits, batch.labels, reduction="sum"))
    assert _model()(batch.images).step_logits is None


def test_policy_log_density_and_detached_core():
    model = _model(location_std=0.2).train()
    torch.manual_seed(1)
    out = model(_batch().images)
    assert torch.isfinite(out.log_pi).all()
    grads = torch.autograd.grad(out.log_pi.sum(), list(model.core.parameters()) + list(model.location.parameters()),
                                allow_unused=True)
    n_core = len(list(model.core.parameters()))
    assert all(g is None for g in grads[:n_core])  # the policy gradient stops at the location network
    assert all(g is not None for g in grads[n_core:])
    model.eval()
    mean_pass = model(_batch().images)  # eval: l = mu, so log_pi = 2 log N(0; 0, sigma) per glimpse
    normal = torch.distributions.Normal(torch.zeros(()), torch.tensor(0.2))
    torch.testing.assert_close(mean_pass.log_pi, normal.log_prob(torch.zeros(5, 3, 2)).sum(-1))


def test_eval_is_deterministic_and_training_explores():
    model = _model()
    images = _batch().images
    model.eval()
    a, b = model(images), model(images)
    torch.testing.assert_close(a.logits, b.logits)
    torch.testing.assert_close(a.locations, b.locations)
    model.train()
    c, d = model(images), model(images)
    assert not torch.allclose(c.locations, d.locations)


def test_wrong_image_size_raises():
    with pytest.raises(ValueError, match="32 x 32"):
        _model()(torch.rand(2, 1, 60, 60))


def test_conv_glimpse_network():
    model = _model(glimpse_net="conv").train()
    batch = _batch()
    assert isinstance(model.glimpse.features[1], torch.nn.Conv2d)
    loss = model.loss(batch)
    assert torch.isfinite(loss.loss)
    loss.loss.backward()
    conv = model.glimpse.features[1]
    assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0
    assert conv.in_channels == model.sensor.scales  # one channel per scale of a grey image
    with pytest.raises(ValueError, match="unknown glimpse_net 'cnn'"):
        _model(glimpse_net="cnn")
