"""The recurrent attention model (Mnih, Heess, Graves & Kavukcuoglu 2014, "Recurrent Models of Visual
Attention"): hard attention as a sequence of glimpses chosen by a stochastic policy.

At every step ``t = 1 .. G``:

* the location network picks where to look, ``l_t ~ N(mu_t, sigma^2 I)`` with
  ``mu_t = tanh(Linear(h_{t-1}))`` and a fixed ``sigma`` (section 4, "location network"; ``h_0 = 0``, so
  the first location is drawn around a learned point);
* the glimpse sensor ``rho(x, l_t)`` cuts ``scales`` square patches centred at ``l_t``, the first
  ``glimpse_size`` pixels wide, each next one twice as wide, all resized to ``glimpse_size``
  (a retina: sharp at the centre, coarse around it);
* the glimpse network mixes what and where: ``h_g = ReLU(Linear(rho))``, ``h_l = ReLU(Linear(l_t))``,
  ``g_t = ReLU(Linear(h_g) + Linear(h_l))``; with ``glimpse_net="conv"`` the "what" path is a small CNN over
  the patches (scales stacked as channels) instead of one linear layer, as the glimpse networks of Ba et
  al. (2015, "Multiple Object Recognition with Visual Attention", section 3) are convolutional;
* the core network updates ``h_t = f_h(h_{t-1}, g_t)`` (an LSTM or GRU cell).

The classifier reads the last ``h_G``. Training uses the hybrid loss of section 3.2: cross-entropy for the
classifier, core and glimpse networks; REINFORCE (Williams 1992) for the location network with reward
``R = 1`` for a correct classification and 0 otherwise, ``- sum_t log pi(l_t) (R_t - b_t)``; and a baseline
``b_t = Linear(h_{t-1})`` regressed onto ``R_t`` (mean squared error) to reduce the variance. By default
``R_t = R`` for every glimpse. With ``every_glimpse`` the classifier also reads every ``h_t``: the
cross-entropy is averaged over the ``G`` glimpses, and glimpse ``t`` earns the mean correctness of the
classifications after glimpses ``t .. G`` (``R_t = mean_{s >= t} r_s``), so a location is credited for
how soon it makes the answer right; the prediction is still read from ``h_G``. The location
and baseline networks read ``h`` detached, so the noisy policy gradient and the regression shape only
their own layers; the sampled locations are detached too (the sensor is not differentiable in ``l``).

In eval mode the policy is its mean: the glimpses, and so the prediction, are deterministic.

Locations are ``(x, y)`` in ``[-1, 1]^2``: ``x = -1`` is the left edge, ``y = -1`` the top edge, ``(0, 0)``
the centre (the convention of :func:`torch.nn.functional.affine_grid` with ``align_corners=False``).
Patches reaching outside the image read zeros.

Legend: B batch, C channels, H/W image size, G glimpses, N scales, g glimpse size (pixels), K classes,
Hd core hidden dim.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attnkit.models.classifier import classification_loss
from attnkit.models.registry import register_model
from attnkit.models.vision import check_images

__all__ = ["CORES", "GLIMPSE_NETS", "GlimpseNetwork", "GlimpseSensor", "RAMLoss", "RAMOutput",
           "RecurrentAttentionModel", "conv_glimpse_features", "ram"]

CORES = {"lstm": nn.LSTMCell, "gru": nn.GRUCell}
GLIMPSE_NETS = ("mlp", "conv")


class RAMOutput(NamedTuple):
    logits: Tensor  # [B, K]
    locations: Tensor  # [B, G, 2] where each glimpse looked, (x, y) in [-1, 1]
    log_pi: Tensor  # [B, G] log-density of each location under the policy
    baselines: Tensor  # [B, G] predicted reward before each glimpse
    step_logits: Tensor | None = None  # [B, G, K] the classifier after every glimpse (every_glimpse only)


class RAMLoss(NamedTuple):
    loss: Tensor  # scalar: cross-entropy + REINFORCE + baseline MSE (each a mean over the batch)
    nll: Tensor  # scalar: summed cross-entropy (no smoothing)
    ntokens: int  # examples in the batch
    logits: Tensor  # [B, K]
    reward: Tensor  # scalar: mean reward (the batch accuracy), detached
    reinforce: Tensor  # scalar: the REINFORCE term, detached
    baseline_mse: Tensor  # scalar: the baseline regression term, detached


class GlimpseSensor(nn.Module):
    """The retina ``rho(x, l)``: ``scales`` concentric square patches, each twice as wide as the one
    before, resized to ``glimpse_size`` pixels a side.

    Scale ``k`` samples a ``glimpse_size * 2^k`` pixel square on its own pixel grid (bilinear, exact when
    the square is aligned with the image's pixels) and average-pools it by ``2^k``, so coarse scales are
    area averages, not aliased subsamples. No loop over the batch.

    Shapes:
        images ``[B, C, H, W]``, locations ``[B, 2]`` (x, y) -> ``[B, N, C, g, g]``.
    """

    def __init__(self, glimpse_size: int, scales: int) -> None:
        super().__init__()
        if glimpse_size < 1 or scales < 1:
            raise ValueError(f"glimpse_size and scales must be positive, got {glimpse_size}, {scales}")
        self.glimpse_size, self.scales = glimpse_size, scales

    def forward(self, images: Tensor, locations: Tensor) -> Tensor:
        B, C, H, W = images.shape
        if locations.shape != (B, 2):
            raise ValueError(f"locations must be [B, 2]=[{B}, 2], got {list(locations.shape)}")
        zeros = locations.new_zeros(B)
        patches = []
        for k in range(self.scales):
            side = self.glimpse_size * 2**k
            # The output grid spans `side` pixels of the input: a scale of side/W (side/H) around l.
            theta = torch.stack([
                torch.stack([zeros + side / W, zeros, locations[:, 0]], -1),
                torch.stack([zeros, zeros + side / H, locations[:, 1]], -1),
            ], 1).to(images.dtype)  # [B, 2, 3]
            grid = F.affine_grid(theta, [B, C, side, side], align_corners=False)  # [B, side, side, 2]
            patch = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
            patches.append(F.avg_pool2d(patch, 2**k) if k else patch)  # [B, C, g, g]
        return torch.stack(patches, 1)  # [B, N, C, g, g]


def conv_glimpse_features(channels: int, glimpse_size: int, widths: tuple[int, ...] = (32, 64)) -> nn.Sequential:
    """A small CNN over one glimpse's patches, scales stacked as channels: 3 x 3 conv + ReLU per width, one
    2 x 2 max pool after the first, flattened. Shapes: ``[B, N, C, g, g]`` -> ``[B, widths[-1] * (g // 2)^2]``."""
    layers: list[nn.Module] = [nn.Flatten(1, 2)]  # [B, N * C, g, g]
    width = channels
    for i, out in enumerate(widths):
        layers += [nn.Conv2d(width, out, 3, padding=1), nn.ReLU()]
        if i == 0:
            layers.append(nn.MaxPool2d(2))
        width = out
    layers.append(nn.Flatten(1))
    return nn.Sequential(*layers)


class GlimpseNetwork(nn.Module):
    """``g = ReLU(Linear(h_g) + Linear(h_l))`` with ``h_g = ReLU(Linear(rho))``, ``h_l = ReLU(Linear(l))``.

    ``features`` (optional) turns the patches into a vector before ``Linear(rho)`` (a small CNN, see
    :func:`conv_glimpse_features`; ``glimpse_dim`` is then its output size); without it the patches are
    flattened.

    Shapes:
        glimpse ``[B, N, C, g, g]``, locations ``[B, 2]`` -> ``[B, out_dim]``.
    """

    def __init__(self, glimpse_dim: int, *, glimpse_hidden: int, location_hidden: int, out_dim: int,
                 features: nn.Module | None = None) -> None:
        super().__init__()
        self.features = features if features is not None else nn.Flatten(1)
        self.what = nn.Linear(glimpse_dim, glimpse_hidden)
        self.where = nn.Linear(2, location_hidden)
        self.what_out = nn.Linear(glimpse_hidden, out_dim)
        self.where_out = nn.Linear(location_hidden, out_dim, bias=False)

    def forward(self, glimpse: Tensor, locations: Tensor) -> Tensor:
        h_g = F.relu(self.what(self.features(glimpse)))  # [B, glimpse_hidden]
        h_l = F.relu(self.where(locations))  # [B, location_hidden]
        return F.relu(self.what_out(h_g) + self.where_out(h_l))  # [B, out_dim]


class RecurrentAttentionModel(nn.Module):
    """RAM: sensor, glimpse network, core cell, location / baseline / classification heads.

    Sub-layers are handed in by :func:`ram`.

    Shapes:
        images ``[B, C, H, W]`` -> :class:`RAMOutput` (logits ``[B, K]``, locations ``[B, G, 2]``,
        log_pi ``[B, G]``, baselines ``[B, G]``).
    """

    def __init__(self, *, sensor: GlimpseSensor, glimpse: GlimpseNetwork, core: nn.LSTMCell | nn.GRUCell,
                 location: nn.Linear, baseline: nn.Linear, classifier: nn.Linear, glimpses: int,
                 location_std: float, in_channels: int, image_size: int, every_glimpse: bool = False) -> None:
        super().__init__()
        if glimpses < 1 or location_std <= 0:
            raise ValueError(f"need glimpses >= 1 and location_std > 0, got {glimpses}, {location_std}")
        self.sensor, self.glimpse, self.core = sensor, glimpse, core
        self.location, self.baseline, self.classifier = location, baseline, classifier
        self.glimpses, self.location_std = glimpses, location_std
        self.in_channels, self.image_size = in_channels, image_size
        self.every_glimpse = every_glimpse

    @property
    def num_classes(self) -> int:
        return self.classifier.out_features

    def _policy(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """Location ``[B, 2]`` (clamped to the image, detached) and its log-density ``[B]``."""
        mean = torch.tanh(self.location(h.detach()))  # [B, 2]
        raw = mean + self.location_std * torch.randn_like(mean) if self.training else mean
        raw = raw.detach()
        # Gaussian log-density of the raw sample; only the mean carries gradient.
        log_pi = (-0.5 * ((raw - mean) / self.location_std).square()
                  - math.log(self.location_std) - 0.5 * math.log(2 * math.pi)).sum(-1)  # [B]
        return raw.clamp(-1.0, 1.0), log_pi

    def forward(self, images: Tensor) -> RAMOutput:
        check_images(images, self.in_channels)
        if images.shape[-2:] != (self.image_size, self.image_size):
            raise ValueError(f"images must be {self.image_size} x {self.image_size}, got {list(images.shape)}")
        B, Hd = images.size(0), self.core.hidden_size
        h = images.new_zeros(B, Hd)  # [B, Hd]
        c = images.new_zeros(B, Hd) if isinstance(self.core, nn.LSTMCell) else None
        locations, log_pis, baselines, states = [], [], [], []
        for _ in range(self.glimpses):
            loc, log_pi = self._policy(h)  # l_t from h_{t-1}
            baselines.append(self.baseline(h.detach()).squeeze(-1))  # [B] b_t
            g = self.glimpse(self.sensor(images, loc), loc)  # [B, Hd_g]
            if c is None:
                h = self.core(g, h)
            else:
                h, c = self.core(g, (h, c))
            locations.append(loc)
            log_pis.append(log_pi)
            states.append(h)
        step_logits = self.classifier(torch.stack(states, 1)) if self.every_glimpse else None  # [B, G, K]
        logits = step_logits[:, -1] if step_logits is not None else self.classifier(h)
        return RAMOutput(logits, torch.stack(locations, 1), torch.stack(log_pis, 1), torch.stack(baselines, 1),
                         step_logits)

    def loss(self, batch, label_smoothing: float = 0.0) -> RAMLoss:
        """The hybrid loss of ``batch.images [B, C, H, W]`` and ``batch.labels [B]`` (module docstring)."""
        out = self(batch.images)
        ce = classification_loss(out.logits, batch.labels, label_smoothing)
        reward = (out.logits.detach().argmax(-1) == batch.labels).to(out.baselines.dtype)  # [B]
        if out.step_logits is None:
            classify, returns = ce.loss, reward[:, None].expand_as(out.baselines)  # [B, G]
        else:
            B, G, K = out.step_logits.shape
            classify = classification_loss(out.step_logits.reshape(B * G, K), batch.labels.repeat_interleave(G),
                                           label_smoothing).loss
            correct = (out.step_logits.detach().argmax(-1) == batch.labels[:, None]).to(reward.dtype)  # [B, G]
            # R_t = mean_{s >= t} r_s: reversed cumulative sums over the glimpses still to come.
            to_come = torch.arange(G, 0, -1, dtype=reward.dtype, device=reward.device)  # [G]
            returns = correct.flip(1).cumsum(1).flip(1) / to_come
        advantage = returns - out.baselines.detach()  # [B, G]
        reinforce = -(out.log_pi * advantage).sum(1).mean()
        baseline_mse = F.mse_loss(out.baselines, returns)
        return RAMLoss(classify + reinforce + baseline_mse, ce.nll, ce.ntokens, out.logits, reward.mean(),
                       reinforce.detach(), baseline_mse.detach())


@register_model("ram")
def ram(num_classes: int, *, image_size: int = 60, in_channels: int = 1, glimpse_size: int = 12, scales: int = 3,
        glimpses: int = 6, glimpse_hidden: int = 128, location_hidden: int = 128, hidden_dim: int = 256,
        core: str = "lstm", location_std: float = 0.15, glimpse_net: str = "mlp",
        every_glimpse: bool = False) -> RecurrentAttentionModel:
    """Build a recurrent attention model for ``image_size`` x ``image_size`` images (``glimpse_net``: ``mlp``,
    Mnih et al.'s linear "what" path, or ``conv``, a small CNN over the patches)."""
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    if core not in CORES:
        raise ValueError(f"unknown core {core!r}; choose one of {', '.join(CORES)}")
    if glimpse_net not in GLIMPSE_NETS:
        raise ValueError(f"unknown glimpse_net {glimpse_net!r}; choose one of {', '.join(GLIMPSE_NETS)}")
    features, glimpse_dim = None, scales * in_channels * glimpse_size**2
    if glimpse_net == "conv":
        features = conv_glimpse_features(scales * in_channels, glimpse_size)
        glimpse_dim = 64 * (glimpse_size // 2) ** 2
    return RecurrentAttentionModel(
        sensor=GlimpseSensor(glimpse_size, scales),
        glimpse=GlimpseNetwork(glimpse_dim, glimpse_hidden=glimpse_hidden, location_hidden=location_hidden,
                               out_dim=hidden_dim, features=features),
        core=CORES[core](hidden_dim, hidden_dim), location=nn.Linear(hidden_dim, 2),
        baseline=nn.Linear(hidden_dim, 1), classifier=nn.Linear(hidden_dim, num_classes),
        glimpses=glimpses, location_std=location_std, in_channels=in_channels, image_size=image_size,
        every_glimpse=every_glimpse)
