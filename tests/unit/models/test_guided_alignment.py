"""Guided alignment (supervised attention): the loss term, its batching, and that it teaches attention."""

import math

import pytest
import torch

from attnkit.config import validate_config
from attnkit.data import Pair, make_batch, train_tokenizer
from attnkit.data.alignment_targets import gold_alignment_matrix
from attnkit.errors import ConfigError
from attnkit.models import create_model
from attnkit.models.seq2seq import guided_alignment_loss
from attnkit.training.tasks import TranslationTask

MODELS = [("rnn", {"embed_dim": 8, "hidden_dim": 16, "dropout": 0.0}),
          ("rnn", {"embed_dim": 8, "hidden_dim": 16, "dropout": 0.0, "decoder": "luong", "score": "general"}),
          ("transformer", {"embed_dim": 16, "num_heads": 2, "ff_dim": 32, "dropout": 0.0})]
IDS = ["bahdanau", "luong", "transformer"]


def _model(name, kwargs, seed=0):
    torch.manual_seed(seed)
    return create_model(name, src_vocab=20, tgt_vocab=20, **kwargs).double().eval()


def _gold(rows):
    """A ``[T, S]`` gold matrix from each target token's linked source positions (uniform over them)."""
    width = 1 + max((s for links in rows for s in links), default=0)
    gold = torch.zeros(len(rows), width)
    for t, links in enumerate(rows):
        for s in links:
            gold[t, s] = 1.0 / len(links)
    return gold


def _ragged_batch():
    """Two pairs of different lengths (so both padding rows and padding columns exist) with gold."""
    src, tgt = [[5, 6, 7, 8, 9], [10, 11]], [[4, 5, 6], [7, 8, 9, 10]]
    gold = [_gold([[4], [0, 2], []]), torch.zeros(4, 2)]
    gold[1][0, 1], gold[1][2, 0] = 1.0, 1.0  # rows 1 and 3 of the second pair stay unlinked
    return src, tgt, gold


@pytest.mark.parametrize(("name", "kwargs"), MODELS, ids=IDS)
def test_zero_weight_is_the_plain_loss(name, kwargs):
    model = _model(name, kwargs)
    src, tgt, gold = _ragged_batch()
    plain = model.loss(make_batch(src, tgt, [0, 1]), label_smoothing=0.1)
    for batch, weight in [(make_batch(src, tgt, [0, 1], align=gold), None),  # Batch.align_weight defaults to 0
                          (make_batch(src, tgt, [0, 1], align=gold, align_weight=0.7), 0.0)]:
        off = model.loss(batch, label_smoothing=0.1, guided_alignment=weight)
        assert torch.equal(off.loss, plain.loss) and torch.equal(off.nll, plain.nll)
        assert off.align_loss is None and plain.align_loss is None


@pytest.mark.parametrize(("name", "kwargs"), MODELS, ids=IDS)
def test_term_matches_a_hand_computation(name, kwargs):
    model = _model(name, kwargs)
    src, tgt, gold = _ragged_batch()
    plain = model.loss(make_batch(src, tgt, [0, 1]), label_smoothing=0.1)
    guided = model.loss(make_batch(src, tgt, [0, 1], align=gold, align_weight=0.25), label_smoothing=0.1)
    attn = guided.attn.detach()  # [B, T, S], the attention the term saw
    # Supervised rows: pair 0 rows 0 (source 4) and 1 (sources 0 and 2, half each); pair 1 rows 0 and 2.
    terms = [-math.log(attn[0, 0, 4]), -0.5 * math.log(attn[0, 1, 0]) - 0.5 * math.log(attn[0, 1, 2]),
             -math.log(attn[1, 0, 1]), -math.log(attn[1, 2, 0])]
    expected = sum(terms) / len(terms)
    assert guided.align_loss.item() == pytest.approx(expected, rel=1e-9)
    assert guided.loss.item() == pytest.approx(plain.loss.item() + 0.25 * expected, rel=1e-9)
    # The Transformer's guided path leaves the fused kernel in one layer: equal up to rounding.
    torch.testing.assert_close(guided.nll, plain.nll, rtol=1e-10, atol=1e-10)
    assert guided.ntokens == plain.ntokens
    # An explicit weight overrides the batch's.
    heavier = model.loss(make_batch(src, tgt, [0, 1], align=gold, align_weight=0.25), label_smoothing=0.1,
                         guided_alignment=2.0)
    assert heavier.loss.item() == pytest.approx(plain.loss.item() + 2.0 * expected, rel=1e-9)


def test_loss_of_a_uniform_attention_is_log_of_the_source_length():
    attn = torch.full((1, 2, 4), 0.25)
    gold = torch.tensor([[[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]])
    assert guided_alignment_loss(attn, gold).item() == pytest.approx(math.log(4))
    assert guided_alignment_loss(attn, torch.zeros_like(gold)).item() == 0.0
    with pytest.raises(ValueError, match="must match"):
        guided_alignment_loss(attn, gold[:, :1])


@pytest.mark.parametrize(("name", "kwargs"), MODELS, ids=IDS)
def test_padding_does_not_contribute(name, kwargs):
    """The batch term is the supervised-row-weighted mean of each pair's term computed alone."""
    model = _model(name, kwargs)
    src, tgt, gold = _ragged_batch()
    batch = make_batch(src, tgt, [0, 1], align=gold, align_weight=1.0)
    assert batch.align.shape == (2, 5, 5)  # T: longest target + EOS
    assert batch.align[0, 3:].abs().sum() == 0 and batch.align[1, :, 2:].abs().sum() == 0  # EOS row, padding
    joint = model.loss(batch).align_loss
    alone = [model.loss(make_batch([s], [t], [0], align=[g], align_weight=1.0)).align_loss
             for s, t, g in zip(src, tgt, gold, strict=True)]
    torch.testing.assert_close(joint, (2 * alone[0] + 2 * alone[1]) / 4, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="expected"):
        make_batch(src, tgt, [0, 1], align=[gold[0], gold[0]])


@pytest.mark.parametrize(("name", "kwargs", "steps", "lr", "least"), [
    ("rnn", MODELS[0][1], 30, 0.03, 1.0),
    ("transformer", MODELS[2][1], 60, 0.01, 0.85),
], ids=["bahdanau", "transformer"])
def test_training_moves_attention_to_the_gold_links(name, kwargs, steps, lr, least):
    """Targets unrelated to the sources, gold links a fixed permutation: only the guided term can teach
    the attention where to look."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(3)
    B, S = 8, 6
    src, tgt = torch.randint(4, 20, (B, S), generator=g).tolist(), torch.randint(4, 20, (B, S), generator=g).tolist()
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    gold = torch.zeros(S, S)
    gold[torch.arange(S), perm] = 1.0
    batch = make_batch(src, tgt, list(range(B)), align=[gold] * B, align_weight=1.0)
    model = create_model(name, src_vocab=20, tgt_vocab=20, **kwargs)

    def hits():
        with torch.no_grad():
            attn = model.eval().loss(batch).attn[:, :S]  # [B, T, S] without the EOS row
        model.train()
        on_gold = attn.gather(-1, perm.expand(B, S)[..., None])[..., 0]  # [B, T]
        elsewhere = attn.scatter(-1, perm.expand(B, S)[..., None], 0.0).amax(-1)  # [B, T]
        return (attn.argmax(-1) == perm).float().mean().item(), (on_gold - elsewhere).min().item()

    before, _ = hits()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        out = model.loss(batch)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
    after, margin = hits()
    assert before <= 0.3 and after >= least
    if least == 1.0:
        assert margin >= 0.2, f"gold weight exceeds every other weight by only {margin:.3f}"


def test_decoder_without_attention_refuses_guidance():
    model = _model("rnn", {"embed_dim": 8, "hidden_dim": 16, "decoder": "none"})
    src, tgt, gold = _ragged_batch()
    with pytest.raises(ValueError, match=r"guided alignment .* need attention"):
        model.loss(make_batch(src, tgt, [0, 1], align=gold, align_weight=0.5))


def test_gold_matrix_from_character_links(tmp_path):
    pair = Pair("ab cd", "xyz", sure=((0, 0),), possible=((0, 0), (3, 0), (4, 1)))
    chars = train_tokenizer("char", ["ab cd", "xyz"], name="c")
    torch.testing.assert_close(gold_alignment_matrix(pair, chars, chars),
                               torch.tensor([[0.5, 0, 0, 0.5, 0], [0, 0, 0, 0, 1.0], [0, 0, 0, 0, 0]]))
    words = train_tokenizer("word", ["ab cd", "xyz"], name="w")
    # Source words "ab", "cd": target "x" links to both (through a and c), "y" to the second (through d).
    torch.testing.assert_close(gold_alignment_matrix(pair, words, chars),
                               torch.tensor([[0.5, 0.5], [0.0, 1.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="no gold alignment"):
        gold_alignment_matrix(Pair("ab", "x"), chars, chars)


def test_task_needs_a_corpus_with_gold(tmp_path, tiny_dict):
    train, dev = tmp_path / "train.tsv", tmp_path / "dev.tsv"
    train.write_text("a b\tb a\n", encoding="utf-8")
    dev.write_text("a\ta\n", encoding="utf-8")
    tiny_dict["data"] = {"corpus": "files", "train": {"src": str(train)}, "dev": {"src": str(dev)}}
    tiny_dict["train"]["guided_alignment"] = 0.5
    task = TranslationTask(validate_config(tiny_dict), tmp_path / "model")
    with pytest.raises(ConfigError, match=r"train\.guided_alignment=0\.5 needs gold alignments"):
        task.prepare(resuming=False)


def test_task_batches_carry_gold_for_training_only(tmp_path, tiny_dict):
    tiny_dict["train"]["guided_alignment"] = 0.5
    task = TranslationTask(validate_config(tiny_dict), tmp_path / "model")
    task.prepare(resuming=False)
    train_batch, dev_batch = task.batch([0, 1]), task.batch([0, 1], train=False)
    assert train_batch.align.shape == (2, train_batch.tgt_out.size(1), train_batch.src.size(1))
    assert train_batch.align_weight == 0.5
    rows = train_batch.align.sum(-1)  # [B, T]: 1 where a target character has links, else 0
    assert set(rows.unique().tolist()) <= {0.0, 1.0} and rows.sum() > 0
    assert dev_batch.align is None and dev_batch.align_weight == 0.0
