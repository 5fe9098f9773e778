"""The one object every renderer takes: attention weights with the labels of their rows and columns.

Legend: R rows (queries: target tokens, words, sentences), C columns (keys: source tokens, image regions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["KINDS", "AttentionMap"]

KINDS = ("cross", "self", "word", "sentence", "image")


@dataclass
class AttentionMap:
    """Attention weights ``[R, C]``: row ``r`` is how query ``row_labels[r]`` spread over the keys.

    ``weights`` may be anything :func:`numpy.asarray` accepts (a CPU tensor included); it is stored as a
    float 2-D array. ``kind`` says where queries and keys come from (:data:`KINDS` lists the usual ones;
    others are allowed). ``layer``/``head`` identify the map in a multi-layer, multi-head model.
    """

    weights: np.ndarray
    row_labels: list[str]
    col_labels: list[str]
    kind: str = "cross"
    title: str = ""
    layer: int | None = None
    head: int | None = None

    def __post_init__(self) -> None:
        weights = np.asarray(self.weights, dtype=np.float64)
        if weights.ndim != 2:
            raise ValueError(f"attention weights must be 2-D [rows, cols], got shape {list(weights.shape)}")
        self.weights = weights
        self.row_labels = [str(x) for x in self.row_labels]
        self.col_labels = [str(x) for x in self.col_labels]
        rows, cols = weights.shape
        if rows != len(self.row_labels) or cols != len(self.col_labels):
            raise ValueError(f"attention weights have shape [{rows}, {cols}] but there are {len(self.row_labels)} "
                             f"row labels and {len(self.col_labels)} column labels; they must match "
                             f"(rows = queries, columns = keys)")
        if not np.all(np.isfinite(weights)):
            raise ValueError("attention weights contain NaN or infinity")
        if not self.kind:
            raise ValueError(f"attention map kind must be a non-empty string such as {', '.join(KINDS)}")

    @property
    def shape(self) -> tuple[int, int]:
        return self.weights.shape  # type: ignore[return-value]

    def to_dict(self, decimals: int = 4) -> dict:
        """A JSON-ready dict (weights rounded to ``decimals``)."""
        return {"kind": self.kind, "title": self.title, "layer": self.layer, "head": self.head,
                "row_labels": list(self.row_labels), "col_labels": list(self.col_labels),
                "weights": np.round(self.weights, decimals).tolist()}

    @classmethod
    def from_dict(cls, record: dict) -> AttentionMap:
        """Inverse of :meth:`to_dict`."""
        rows, cols = len(record["row_labels"]), len(record["col_labels"])
        weights = np.asarray(record["weights"], dtype=np.float64).reshape(rows, cols)
        return cls(weights, record["row_labels"], record["col_labels"], kind=record.get("kind", "cross"),
                   title=record.get("title", ""), layer=record.get("layer"), head=record.get("head"))

