"""Hierarchical Attention Network: a per-sentence re-derivation, padding invariance, weights, learning."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from attnkit.models import HAN, HANOutput, create_model
from attnkit.models.han import Compaction, MaxPooling, RaggedBiGRU, scatter_real

POOLINGS = ["attention", "mean", "max"]
TOL = {"rtol": 1e-5, "atol": 1e-5}


pytestmark = pytest.mark.usefixtures("one_thread")


def _model(**kw) -> HAN:
    torch.manual_seed(0)
    args = {"embed_dim": 12, "hidden_dim": 8, "attention_dim": 10}
    return create_model("han", vocab_size=30, num_classes=3, **{**args, **kw})


def _documents() -> torch.Tensor:
    """Three documents [3, 4, 6] with ragged sentences, an empty sentence between two real ones (doc 1),
    a pad word inside a sentence (doc 0) and a one-word document (doc 2)."""
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(1, 30, (3, 4, 6), generator=g)
    words = torch.tensor([[6, 3, 5, 2], [4, 0, 6, 0], [1, 0, 0, 0]])  # real words per sentence
    mask = torch.arange(6)[None, None] < words[..., None]  # [3, 4, 6]
    tokens = tokens.masked_fill(~mask, 0)
    tokens[0, 0, 2] = 0
    return tokens


def _reference(model: HAN, tokens: torch.Tensor) -> tuple[torch.Tensor, list, list]:
    """HAN read one sentence and one document at a time, with no padding anywhere (Yang et al. 2016, eqs. 5-11)."""

    def bigru(enc: RaggedBiGRU, x):  # x [1, T, E]
        return torch.cat([enc.fwd(x)[0], enc.bwd(x.flip(1))[0].flip(1)], -1)[0]  # [T, 2H]

    def pool(pooling, h):  # h [T, 2H]
        if isinstance(pooling, MaxPooling):
            return h.max(0).values, None
        if not hasattr(pooling, "score"):
            return h.mean(0), torch.full((h.size(0),), 1 / h.size(0))
        u = torch.tanh(pooling.score.W(h))  # [T, A] (eq. 5)
        alpha = torch.softmax(u @ pooling.score.u_w, 0)  # [T] (eq. 6)
        return alpha @ h, alpha  # [2H] (eq. 7)

    logits, word_weights, sentence_weights = [], [], []
    for doc in tokens:
        vectors, alphas = [], []
        for sentence in doc:
            real = sentence[sentence != model.pad_id]
            if real.numel():
                s, alpha = pool(model.word_pooling, bigru(model.word_encoder, model.embed(real)[None]))
                vectors.append(s)
                alphas.append(alpha)
        v, beta = pool(model.sentence_pooling, bigru(model.sentence_encoder, torch.stack(vectors)[None]))
        logits.append(model.head(v))  # eq. 11
        word_weights.append(alphas)
        sentence_weights.append(beta)
    return torch.stack(logits), word_weights, sentence_weights


@pytest.mark.parametrize("pooling", POOLINGS)
def test_equals_a_per_sentence_rederivation(pooling):
    model = _model(pooling=pooling).eval()
    tokens = _documents()
    out = model(tokens)
    with torch.no_grad():
        logits, word_weights, sentence_weights = _reference(model, tokens)
    torch.testing.assert_close(out.logits, logits, **TOL)
    if pooling == "max":
        return
    mask = tokens != 0
    for b in range(3):
        real_sentences = mask[b].any(-1)
        torch.testing.assert_close(out.sentence_weights[b][real_sentences], sentence_weights[b], **TOL)
        for n, alpha in zip(real_sentences.nonzero().squeeze(1).tolist(), word_weights[b], strict=True):
            torch.testing.assert_close(out.word_weights[b, n][mask[b, n]], alpha, **TOL)


def test_bigru_equals_a_packed_bidirectional_gru():
    torch.manual_seed(3)
    enc = RaggedBiGRU(5, 4)
    ref = nn.GRU(5, 4, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(ref, name).copy_(getattr(enc.fwd, name))
            getattr(ref, name + "_reverse").copy_(getattr(enc.bwd, name))
    x, lengths = torch.randn(4, 7, 5), torch.tensor([7, 3, 1, 5])
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    expected = nn.utils.rnn.pad_packed_sequence(ref(packed)[0], batch_first=True, total_length=7)[0]
    torch.testing.assert_close(enc(x, lengths), expected, **TOL)  # zeros past each length on both sides


def test_compaction_round_trip():
    mask = torch.tensor([[False, True, False, True], [False] * 4, [True, True, False, False]])
    values = torch.arange(1, 5.0)[:, None]  # [K=4, 1]
    comp = Compaction.of(mask)
    assert comp.rows.tolist() == [0, 2] and comp.lengths.tolist() == [2, 2] and comp.width == 2
    assert comp.gather(values)[..., 0].tolist() == [[1, 2], [3, 4]]
    assert scatter_real(comp.gather(values)[comp.row, comp.col], mask)[..., 0].tolist() == [
        [0, 1, 0, 2], [0, 0, 0, 0], [3, 4, 0, 0]]


@pytest.mark.parametrize("pooling", POOLINGS)
def test_padding_changes_nothing(pooling):
    model = _model(pooling=pooling).eval()
    tokens = _documents()
    out = model(tokens)
    padded = torch.nn.functional.pad(tokens, (0, 3, 0, 2))  # 3 more words, 2 more sentences
    padded = torch.cat([padded, torch.zeros_like(padded[:1])])  # and an empty document
    out_padded = model(padded)
    torch.testing.assert_close(out_padded.logits[:3], out.logits, **TOL)
    torch.testing.assert_close(out_padded.word_weights[:3, :4, :6], out.word_weights, **TOL)
    torch.testing.assert_close(out_padded.sentence_weights[:3, :4], out.sentence_weights, **TOL)
    assert out_padded.word_weights[:, 4:].abs().sum() == 0 and out_padded.word_weights[..., 6:].abs().sum() == 0
    for b in range(3):  # alone in its batch, trimmed to its real words
        torch.testing.assert_close(model(tokens[b:b + 1]).logits, out.logits[b:b + 1], **TOL)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_weights_sum_to_one_over_real_words_and_sentences(pooling):
    tokens = _documents()
    out = _model(pooling=pooling).eval()(tokens)
    assert isinstance(out, HANOutput) and out.word_weights.shape == (3, 4, 6) and out.sentence_weights.shape == (3, 4)
    mask = tokens != 0
    sentences = mask.any(-1)
    assert (out.word_weights[~mask] == 0).all() and (out.sentence_weights[~sentences] == 0).all()
    torch.testing.assert_close(out.word_weights.sum(-1), sentences.float())
    torch.testing.assert_close(out.sentence_weights.sum(-1), torch.ones(3))
    if pooling == "mean":
        torch.testing.assert_close(out.word_weights[1, 2, :6], torch.full((6,), 1 / 6))
        torch.testing.assert_close(out.sentence_weights[1], torch.tensor([0.5, 0.0, 0.5, 0.0]))
    if pooling == "attention":
        assert (out.word_weights[mask] > 0).all()


@pytest.mark.parametrize("pooling", POOLINGS)
def test_forward_backward_finite_with_an_empty_document(pooling):
    model = _model(pooling=pooling, dropout=0.2)
    tokens = torch.cat([_documents(), torch.zeros(1, 4, 6, dtype=torch.long)])
    batch = SimpleNamespace(tokens=tokens, mask=tokens != 0, labels=torch.tensor([0, 2, 1, 1]))
    out = model.loss(batch, label_smoothing=0.1)
    assert out.logits.shape == (4, 3) and out.ntokens == 4 and torch.isfinite(out.loss) and torch.isfinite(out.nll)
    out.loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert all(torch.isfinite(g).all() for g in grads.values())
    assert any(n.startswith("word_pooling") for n in grads) == (pooling == "attention")
    assert model.embed.weight.grad[0].abs().sum() == 0  # the padding row never learns
    model.eval()
    empty = model(torch.zeros(2, 3, 5, dtype=torch.long))  # nothing real in the whole batch
    torch.testing.assert_close(empty.logits, model.head.bias.expand(2, 3))
    assert (empty.word_weights == 0).all() and (empty.sentence_weights == 0).all()


def test_builder_and_errors():
    model = _model()
    assert isinstance(model, HAN) and model.num_classes == 3
    with pytest.raises(ValueError, match="unknown pooling 'cls'"):
        _model(pooling="cls")
    with pytest.raises(ValueError, match="num_classes must be at least 2"):
        create_model("han", vocab_size=30, num_classes=1)
    tokens = _documents()
    with pytest.raises(ValueError, match=r"tokens must be integer ids \[B, N, W\]"):
        model(tokens[0])
    with pytest.raises(ValueError, match=r"tokens must be integer ids"):
        model(tokens.float())
    with pytest.raises(ValueError, match=r"mask must be bool \[3, 4, 6\]"):
        model(tokens, (tokens != 0)[..., :5])
    with pytest.raises(ValueError, match=r"mask must be bool"):
        model(tokens, (tokens != 0).long())
    with pytest.raises(ValueError, match=r"labels must be \[B\]=\[3\], got \[3, 1\]"):
        model.loss(SimpleNamespace(tokens=tokens, mask=tokens != 0, labels=torch.zeros(3, 1, dtype=torch.long)))


def _keyword_documents(n: int):
    """Documents of 4 sentences x 5 words; exactly one word is a keyword (1, 2 or 3), and it is the label."""
    g = torch.Generator().manual_seed(4)
    words = torch.randint(2, 6, (n, 4), generator=g)
    mask = torch.arange(5)[None, None] < words[..., None]  # [n, 4, 5]
    tokens = torch.randint(4, 20, (n, 4, 5), generator=g).masked_fill(~mask, 0)
    labels = torch.randint(0, 3, (n,), generator=g)
    rows = torch.arange(n)
    sentence = torch.randint(0, 4, (n,), generator=g)
    word = (torch.rand(n, generator=g) * words[rows, sentence]).long()
    tokens[rows, sentence, word] = labels + 1
    return tokens, labels, sentence


@pytest.mark.parametrize("pooling", POOLINGS)
def test_learns_which_keyword_a_document_holds(pooling):
    """Judged on held-out documents: 128 training documents are few enough to memorise (with shuffled
    labels the training accuracy still reaches 1, the held-out one stays near 1/3)."""
    tokens, labels, keyword_sentence = _keyword_documents(256)
    train, test = slice(0, 128), slice(128, None)
    torch.manual_seed(0)
    model = create_model("han", vocab_size=20, num_classes=3, embed_dim=16, hidden_dim=16, attention_dim=16,
                         pooling=pooling, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    batch = SimpleNamespace(tokens=tokens[train], mask=tokens[train] != 0, labels=labels[train])
    for _ in range(30):
        out = model.loss(batch)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    out = model.eval()(tokens[test])
    accuracy = (out.logits.argmax(-1) == labels[test]).float().mean()
    assert accuracy > 0.9, accuracy
    if pooling == "attention":  # the sentence attention has found the deciding sentence (chance: about 0.3)
        found = (out.sentence_weights.argmax(-1) == keyword_sentence[test]).float().mean()
        assert found > 0.55, found
