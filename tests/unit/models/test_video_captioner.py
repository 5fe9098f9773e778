"""Temporal attention over frames: shapes, normalisation, frame padding, greedy search."""

from types import SimpleNamespace

import pytest
import torch

from attnkit.decoding import greedy_search
from attnkit.models import VideoCaptioner, create_model, search_inputs

V = 9


pytestmark = pytest.mark.usefixtures("one_thread")


def _model(**kw) -> VideoCaptioner:
    torch.manual_seed(0)
    args = {"channels": (4, 8, 8), "embed_dim": 8, "hidden_dim": 16, "attention_dim": 8, "max_frames": 8}
    return create_model("video_captioner", tgt_vocab=V, **{**args, **kw})


def _batch(frames: torch.Tensor) -> SimpleNamespace:
    tgt_in = torch.tensor([[1, 3, 4], [1, 5, 0]])
    tgt_out = torch.tensor([[3, 4, 2], [5, 2, 0]])
    return SimpleNamespace(frames=frames, tgt_in=tgt_in, tgt_out=tgt_out)


def test_shapes_attention_over_frames_and_backward():
    model = _model().train()
    out = model.loss(_batch(torch.rand(2, 5, 1, 16, 16)), label_smoothing=0.1)
    assert out.attn.shape == (2, 3, 5) and out.ntokens == 5 and torch.isfinite(out.loss)
    torch.testing.assert_close(out.attn.sum(-1), torch.ones(2, 3))
    out.loss.backward()
    assert model.encoder.positions.weight.grad.abs().sum() > 0
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())


def test_grayscale_clips_without_channel_dim():
    model = _model().eval()
    frames = torch.rand(2, 4, 16, 16)
    torch.testing.assert_close(model.loss(_batch(frames)).loss, model.loss(_batch(frames[:, :, None])).loss)


def test_padded_frames_get_no_attention_and_change_nothing():
    model = _model().eval()
    frames = torch.rand(2, 6, 1, 16, 16)
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    batch = _batch(frames)
    batch.frame_mask = mask
    out = model.loss(batch)
    assert (out.attn[1, :, 4:] == 0).all()
    torch.testing.assert_close(out.attn.sum(-1), torch.ones(2, 3))
    noisy = frames.clone()
    noisy[1, 4:] = torch.rand(2, 1, 16, 16)
    batch.frames = noisy
    torch.testing.assert_close(model.loss(batch).loss, out.loss)
    # The clip cut to its real frames decodes exactly as its padded version.
    padded = model(frames[1:], batch.tgt_in[1:], mask[1:])
    cut = model(frames[1:, :4], batch.tgt_in[1:])
    torch.testing.assert_close(padded.logits, cut.logits)
    torch.testing.assert_close(padded.attn[..., :4], cut.attn)


def test_greedy_search_over_frames():
    model = _model().eval()
    frames = torch.rand(3, 5, 1, 16, 16)
    hyps = greedy_search(*search_inputs(model, frames), max_len_ratio=0.0, max_len_offset=4)
    assert len(hyps) == 3
    for (h,) in hyps:
        assert h.attn.shape == (len(h.tokens) + h.finished, 5) and len(h.tokens) <= 4
        torch.testing.assert_close(h.attn.sum(-1), torch.ones(h.attn.size(0)))


def test_too_many_frames_raise():
    with pytest.raises(ValueError, match="max_frames"):
        _model().encode(torch.rand(1, 9, 1, 16, 16))
