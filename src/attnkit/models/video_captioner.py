"""Video captioning with temporal attention over frames (Yao et al. 2015, "Describing Videos by Exploiting
Temporal Structure", section 2.3).

Each frame goes through the same :class:`~attnkit.models.vision.SmallCNN`; its feature map is averaged
over the grid into one vector (``frame_pool="mean"``), or over a coarse ``g x g`` grid whose cells are
kept apart and projected to one vector (``"grid"``: the vector then says *where* things are, which
words like "moves left" need), optionally with the change from the previous frame beside it
(``motion``: a cheap stand-in for the local temporal features of Yao et al.'s 3-D CNN, since an event
is a difference between frames); with ``difference`` the CNN itself sees the pixel-wise difference from
the previous frame as extra input channels (the frame-difference stream of two-stream video networks,
Simonyan & Zisserman 2014, in its simplest form), so a region's feature says what changed there. A
learned embedding of the frame's index is added, since attention alone cannot tell the frames' order.
The decoder is the captioner's :class:`~attnkit.models.captioner.AttentionLSTMDecoder` (soft attention by
default), attending over frames instead of regions: ``alpha_t`` is a distribution over the ``F`` frames at
every word.

Legend: B batch, F frames, C channels, H/W frame size, D feature dim, T target len, V vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from attnkit.attention import Dropout
from attnkit.models.captioner import AttentionLSTMDecoder, CaptionLoss, CaptionOutput, CaptionState
from attnkit.models.registry import register_model
from attnkit.models.vision import SmallCNN

__all__ = ["FrameEncoder", "VideoCaptioner", "video_captioner"]


FRAME_POOLS = ("mean", "grid")


class FrameEncoder(nn.Module):
    """Per-frame CNN features, pooled over the grid (``pool``: ``mean``, or ``grid``: average-pooled to
    ``cells x cells`` and projected), with ``motion`` the difference from the previous frame's pooled
    features beside them (projected together), plus a learned frame-index embedding. With ``difference``
    each frame enters the CNN with its pixel-wise difference from the previous frame (zeros for the
    first) as extra channels: the CNN then has ``2 C`` input channels.

    Only real frames go through the CNN (so padding frames never touch the batch-norm statistics);
    padded frames get a zero feature.

    Shapes:
        frames ``[B, F, C, H, W]`` (``[B, F, H, W]`` for one channel), mask ``[B, F]`` (True = real frame,
        optional) -> ``[B, F, D]``.
    """

    def __init__(self, cnn: SmallCNN, *, max_frames: int, pool: str = "mean", cells: int = 3,
                 motion: bool = False, difference: bool = False) -> None:
        super().__init__()
        if pool not in FRAME_POOLS:
            raise ValueError(f"unknown frame pooling {pool!r}; choose one of {', '.join(FRAME_POOLS)}")
        if difference and cnn.in_channels % 2:
            raise ValueError(f"difference=True feeds the CNN 2 C channels; its in_channels={cnn.in_channels} is odd")
        self.cnn, self.max_frames, self.pool, self.cells, self.motion = cnn, max_frames, pool, cells, motion
        self.difference = difference
        self.frame_channels = cnn.in_channels // 2 if difference else cnn.in_channels
        self.out_dim = cnn.out_dim
        pooled = cnn.out_dim * (cells * cells if pool == "grid" else 1)
        width = pooled * (2 if motion else 1)
        self.proj = nn.Linear(width, cnn.out_dim) if width != cnn.out_dim else None
        self.positions = nn.Embedding(max_frames, cnn.out_dim)
        nn.init.normal_(self.positions.weight, 0.0, 0.02)

    def _pool(self, frames: Tensor) -> Tensor:
        """``[N, C, H, W]`` -> ``[N, D]`` (mean) or ``[N, D * cells^2]`` (grid)."""
        fmap = self.cnn.feature_map(frames)  # [N, D, h, w]
        if self.pool == "mean":
            return fmap.mean((2, 3))
        return nn.functional.adaptive_avg_pool2d(fmap, self.cells).flatten(1)

    def forward(self, frames: Tensor, mask: Tensor | None = None) -> Tensor:
        if frames.dim() == 4 and self.frame_channels == 1:
            frames = frames.unsqueeze(2)  # grayscale clips [B, F, H, W] -> [B, F, 1, H, W]
        if frames.dim() != 5:
            raise ValueError(f"frames must be [B, F, C, H, W] (or [B, F, H, W] if grayscale), got {list(frames.shape)}")
        B, n_frames = frames.shape[:2]
        if n_frames > self.max_frames:
            raise ValueError(f"{n_frames} frames exceed max_frames={self.max_frames}")
        if mask is not None and (mask.shape != (B, n_frames) or mask.dtype != torch.bool):
            raise ValueError(f"mask must be bool [B, F]=[{B}, {n_frames}], got {mask.dtype} {list(mask.shape)}")
        if self.difference:
            previous = torch.cat([frames[:, :1], frames[:, :-1]], 1)  # [B, F, C, H, W]; frame 0: itself
            frames = torch.cat([frames, frames - previous], 2)  # [B, F, 2C, H, W]
        if mask is None:
            pooled = self._pool(frames.flatten(0, 1)).view(B, n_frames, -1)  # [B, F, P]
        else:
            real = self._pool(frames[mask])  # [K, P] the K real frames
            pooled = real.new_zeros(B, n_frames, real.size(-1))  # [B, F, P]
            pooled = pooled.index_put(mask.nonzero(as_tuple=True), real)
        if self.motion:  # what changed since the frame before (nothing, for the first)
            previous = torch.cat([pooled[:, :1], pooled[:, :-1]], 1)  # [B, F, P]
            pooled = torch.cat([pooled, pooled - previous], -1)  # [B, F, 2P]
        if self.proj is not None:
            pooled = self.proj(pooled)  # [B, F, D]
        return pooled + self.positions.weight[:n_frames]  # [B, F, D]


class VideoCaptioner(nn.Module):
    """Frame encoder + the attention LSTM decoder of Show, Attend and Tell, attending over frames.

    Shapes:
        frames ``[B, F, C, H, W]``, mask ``[B, F]`` (optional), tokens ``[B]``, tgt_in/tgt_out ``[B, T]``
        -> log_probs ``[B, V]``, attn ``[B, F]`` per step.
    """

    def __init__(self, *, encoder: FrameEncoder, decoder: AttentionLSTMDecoder, dropout: float) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.dropout = Dropout(dropout)

    def encode(self, frames: Tensor, mask: Tensor | None = None) -> CaptionState:
        """Frame features ``[B, F, D]`` and the decoder's initial state."""
        return self.decoder.start(self.dropout(self.encoder(frames, mask)), mask)

    def decode_step(self, tokens: Tensor, state: CaptionState) -> tuple[Tensor, CaptionState, Tensor]:
        return self.decoder.step(tokens, state)

    def forward(self, frames: Tensor, tgt_in: Tensor, mask: Tensor | None = None) -> CaptionOutput:
        """Teacher-forced logits ``[B, T, V]`` and attention over frames ``[B, T, F]``."""
        return self.decoder(self.encode(frames, mask), tgt_in)

    def loss(self, batch, label_smoothing: float = 0.0) -> CaptionLoss:
        """The captioner's objective for ``batch.frames [B, F, C, H, W]`` (or, lacking ``frames``,
        ``batch.images``), optional ``batch.frame_mask [B, F]``, ``batch.tgt_in``, ``batch.tgt_out``."""
        frames = batch.frames if hasattr(batch, "frames") else batch.images
        state = self.encode(frames, getattr(batch, "frame_mask", None))
        return self.decoder.loss(state, batch.tgt_in, batch.tgt_out, label_smoothing)


@register_model("video_captioner")
def video_captioner(tgt_vocab: int, *, in_channels: int = 1, channels: Sequence[int] = (32, 64, 128),
                    convs_per_block: int = 1, max_frames: int = 64, embed_dim: int = 64, hidden_dim: int = 256,
                    attention_dim: int = 128, attention: str = "soft", doubly_stochastic: float = 1.0,
                    entropy_bonus: float = 0.01, baseline_decay: float = 0.9, mc_samples: int = 0,
                    dropout: float = 0.1, frame_pool: str = "mean", frame_motion: bool = False,
                    frame_difference: bool = False, readout: str = "state", pad_id: int = 0) -> VideoCaptioner:
    """Build a temporal-attention video captioner (``frame_pool``, ``frame_motion``, ``frame_difference``:
    see :class:`FrameEncoder`; ``in_channels`` are the frames' own)."""
    cnn_channels = in_channels * (2 if frame_difference else 1)
    encoder = FrameEncoder(SmallCNN(cnn_channels, tuple(channels), convs_per_block=convs_per_block),
                           max_frames=max_frames, pool=frame_pool, motion=frame_motion, difference=frame_difference)
    decoder = AttentionLSTMDecoder(
        tgt_vocab, encoder.out_dim, embed_dim=embed_dim, hidden_dim=hidden_dim, attention_dim=attention_dim,
        attention=attention, doubly_stochastic=doubly_stochastic, entropy_bonus=entropy_bonus,
        baseline_decay=baseline_decay, mc_samples=mc_samples, dropout=dropout, readout=readout, pad_id=pad_id)
    return VideoCaptioner(encoder=encoder, decoder=decoder, dropout=dropout)
