"""Classification metrics (accuracy, macro-F1, confusion matrix) and a confusion-matrix plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score

__all__ = ["classification_metrics", "plot_confusion"]


def classification_metrics(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict:
    """Scores of predicted labels against gold ones, in percent.

    Returns ``accuracy``, ``macro_f1`` (the unweighted mean F1 of the labels that occur in ``gold`` or
    ``pred``: a class absent from both says nothing about the classifier), ``per_class_f1`` (label ->
    F1 for every label of ``labels``, 0 where it never occurs), ``confusion`` (list of lists, row =
    gold label, column = predicted label, both in the order of ``labels``), ``labels`` and ``support``
    (the number of examples).
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions: they must pair up")
    if not gold:
        raise ValueError("classification_metrics needs at least one example")
    labels = list(labels)
    unknown = sorted((set(gold) | set(pred)) - set(labels))
    if unknown:
        raise ValueError(f"labels {unknown[:5]} are not in the label list; pass every class in labels")
    present = [name for name in labels if name in set(gold) | set(pred)]
    per_class = f1_score(gold, pred, labels=labels, average=None, zero_division=0)
    macro = f1_score(gold, pred, labels=present, average="macro", zero_division=0)
    accuracy = float(np.mean([g == p for g, p in zip(gold, pred, strict=True)]))
    return {
        "accuracy": 100.0 * accuracy,
        "macro_f1": 100.0 * float(macro),
        "per_class_f1": {name: 100.0 * float(f) for name, f in zip(labels, per_class, strict=True)},
        "confusion": confusion_matrix(gold, pred, labels=labels).tolist(),
        "labels": labels,
        "support": len(gold),
    }


def plot_confusion(confusion: Sequence[Sequence[int]], labels: Sequence[str], path: str | Path, *,
                   title: str = "") -> Path:
    """Save a confusion matrix (rows gold, columns predicted) as an image; returns ``path``.

    Colours show each row normalised by its gold count (recall per cell), so small classes are as visible
    as large ones; counts are written in the cells up to 20 classes. Fonts shrink and column labels turn
    90 degrees as the number of classes grows, which keeps 45 classes readable.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.asarray(confusion, dtype=np.int64)
    n = len(labels)
    if counts.shape != (n, n):
        raise ValueError(f"confusion has shape {counts.shape} but there are {n} labels")
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = max(5.0, 0.28 * n + 2.5)
    font = 9 if n <= 12 else 7 if n <= 30 else 6
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    image = ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(n), labels, rotation=90 if n > 12 else 45, ha="center" if n > 12 else "right",
                  fontsize=font)
    ax.set_yticks(range(n), labels, fontsize=font)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    if title:
        ax.set_title(title)
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if counts[i, j]:
                    ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=font,
                            color="white" if rates[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the gold row")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
