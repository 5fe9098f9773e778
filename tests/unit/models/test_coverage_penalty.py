"""The coverage penalty (See et al. 2017): the term by hand, padding, every translation model, the task's batches."""

import pytest
import torch

from attnkit.config import validate_config
from attnkit.data import make_batch
from attnkit.errors import ConfigError
from attnkit.models import create_model
from attnkit.models.seq2seq import coverage_penalty
from attnkit.training.tasks import TranslationTask

MODELS = [("rnn", {"embed_dim": 8, "hidden_dim": 16, "dropout": 0.0}),
          ("rnn", {"embed_dim": 8, "hidden_dim": 16, "dropout": 0.0, "decoder": "luong", "score": "general"}),
          ("transformer", {"embed_dim": 16, "num_heads": 2, "ff_dim": 32, "dropout": 0.0})]
IDS = ["bahdanau", "luong", "transformer"]
SRC, TGT = [[5, 6, 7, 8, 9], [10, 11]], [[4, 5, 6], [7, 8, 9, 10]]


def _model(name, kwargs, seed=0):
    torch.manual_seed(seed)
    return create_model(name, src_vocab=20, tgt_vocab=20, **kwargs).double().eval()


def test_penalty_by_hand():
    attn = torch.tensor([[[0.5, 0.5, 0.0], [0.25, 0.0, 0.75], [0.0, 1.0, 0.0]]])  # [1, 3, 3]
    # coverage before rows 1 and 2: [0.5, 0.5, 0] and [0.75, 0.5, 0.75]
    expected = (0.0 + (0.25 + 0.0 + 0.0) + (0.0 + 0.5 + 0.0)) / 3
    mask = torch.ones(1, 3, dtype=torch.bool)
    assert coverage_penalty(attn, mask).item() == pytest.approx(expected)
    # A one-to-one alignment never attends twice: no penalty.
    assert coverage_penalty(torch.eye(3)[None], mask).item() == 0.0
    with pytest.raises(ValueError, match=r"share \[B, T\]"):
        coverage_penalty(attn, mask[:, :2])


def test_padded_rows_neither_cost_nor_cover():
    attn = torch.tensor([[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]])
    first_two = torch.tensor([[True, True, False]])
    assert coverage_penalty(attn, first_two).item() == pytest.approx(1.0 / 2)  # mean over the 2 real rows
    # A padded row repeating a real row's attention would cost 1 if it were counted.
    attn = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])
    assert coverage_penalty(attn, torch.tensor([[True, False]])).item() == 0.0
    assert coverage_penalty(attn, torch.tensor([[True, True]])).item() == pytest.approx(0.5)


@pytest.mark.parametrize(("name", "kwargs"), MODELS, ids=IDS)
def test_model_loss_adds_the_weighted_term(name, kwargs):
    model = _model(name, kwargs)
    plain = model.loss(make_batch(SRC, TGT, [0, 1]), label_smoothing=0.1)
    assert plain.coverage_loss is None
    covered = model.loss(make_batch(SRC, TGT, [0, 1], coverage_weight=0.5), label_smoothing=0.1)
    batch = make_batch(SRC, TGT, [0, 1])
    expected = coverage_penalty(covered.attn.detach(), batch.tgt_mask)
    assert expected.item() > 0  # random attention attends positions twice
    torch.testing.assert_close(covered.coverage_loss, expected, rtol=1e-9, atol=1e-12)
    assert covered.loss.item() == pytest.approx(plain.loss.item() + 0.5 * expected.item(), rel=1e-9)
    torch.testing.assert_close(covered.nll, plain.nll, rtol=1e-10, atol=1e-10)  # nll never holds the term


@pytest.mark.parametrize(("name", "kwargs"), MODELS, ids=IDS)
def test_penalty_trains_attention_apart(name, kwargs):
    """Minimising the term alone spreads the target tokens over distinct source positions."""
    model = _model(name, kwargs).train()
    batch = make_batch([[5, 6, 7, 8, 9, 10, 11, 12]], [[4, 5, 6]], [0], coverage_weight=1.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    first = None
    for _ in range(40):
        out = model.loss(batch)
        first = out.coverage_loss.item() if first is None else first
        optimizer.zero_grad()
        coverage_penalty(out.attn, batch.tgt_mask).backward()  # the term's gradient alone (not detached)
        optimizer.step()
    assert model.loss(batch).coverage_loss.item() < 0.5 * first


def test_decoder_without_attention_refuses_the_penalty(tmp_path, tiny_dict):
    model = _model("rnn", {"embed_dim": 8, "hidden_dim": 16, "decoder": "none"})
    with pytest.raises(ValueError, match="need attention"):
        model.loss(make_batch(SRC, TGT, [0, 1], coverage_weight=0.5))
    tiny_dict["model"]["decoder"] = "none"
    tiny_dict["train"]["coverage_penalty"] = 0.5
    with pytest.raises(ConfigError, match=r"train\.coverage_penalty=0\.5"):
        TranslationTask(validate_config(tiny_dict), tmp_path / "model").prepare(resuming=False)


def test_task_batches_carry_the_weight_for_training_only(tmp_path, tiny_dict):
    tiny_dict["train"]["coverage_penalty"] = 0.3
    task = TranslationTask(validate_config(tiny_dict), tmp_path / "model")
    task.prepare(resuming=False)
    assert task.batch([0, 1]).coverage_weight == 0.3
    assert task.batch([0, 1], train=False).coverage_weight == 0.0
    assert task.batch([0, 1]).align is None  # no gold links involved
