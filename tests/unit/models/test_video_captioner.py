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


@pytest.mark.parametrize("pool, motion", [("grid", False), ("mean", True), ("grid", True)])
def test_grid_pooling_and_motion_features(pool, motion):
    model = _model(frame_pool=pool, frame_motion=motion).train()
    out = model.loss(_batch(torch.rand(2, 5, 1, 24, 24)))
    assert out.attn.shape == (2, 3, 5) and torch.isfinite(out.loss)
    out.loss.backward()
    assert model.encoder.proj.weight.grad.abs().sum() > 0
    enc = model.encoder.eval()
    widths = {"mean": 8, "grid": 8 * 9}
    assert enc.proj.in_features == widths[pool] * (2 if motion else 1)
    # a still clip: motion features are zero, so every frame differs only by its index embedding
    still = torch.rand(1, 1, 1, 24, 24).expand(1, 4, 1, 24, 24)
    feats = enc(still) - enc.positions.weight[:4]
    torch.testing.assert_close(feats[0, 1:], feats[0, :1].expand(3, -1))


def test_grid_pooling_sees_where_an_item_is():
    enc = _model(frame_pool="grid").encoder.eval()
    left, right = torch.zeros(1, 1, 1, 24, 24), torch.zeros(1, 1, 1, 24, 24)
    left[..., 8:16, 0:8], right[..., 8:16, 16:24] = 1, 1  # the same blob, mirrored by position
    assert not torch.allclose(enc(left), enc(right), atol=1e-4)
    with pytest.raises(ValueError, match="unknown frame pooling 'max'"):
        _model(frame_pool="max")


def test_frame_difference_feeds_the_change_to_the_cnn():
    model = _model(frame_pool="grid", frame_difference=True).train()
    assert model.encoder.cnn.in_channels == 2 and model.encoder.frame_channels == 1
    out = model.loss(_batch(torch.rand(2, 5, 16, 16)))  # grayscale clips without a channel dim still work
    assert out.attn.shape == (2, 3, 5) and torch.isfinite(out.loss)
    out.loss.backward()
    first_conv = next(m for m in model.encoder.cnn.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.weight.grad[:, 1].abs().sum() > 0  # the difference channel is read
    enc = model.encoder.eval()
    clip = torch.rand(1, 4, 1, 16, 16)
    changed = clip.clone()
    changed[:, 2] = torch.rand(1, 16, 16)
    diff = (enc(changed) - enc(clip)).abs().sum(-1)[0]  # [F] which frames' features moved
    assert diff[0] == 0 and diff[1] == 0 and diff[2] > 0 and diff[3] > 0  # frame 3's difference changed too
    plain = _model(frame_pool="grid").encoder.eval()
    assert (plain(changed) - plain(clip)).abs().sum(-1)[0, 3] == 0  # without it, frame 3 is untouched
