"""SmallCNN region grids and the CNN baseline classifier."""

from types import SimpleNamespace

import pytest
import torch

from attnkit.models import CNNClassifier, SmallCNN, create_model

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize(("size", "grid"), [(64, (8, 8)), (48, (6, 6)), (60, (7, 7)), (16, (2, 2))])
def test_grid_shapes(size, grid):
    cnn = SmallCNN(channels=(4, 6, 8))
    assert cnn.grid_size(size, size) == grid
    features = cnn(torch.randn(2, 1, size, size))
    assert features.shape == (2, grid[0] * grid[1], 8)


def test_regions_are_row_major_and_local():
    """Region r is grid cell (r // w, r % w): a change in one 8 x 8 corner cell reaches only the regions
    whose 22-pixel receptive field covers it."""
    torch.manual_seed(0)
    cnn = SmallCNN(channels=(4, 6, 8)).eval()
    assert cnn.receptive_field() == 22 and cnn.stride == 8
    images = torch.rand(1, 1, 64, 64)
    changed = images.clone()
    changed[0, 0, 56:, :8] += 1.0  # bottom-left cell: grid row 7, column 0
    diff = (cnn(changed) - cnn(images)).abs().sum(-1)[0].view(8, 8)  # [h, w]
    touched = diff > 0
    assert touched[7, 0] and touched[6, 1] and touched.sum() <= 4
    assert not touched[:6].any() and not touched[:, 2:].any()


def test_too_small_and_bad_shapes_raise():
    cnn = SmallCNN(channels=(4, 6, 8))
    with pytest.raises(ValueError, match="too small"):
        cnn(torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match="C=1"):
        cnn(torch.zeros(1, 3, 16, 16))


def test_cnn_classifier_loss_backward():
    torch.manual_seed(0)
    model = create_model("cnn_classifier", num_classes=3, channels=(4, 6, 8))
    assert isinstance(model, CNNClassifier) and model.num_classes == 3
    batch = SimpleNamespace(images=torch.randn(4, 1, 60, 60), labels=torch.tensor([0, 1, 2, 1]))
    out = model.loss(batch, label_smoothing=0.1)
    assert out.logits.shape == (4, 3) and out.ntokens == 4 and torch.isfinite(out.loss)
    plain = torch.nn.functional.cross_entropy(out.logits.detach(), batch.labels, reduction="sum")
    torch.testing.assert_close(out.nll, plain)
    out.loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.encoder.blocks[0][0].weight.grad.abs().sum() > 0
