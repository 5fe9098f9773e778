"""A small convolutional encoder that turns an image into a grid of region features, and a CNN classifier.

Image attention (Xu et al. 2015, "Show, Attend and Tell", section 3.1.1) reads a set of annotation
vectors ``a = {a_1, ..., a_R}``, one per location of a convolutional feature map: the ``h x w`` grid is
flattened row-major into ``R = h * w`` regions of dimension ``D``. Xu et al. take the 14 x 14 x 512 map of
a pretrained VGG; there is no torchvision here, so :class:`SmallCNN` is a few conv-BN-ReLU blocks, each
halving the resolution with a 2 x 2 max pool, trained from scratch with the model that reads it.

Receptive field (three blocks of one 3 x 3 convolution and one 2 x 2 pool, the default): the grid's stride
is 8 pixels, and each region's feature sees a 22 x 22 pixel window centred on its 8 x 8 cell (3 -> 4 ->
8 -> 10 -> 18 -> 22 pixels through the six layers), so neighbouring regions overlap and a 64 x 64 image
gives an 8 x 8 grid (R = 64) whose regions each own one 8 x 8 cell. :meth:`SmallCNN.receptive_field`
computes it for any configuration.

``cnn_classifier`` is the same encoder, globally average-pooled, with a linear head: the attention-free
baseline for the recurrent attention model (:mod:`attnkit.models.ram`).

Legend: B batch, C image channels, H/W image height/width, h/w grid height/width, R = h * w regions,
D feature dim (the last block's channels), K classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import Tensor, nn

from attnkit.attention import Dropout
from attnkit.models.classifier import ClassificationLoss, classification_loss
from attnkit.models.registry import register_model

__all__ = ["CNNClassifier", "SmallCNN", "check_images", "cnn_classifier"]


def check_images(images: Tensor, channels: int, name: str = "images") -> None:
    """Raise a ``ValueError`` unless ``images`` is a floating ``[B, channels, H, W]`` tensor."""
    if images.dim() != 4 or images.size(1) != channels or not images.dtype.is_floating_point:
        raise ValueError(f"{name} must be float [B, C={channels}, H, W], got {images.dtype} {list(images.shape)}")


class ChannelsLast(nn.Module):
    """Store activations channels-last, where CPU max pooling, batch norm and ReLU are faster (a SmallCNN
    training step took about 20% less time in our measurements). Convolutions keep the layout they are
    given; the first one reads a one-channel image, which is both layouts at once, so its output would
    stay channels-first without this."""

    def forward(self, x: Tensor) -> Tensor:
        return x.contiguous(memory_format=torch.channels_last)


def _block(in_channels: int, out_channels: int, convs: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1, bias=False),
                   ChannelsLast(), nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]
    layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class SmallCNN(nn.Module):
    """Conv-BN-ReLU blocks, each ending in a 2 x 2 max pool; the last map is the region grid.

    Args:
        in_channels: image channels (1 for grayscale).
        channels: output channels of each block; one block per entry, so the grid's stride is
            ``2 ** len(channels)`` pixels.
        convs_per_block: 3 x 3 convolutions (each with BN and ReLU) before each pool.

    Shapes:
        images ``[B, C, H, W]`` -> features ``[B, R, D]``, ``R = h * w`` regions in row-major order
        (region ``r`` is grid cell ``(r // w, r % w)``), ``(h, w) = grid_size(H, W)``, ``D = channels[-1]``.
    """

    def __init__(self, in_channels: int = 1, channels: Sequence[int] = (32, 64, 128), *,
                 convs_per_block: int = 1) -> None:
        super().__init__()
        if not channels or convs_per_block < 1:
            raise ValueError(f"need at least one block and one conv per block, got channels={tuple(channels)}, "
                             f"convs_per_block={convs_per_block}")
        self.in_channels, self.out_dim = in_channels, channels[-1]
        self.convs_per_block = convs_per_block
        widths = [in_channels, *channels]
        self.blocks = nn.Sequential(*(_block(a, b, convs_per_block) for a, b in pairwise(widths)))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    @property
    def stride(self) -> int:
        """Pixels between neighbouring regions."""
        return 2 ** len(self.blocks)

    def grid_size(self, height: int, width: int) -> tuple[int, int]:
        """The ``(h, w)`` region grid of a ``height x width`` image (each pool floors odd sizes)."""
        for _ in self.blocks:
            height, width = height // 2, width // 2
        return height, width

    def receptive_field(self) -> int:
        """Side in pixels of the window one region's feature depends on."""
        field, jump = 1, 1
        for _ in self.blocks:
            field += self.convs_per_block * 2 * jump  # each 3 x 3 conv widens the field by 2 steps
            field += jump  # the 2 x 2 pool by one
            jump *= 2
        return field

    def feature_map(self, images: Tensor) -> Tensor:
        """The last block's map ``[B, D, h, w]``."""
        check_images(images, self.in_channels)
        h, w = self.grid_size(images.size(2), images.size(3))
        if h < 1 or w < 1:
            raise ValueError(f"images of {images.size(2)} x {images.size(3)} are too small for "
                             f"{len(self.blocks)} pooling blocks")
        return self.blocks(images)  # [B, D, h, w]

    def forward(self, images: Tensor) -> Tensor:
        return self.feature_map(images).flatten(2).transpose(1, 2)  # [B, R, D]


class CNNClassifier(nn.Module):
    """:class:`SmallCNN`, global average pooling over the grid, dropout and a linear head.

    Shapes:
        images ``[B, C, H, W]`` -> logits ``[B, K]``.
    """

    def __init__(self, *, encoder: SmallCNN, head: nn.Linear, dropout: float) -> None:
        super().__init__()
        self.encoder, self.head, self.dropout = encoder, head, Dropout(dropout)

    @property
    def num_classes(self) -> int:
        return self.head.out_features

    def forward(self, images: Tensor) -> Tensor:
        pooled = self.encoder.feature_map(images).mean((2, 3))  # [B, D]
        return self.head(self.dropout(pooled))  # [B, K]

    def loss(self, batch, label_smoothing: float = 0.0) -> ClassificationLoss:
        """Cross-entropy of ``batch.labels [B]`` given ``batch.images [B, C, H, W]``."""
        return classification_loss(self(batch.images), batch.labels, label_smoothing,
                                   getattr(batch, "class_weights", None))


@register_model("cnn_classifier")
def cnn_classifier(num_classes: int, *, in_channels: int = 1, channels: Sequence[int] = (32, 64, 128),
                   convs_per_block: int = 1, dropout: float = 0.1) -> CNNClassifier:
    """Build the CNN baseline classifier."""
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    encoder = SmallCNN(in_channels, tuple(channels), convs_per_block=convs_per_block)
    return CNNClassifier(encoder=encoder, head=nn.Linear(encoder.out_dim, num_classes), dropout=dropout)

