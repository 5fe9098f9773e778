"""Balanced class weights: the loss weights each example by its class; dev batches stay unweighted."""

import csv

import torch
import torch.nn.functional as F

from attnkit.config import validate_config
from attnkit.models.classifier import classification_loss
from attnkit.training.classify import ClassificationTask


def test_weighted_loss_matches_a_hand_computation():
    torch.manual_seed(0)
    logits, labels = torch.randn(5, 3), torch.tensor([0, 0, 0, 1, 2])
    weights = torch.tensor([0.5, 2.0, 3.0])
    out = classification_loss(logits, labels, 0.0, weights)
    per_example = -F.log_softmax(logits, -1)[torch.arange(5), labels]
    expected = (weights[labels] * per_example).sum() / weights[labels].sum()
    torch.testing.assert_close(out.loss, expected)
    torch.testing.assert_close(out.nll, per_example.sum())  # the reported NLL is never weighted


def test_task_attaches_balanced_weights_to_training_batches_only(tmp_path):
    path = tmp_path / "d.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        for i in range(8):  # 6 x "big", 2 x "small"
            writer.writerow([f"word{i} and more words.", "big" if i < 6 else "small"])
    config = validate_config({"data": {"corpus": "files", "train": {"src": str(path)}, "dev": {"src": str(path)},
                                       "tokenizer": {"min_freq": 1}},
                              "model": {"family": "han", "embed_dim": 4, "hidden_dim": 3},
                              "train": {"class_weights": "balanced"}})
    task = ClassificationTask(config, tmp_path)
    task.prepare(resuming=False)
    torch.testing.assert_close(task.class_weights, torch.tensor([8 / (2 * 6), 8 / (2 * 2)]))
    assert torch.equal(task.batch([0, 7]).class_weights, task.class_weights)
    assert not hasattr(task.batch([0, 7], train=False), "class_weights")
