"""Co-attention text matcher: shapes, padding invariance, attention maps, the baseline, learning."""

from types import SimpleNamespace

import pytest
import torch

from attnkit.models import Matcher, MatchOutput, create_model

TOL = {"rtol": 1e-5, "atol": 1e-5}


pytestmark = pytest.mark.usefixtures("one_thread")


def _model(**kw) -> Matcher:
    torch.manual_seed(0)
    return create_model("matcher", vocab_size=20, num_classes=3, **{"embed_dim": 12, "hidden_dim": 8, **kw})


def _pairs():
    """Three pairs: a [3, 5] with lengths 5, 2, 3; b [3, 4] with lengths 3, 4, 1."""
    g = torch.Generator().manual_seed(1)
    mask_a = torch.arange(5)[None] < torch.tensor([5, 2, 3])[:, None]
    mask_b = torch.arange(4)[None] < torch.tensor([3, 4, 1])[:, None]
    a = torch.randint(1, 20, (3, 5), generator=g).masked_fill(~mask_a, 0)
    b = torch.randint(1, 20, (3, 4), generator=g).masked_fill(~mask_b, 0)
    return a, mask_a, b, mask_b


def _pad(tokens, mask, extra):
    return torch.nn.functional.pad(tokens, (0, extra)), torch.nn.functional.pad(mask, (0, extra), value=False)


@pytest.mark.parametrize(("score", "words"), [("dot", False), ("scaled_dot", False), ("general", False),
                                             ("dot", True), ("general", True)])
def test_shapes_and_attention_rows(score, words):
    a, mask_a, b, mask_b = _pairs()
    out = _model(score=score, coattention_words=words).eval()(a, mask_a, b, mask_b)
    assert isinstance(out, MatchOutput) and out.logits.shape == (3, 3)
    assert out.attn_ab.shape == (3, 5, 4) and out.attn_ba.shape == (3, 4, 5)
    for attn, rows, cols in ((out.attn_ab, mask_a, mask_b), (out.attn_ba, mask_b, mask_a)):
        torch.testing.assert_close(attn.sum(-1), rows.float())  # each real position: 1 over the other's real ones
        assert (attn[~rows] == 0).all()  # padded rows are empty
        assert (attn.masked_select(~cols[:, None, :].expand_as(attn)) == 0).all()  # padding is never attended
        assert (attn.masked_select(rows[:, :, None] & cols[:, None, :]) > 0).all()


def test_baseline_has_no_attention():
    a, mask_a, b, mask_b = _pairs()
    out = _model(coattention=False).eval()(a, mask_a, b, mask_b)
    assert out.logits.shape == (3, 3) and out.attn_ab is None and out.attn_ba is None


@pytest.mark.parametrize(("coattention", "words"), [(True, False), (True, True), (False, False)])
def test_padding_changes_nothing(coattention, words):
    model = _model(coattention=coattention, coattention_words=words).eval()
    a, mask_a, b, mask_b = _pairs()
    out = model(a, mask_a, b, mask_b)
    for extra_a, extra_b in ((3, 0), (0, 2), (1, 4)):  # either side, or both (the longer side changes)
        padded = model(*_pad(a, mask_a, extra_a), *_pad(b, mask_b, extra_b))
        torch.testing.assert_close(padded.logits, out.logits, **TOL)
        if coattention:
            torch.testing.assert_close(padded.attn_ab[:, :5, :4], out.attn_ab, **TOL)
            torch.testing.assert_close(padded.attn_ba[:, :4, :5], out.attn_ba, **TOL)
    for i, (n, m) in enumerate(zip(mask_a.sum(1).tolist(), mask_b.sum(1).tolist(), strict=True)):
        alone = model(a[i:i + 1, :n], mask_a[i:i + 1, :n], b[i:i + 1, :m], mask_b[i:i + 1, :m])
        torch.testing.assert_close(alone.logits, out.logits[i:i + 1], **TOL)


def test_joint_encoding_equals_encoding_each_text_alone():
    model = _model().eval()
    a, mask_a, b, mask_b = _pairs()
    joint_a, joint_b = model.encode_pair(a, mask_a, b, mask_b)
    torch.testing.assert_close(joint_a, model.encode(a, mask_a), **TOL)
    torch.testing.assert_close(joint_b, model.encode(b, mask_b), **TOL)
    assert (joint_a[~mask_a] == 0).all() and (joint_b[~mask_b] == 0).all()


@pytest.mark.parametrize("coattention", [True, False])
def test_loss_backward_finite_with_an_empty_text(coattention):
    model = _model(coattention=coattention, dropout=0.2)
    a, mask_a, b, mask_b = _pairs()
    b[2], mask_b[2] = 0, False  # the third pair's second text is empty
    batch = SimpleNamespace(tokens_a=a, mask_a=mask_a, tokens_b=b, mask_b=mask_b, labels=torch.tensor([0, 2, 1]))
    out = model.loss(batch, label_smoothing=0.1)
    assert out.logits.shape == (3, 3) and out.ntokens == 3 and torch.isfinite(out.loss) and torch.isfinite(out.nll)
    out.loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert all(torch.isfinite(g).all() for g in grads.values())
    assert any(n.startswith("compare") for n in grads) == coattention
    if coattention:
        attn = model.eval()(a, mask_a, b, mask_b)
        assert (attn.attn_ab[2] == 0).all() and (attn.attn_ba[2] == 0).all()


def test_coattention_words_lines_up_identical_words():
    """With the word part of the affinity, each token of a attends most to its own copy in b; the encoder
    states (the part the baseline pools) are the same as without it, and the learned scale gets a gradient."""
    torch.manual_seed(0)
    model = create_model("matcher", vocab_size=40, embed_dim=64, hidden_dim=8, coattention_words=True).eval()
    with torch.no_grad():
        model.word_scale.fill_(3.0)  # word identity dominates the affinity
    a = torch.tensor([[5, 9, 17, 23, 31]])
    b = a[:, [3, 0, 4, 1, 2]]
    ones = torch.ones_like(a, dtype=torch.bool)
    out = model(a, ones, b, ones)
    assert out.attn_ab.argmax(-1).tolist() == [[1, 3, 4, 0, 2]]  # a[i] sits at b[perm^-1[i]]
    za, _ = model.encode_pair(a, ones, b, ones, with_words=True)
    torch.testing.assert_close(za[..., 64:], model.encode(a, ones), **TOL)
    torch.testing.assert_close(za[..., :64], 3.0 * model.embed(a), **TOL)
    model.train()
    batch = SimpleNamespace(tokens_a=a, mask_a=ones, tokens_b=b, mask_b=ones, labels=torch.tensor([1]))
    model.loss(batch).loss.backward()
    assert model.word_scale.grad is not None and torch.isfinite(model.word_scale.grad)


def test_builder_and_errors():
    model = _model()
    assert isinstance(model, Matcher) and model.num_classes == 3
    assert create_model("matcher", vocab_size=20).num_classes == 2
    with pytest.raises(ValueError, match="unknown co-attention score 'additive'"):
        _model(score="additive")
    with pytest.raises(ValueError, match="coattention_words=True needs coattention=True"):
        _model(coattention=False, coattention_words=True)
    assert _model().word_scale is None and "word_scale" not in dict(_model().named_parameters())
    a, mask_a, b, mask_b = _pairs()
    with pytest.raises(ValueError, match=r"tokens_a must be integer ids \[B, N\]"):
        model(a[0], mask_a[0], b, mask_b)
    with pytest.raises(ValueError, match=r"tokens_b must be integer ids"):
        model(a, mask_a, b.float(), mask_b)
    with pytest.raises(ValueError, match=r"mask_b must be bool \[3, 4\] like tokens_b"):
        model(a, mask_a, b, mask_b[:, :3])
    with pytest.raises(ValueError, match=r"mask_a must be bool"):
        model(a, mask_a.long(), b, mask_b)
    with pytest.raises(ValueError, match="must share the batch size, got 3 and 2"):
        model(a, mask_a, b[:2], mask_b[:2])
    with pytest.raises(ValueError, match=r"labels must be \[B\]=\[3\], got \[3, 1\]"):
        model.loss(SimpleNamespace(tokens_a=a, mask_a=mask_a, tokens_b=b, mask_b=mask_b,
                                   labels=torch.zeros(3, 1, dtype=torch.long)))


def _permutation_pairs(n: int):
    """a: 3-6 tokens; b: a shuffled (label 1) or a shuffled with one token changed (label 0)."""
    g = torch.Generator().manual_seed(5)
    lengths = torch.randint(3, 7, (n,), generator=g)
    mask_a = torch.arange(6)[None] < lengths[:, None]  # [n, 6]
    a = torch.randint(1, 16, (n, 6), generator=g).masked_fill(~mask_a, 0)
    order = torch.rand(n, 6, generator=g).masked_fill(~mask_a, 2.0).argsort(1)  # a shuffle of each real prefix
    b = a.gather(1, order)
    labels = torch.randint(0, 2, (n,), generator=g)
    rows = torch.arange(n)
    changed = (torch.rand(n, generator=g) * lengths).long()
    shift = torch.randint(1, 15, (n,), generator=g)
    b[rows, changed] = torch.where(labels == 1, b[rows, changed], (b[rows, changed] - 1 + shift) % 15 + 1)
    return a, mask_a, b, b != 0, labels


@pytest.mark.parametrize(("coattention", "steps", "threshold"), [(True, 10, 0.85), (False, 20, 0.7)])
def test_learns_whether_b_is_a_permutation_of_a(coattention, steps, threshold):
    """Judged on held-out pairs (chance: 0.5): 128 training pairs are few enough to memorise, and with
    shuffled labels the held-out accuracy stays near 0.5. Co-attention, which can line each token up
    with its copy, needs fewer steps."""
    a, mask_a, b, mask_b, labels = _permutation_pairs(256)
    assert 0.4 < labels.float().mean() < 0.6
    train, test = slice(0, 128), slice(128, None)
    torch.manual_seed(0)
    model = create_model("matcher", vocab_size=16, embed_dim=16, hidden_dim=16, coattention=coattention, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    batch = SimpleNamespace(tokens_a=a[train], mask_a=mask_a[train], tokens_b=b[train], mask_b=mask_b[train],
                            labels=labels[train])
    for _ in range(steps):
        out = model.loss(batch)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    logits = model.eval()(a[test], mask_a[test], b[test], mask_b[test]).logits
    accuracy = (logits.argmax(-1) == labels[test]).float().mean()
    assert accuracy > threshold, accuracy
