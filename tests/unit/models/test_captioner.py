"""Show, Attend and Tell: protocol shapes, the doubly stochastic term, REINFORCE plumbing, search, learning."""

from types import SimpleNamespace

import pytest
import torch

from attnkit.decoding import beam_search, greedy_search
from attnkit.models import CaptionState, ImageCaptioner, create_model, search_inputs
from attnkit.models.captioner import doubly_stochastic_penalty

ATTENTIONS = ["soft", "hard"]
V = 9  # pad 0, bos 1, eos 2, words 3..8


pytestmark = pytest.mark.usefixtures("one_thread")


def _model(attention="soft", **kw) -> ImageCaptioner:
    torch.manual_seed(0)
    args = {"channels": (4, 8, 8), "embed_dim": 8, "hidden_dim": 16, "attention_dim": 8, "attention": attention}
    return create_model("captioner", tgt_vocab=V, **{**args, **kw})


def _batch(images: torch.Tensor | None = None) -> SimpleNamespace:
    images = torch.rand(3, 1, 32, 32) if images is None else images
    captions = [[3, 4, 5], [6, 7], [8]]
    T = max(map(len, captions)) + 1
    tgt_in, tgt_out = torch.zeros(3, T, dtype=torch.long), torch.zeros(3, T, dtype=torch.long)
    for i, c in enumerate(captions):
        tgt_in[i, : len(c) + 1] = torch.tensor([1, *c])
        tgt_out[i, : len(c) + 1] = torch.tensor([*c, 2])
    return SimpleNamespace(images=images, tgt_in=tgt_in, tgt_out=tgt_out)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_step_protocol_shapes_and_normalisation(attention):
    model = _model(attention).eval()
    batch = _batch()
    state = model.encode(batch.images)
    assert isinstance(state, CaptionState)
    assert state.features.shape == (3, 16, 8) and state.keys.shape == (3, 16, 8) and state.hidden.shape == (3, 16)
    log_probs, state, attn = model.decode_step(torch.ones(3, dtype=torch.long), state)
    assert log_probs.shape == (3, V) and attn.shape == (3, 16)
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(3))
    torch.testing.assert_close(attn.sum(-1), torch.ones(3))


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_loss_finite_backward_and_attention_rows(attention):
    model = _model(attention).train()
    batch = _batch()
    out = model.loss(batch, label_smoothing=0.1)
    assert out.ntokens == 9 and out.attn.shape == (3, 4, 16) and torch.isfinite(out.loss)
    torch.testing.assert_close(out.attn.sum(-1), torch.ones(3, 4))
    out.loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert all(g is None or torch.isfinite(g).all() for g in grads.values())
    # Soft attention learns the score by backprop through the context; hard attention through REINFORCE.
    score_grad = next(g for n, g in grads.items() if n.endswith(".v"))
    assert score_grad is not None and score_grad.abs().sum() > 0
    if attention == "hard":
        assert out.reward is not None and out.doubly_stochastic is None
        assert model.decoder.baseline_updates == 1
        torch.testing.assert_close(model.decoder.reward_baseline, out.reward)
    else:
        assert out.doubly_stochastic is not None and out.reward is None


def test_doubly_stochastic_penalty_by_hand():
    attn = torch.tensor([[[0.5, 0.25, 0.25], [0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]])  # [1, T=3, R=3]
    real = torch.tensor([[True, True, False]])  # the last step is padding
    # sums over real steps: [0.5, 0.75, 0.75] -> (0.5)^2 + 2 (0.25)^2 = 0.375
    torch.testing.assert_close(doubly_stochastic_penalty(attn, real), torch.tensor([0.375]))
    torch.testing.assert_close(doubly_stochastic_penalty(attn, real, torch.tensor([[True, False, True]])),
                               torch.tensor([0.3125]))


def test_soft_loss_adds_weighted_penalty():
    batch = _batch()
    plain = _model(doubly_stochastic=0.0).eval().loss(batch)
    reg = _model(doubly_stochastic=2.0).eval().loss(batch)  # same seed, same weights
    penalty = doubly_stochastic_penalty(reg.attn, batch.tgt_out != 0)
    torch.testing.assert_close(reg.loss, plain.loss + 2.0 * penalty.sum() / plain.ntokens)
    torch.testing.assert_close(reg.doubly_stochastic, penalty.mean())


def test_hard_loss_reinforce_term_by_hand():
    """loss = CE + (-(r - b) sum_t log p(s_t) - lambda_e sum_t H_t) / ntokens, the first baseline = mean reward."""
    model = _model("hard", entropy_bonus=0.5, dropout=0.0).train()
    batch = _batch()
    torch.manual_seed(1)
    out = model.loss(batch)
    torch.manual_seed(1)
    model.decoder.baseline_updates.zero_()
    teacher = model(batch.images, batch.tgt_in)  # the same sampled regions
    real = (batch.tgt_out != 0).float()
    nll = torch.nn.functional.cross_entropy(teacher.logits.transpose(1, 2), batch.tgt_out, reduction="none")
    reward = -(nll * real).sum(1)
    ce = (nll * real).sum() / 9
    reinforce = -((reward - reward.mean()).detach() * (teacher.log_prob * real).sum(1)).sum()
    expected = ce + (reinforce - 0.5 * (teacher.entropy * real).sum()) / 9
    torch.testing.assert_close(out.loss, expected)


def test_hard_eval_is_deterministic_and_monte_carlo_averages():
    batch = _batch()
    model = _model("hard").eval()
    a, b = model.loss(batch), model.loss(batch)
    torch.testing.assert_close(a.loss, b.loss)
    mc = _model("hard", mc_samples=4).eval()
    out = mc.loss(batch)
    assert torch.isfinite(out.loss) and out.attn.shape == (3, 4, 16)
    torch.testing.assert_close(out.attn.sum(-1), torch.ones(3, 4))
    assert not torch.allclose(out.loss, a.loss)  # sampled paths, not the expected context


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_search_runs_and_beam_one_is_greedy(attention):
    model = _model(attention).eval()
    images = torch.rand(4, 1, 32, 32)
    greedy = greedy_search(*search_inputs(model, images), max_len_ratio=0.0, max_len_offset=6)
    beam1 = beam_search(*search_inputs(model, images), beam=1, max_len_ratio=0.0, max_len_offset=6)
    beam3 = beam_search(*search_inputs(model, images), beam=3, n_best=2, max_len_ratio=0.0, max_len_offset=6)
    for g, b, b3 in zip(greedy, beam1, beam3, strict=True):
        assert g[0].tokens == b[0].tokens
        assert g[0].score == pytest.approx(b[0].score, abs=1e-5)
        assert g[0].attn.shape == (len(g[0].tokens) + g[0].finished, 16)
        torch.testing.assert_close(g[0].attn.sum(-1), torch.ones(g[0].attn.size(0)))
        assert len(b3) == 2 and b3[0].attn.size(-1) == 16
        assert len(g[0].tokens) <= 6


def test_greedy_matches_teacher_forcing():
    """Feeding the greedy output back as teacher-forced input reproduces its log-probability."""
    model = _model().eval()
    images = torch.rand(2, 1, 32, 32)
    hyps = greedy_search(*search_inputs(model, images), max_len_ratio=0.0, max_len_offset=5)
    for i, (h,) in enumerate(hyps):
        steps = h.tokens + ([2] if h.finished else [])
        tgt_in = torch.tensor([[1, *steps[:-1]]])
        with torch.no_grad():
            logits = model(images[i : i + 1], tgt_in).logits.log_softmax(-1)[0]  # [L, V]
        score = logits.gather(1, torch.tensor(steps)[:, None]).sum()
        assert float(score) == pytest.approx(h.score, abs=1e-4)


def _quadrant_batch(n: int = 16, size: int = 16) -> SimpleNamespace:
    """A bright square inside one quadrant; the caption names it: (top|bottom) (left|right)."""
    g = torch.Generator().manual_seed(0)
    images, captions = torch.zeros(n, 1, size, size), []
    half = size // 2
    for i in range(n):
        row, col = divmod(i % 4, 2)
        side = int(torch.randint(2, 5, (1,), generator=g))
        y = row * half + int(torch.randint(0, half - side + 1, (1,), generator=g))
        x = col * half + int(torch.randint(0, half - side + 1, (1,), generator=g))
        images[i, 0, y : y + side, x : x + side] = 1.0
        captions.append([3 + row, 5 + col])
    words = torch.tensor(captions)
    tgt_in = torch.cat([torch.ones(n, 1, dtype=torch.long), words], 1)
    tgt_out = torch.cat([words, torch.full((n, 1), 2)], 1)
    return SimpleNamespace(images=images, tgt_in=tgt_in, tgt_out=tgt_out)


def _train(model, batch, steps=60):
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        model.train()
        out = model.loss(batch)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        losses.append(float(out.nll) / out.ntokens)
    return losses


def _exact_match(model, batch) -> float:
    model.eval()
    hyps = greedy_search(*search_inputs(model, batch.images), max_len_ratio=0.0, max_len_offset=4)
    return sum(h[0].tokens == batch.tgt_out[i, :2].tolist() for i, h in enumerate(hyps)) / len(hyps)


def test_soft_captioner_learns_quadrants():
    batch = _quadrant_batch()
    model = _model(channels=(8, 16, 16), embed_dim=16, hidden_dim=32, attention_dim=16, dropout=0.0)
    assert _exact_match(model, batch) <= 0.5  # untrained: chance is 1/4
    _train(model, batch)
    assert _exact_match(model, batch) >= 0.9


def test_hard_captioner_loss_decreases():
    batch = _quadrant_batch()
    model = _model("hard", channels=(8, 16, 16), embed_dim=16, hidden_dim=32, attention_dim=16, dropout=0.0)
    losses = _train(model, batch, steps=40)
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5


def test_region_positions_tell_regions_apart():
    from attnkit.models.captioner import RegionPositions

    positions = RegionPositions(6)
    same = torch.zeros(2, 12, 6)  # identical features on a 3 x 4 grid
    out = positions(same, (3, 4))
    assert out.shape == (2, 12, 6) and torch.equal(out[0], out[1])
    assert len({tuple(row.tolist()) for row in out[0]}) == 12  # every region now differs
    with torch.no_grad():  # read the coordinates back: the first two outputs are x and y themselves
        positions.proj.weight.zero_()
        positions.proj.weight[0, 0] = positions.proj.weight[1, 1] = 1
        positions.proj.bias.zero_()
    xy = positions(same, (3, 4))[0, :, :2]  # [R, 2], row-major
    assert xy[0].tolist() == [-1, -1] and xy[11].tolist() == [1, 1]  # top-left, bottom-right
    assert xy[1, 0] > xy[0, 0] and xy[1, 1] == xy[0, 1]  # one step right
    assert xy[4, 1] > xy[0, 1] and xy[4, 0] == xy[0, 0]  # one step down
    with pytest.raises(ValueError, match="12 regions, the grid 3 x 3 has 9"):
        positions(same, (3, 3))
    model = _model(region_positions=True)
    assert model.positions is not None and torch.isfinite(model.loss(_batch()).loss)
    assert _model().positions is None  # off by default


def test_region_positions_is_a_captioner_key_only():
    from attnkit.config import validate_config

    assert validate_config({"data": {"corpus": "scenes"}, "model": {"family": "captioner",
                                                                     "region_positions": True}})
    with pytest.raises(Exception, match="region_positions does not apply to family 'video_captioner'"):
        validate_config({"data": {"corpus": "clips"}, "model": {"family": "video_captioner",
                                                                "region_positions": True}})


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_context_readout_writes_each_word_from_this_steps_context(attention):
    from attnkit.config import validate_config

    model = _model(attention, readout="context").eval()
    decoder = model.decoder
    assert decoder.L_h is None and "L_h.weight" not in model.state_dict()
    emb, z = torch.randn(2, 8), torch.randn(2, 8)
    h1, h2 = torch.randn(2, 16), torch.randn(2, 16)
    torch.testing.assert_close(decoder._readout(emb, h1, z), decoder._readout(emb, h2, z))  # h is not read
    state_model = _model(attention).eval()
    assert not torch.allclose(state_model.decoder._readout(emb, h1, z), state_model.decoder._readout(emb, h2, z))
    images = torch.rand(2, 1, 32, 32)  # stepping equals teacher forcing with this readout too
    [[hyp]] = greedy_search(*search_inputs(model, images[:1]), max_len_ratio=0.0, max_len_offset=5)
    steps = hyp.tokens + ([2] if hyp.finished else [])
    with torch.no_grad():
        logits = model(images[:1], torch.tensor([[1, *steps[:-1]]])).logits.log_softmax(-1)[0]
    assert float(logits.gather(1, torch.tensor(steps)[:, None]).sum()) == pytest.approx(hyp.score, abs=1e-4)
    assert torch.isfinite(_model(attention, readout="context").loss(_batch()).loss)
    with pytest.raises(ValueError, match="unknown readout 'hidden'"):
        _model(readout="hidden")
    for family, corpus in (("captioner", "scenes"), ("video_captioner", "clips")):
        cfg = validate_config({"data": {"corpus": corpus}, "model": {"family": family, "readout": "context"}})
        assert cfg.model.builder_kwargs()["readout"] == "context"
