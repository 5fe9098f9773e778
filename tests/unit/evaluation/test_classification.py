import pytest
from sklearn.metrics import f1_score

from attnkit.evaluation.classification import classification_metrics, plot_confusion


def test_metrics_by_hand():
    gold = ["a", "a", "b", "b", "c"]
    pred = ["a", "b", "b", "b", "a"]
    m = classification_metrics(gold, pred, ["a", "b", "c", "d"])
    assert m["accuracy"] == pytest.approx(60.0)
    # F1: a = 2*0.5*0.5/1 = 0.5, b = 2*(2/3)*1/(5/3) = 0.8, c = 0; d occurs nowhere and is left out
    assert m["per_class_f1"] == pytest.approx({"a": 50.0, "b": 80.0, "c": 0.0, "d": 0.0})
    assert m["macro_f1"] == pytest.approx((50 + 80 + 0) / 3)
    assert m["macro_f1"] == pytest.approx(100 * f1_score(gold, pred, average="macro"))
    assert m["confusion"] == [[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]  # rows gold
    assert m["labels"] == ["a", "b", "c", "d"] and m["support"] == 5


def test_metrics_errors():
    with pytest.raises(ValueError, match="pair up"):
        classification_metrics(["a"], [], ["a"])
    with pytest.raises(ValueError, match=r"\['z'\]"):
        classification_metrics(["a"], ["z"], ["a"])
    with pytest.raises(ValueError, match="at least one"):
        classification_metrics([], [], ["a"])


def test_plot_confusion_with_many_labels(tmp_path):
    labels = [f"noun.class{i}" for i in range(45)]
    confusion = [[(10 if i == j else (i * j) % 3) for j in range(45)] for i in range(45)]
    path = plot_confusion(confusion, labels, tmp_path / "plots" / "confusion.png", title="45 classes")
    assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    small = plot_confusion([[3, 1], [0, 4]], ["yes", "no"], tmp_path / "small.png")
    assert small.stat().st_size > 1000
    with pytest.raises(ValueError, match="shape"):
        plot_confusion([[1, 2]], ["a", "b"], tmp_path / "bad.png")
