"""Tiny document classifiers (HAN, flat Transformer) and a tiny text matcher, trained on made-up corpora in
well under a second each (after the imports).

For the serve tests and the explorer's browser test, which both load this file by path (the tests are
not a package): :func:`tiny_labelled_dir` trains each model at most once per test session.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

TOPICS = {  # label -> (subjects, verbs, objects): three topics whose words never overlap
    "weather": (["the rain", "a storm", "the wind", "fog", "the sun"],
                ["falls on", "sweeps over", "hides", "warms", "soaks"],
                ["the hills", "the valley", "our roofs", "the coast", "the fields"]),
    "kitchen": (["the cook", "my aunt", "a baker", "the chef", "our guest"],
                ["stirs", "bakes", "slices", "tastes", "seasons"],
                ["the soup", "fresh bread", "an onion", "the sauce", "a pie"]),
    "sport": (["the striker", "our keeper", "the coach", "a runner", "the team"],
              ["kicks", "chases", "trains for", "wins", "defends"],
              ["the ball", "the cup", "the final", "a medal", "the goal"]),
}
DOCUMENTS, PAIRS = 60, 60


def _sentence(rng: random.Random, label: str) -> str:
    subjects, verbs, objects = TOPICS[label]
    text = f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}"
    return text[0].upper() + text[1:] + "."


def write_documents(path: Path, *, seed: int = 3) -> Path:
    """A CSV of ``DOCUMENTS`` documents (text,label), 2 or 3 sentences each, the labels in turn."""
    rng, labels = random.Random(seed), list(TOPICS)
    rows = ["text,label"]
    for i in range(DOCUMENTS):
        label = labels[i % len(labels)]
        text = " ".join(_sentence(rng, label) for _ in range(rng.choice((2, 3))))
        rows.append(f'"{text}",{label}')
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def write_pairs(path: Path, *, seed: int = 5) -> Path:
    """A JSONL file of ``PAIRS`` sentence pairs (text_a, text_b, label): 1 when both share a topic."""
    rng, labels = random.Random(seed), list(TOPICS)
    lines = []
    for i in range(PAIRS):
        label_a = labels[i % len(labels)]
        label_b = label_a if i % 2 else rng.choice([x for x in labels if x != label_a])
        lines.append(json.dumps({"text_a": _sentence(rng, label_a), "text_b": _sentence(rng, label_b),
                                 "label": int(label_a == label_b)}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


MODELS = {
    "han": {"family": "han", "embed_dim": 8, "hidden_dim": 6, "attention_dim": 6},
    "classifier": {"family": "classifier", "embed_dim": 8, "num_heads": 2, "ff_dim": 16, "max_positions": 64},
    "matcher": {"family": "matcher", "embed_dim": 8, "hidden_dim": 6},
}


def config(kind: str, corpus: Path) -> dict:
    """The tiny configuration of ``kind`` (a key of ``MODELS``) over a corpus file."""
    model = MODELS[kind]
    return {"name": f"tiny_{kind}", "seed": 11,
            "data": {"corpus": "files", "train": {"src": str(corpus)}, "dev": {"src": str(corpus)},
                     "tokenizer": {"min_freq": 1}},
            "model": model,
            "train": {"max_steps": 4, "eval_every": 4, "save_every": 4, "max_tokens": 500, "threads": 1}}


def train_tiny(kind: str, root: Path) -> Path:
    """Write the corpus of ``kind`` under ``root`` and train on it; returns the model directory."""
    from attnkit.config import validate_config
    from attnkit.training import train

    root.mkdir(parents=True, exist_ok=True)
    corpus = write_pairs(root / "pairs.jsonl") if kind == "matcher" else write_documents(root / "docs.csv")
    out = root / f"tiny_{kind}"
    train(validate_config(config(kind, corpus)), out, resume=False, progress=False)
    return out


_TRAINED: dict[str, Path] = {}


def tiny_labelled_dir(kind: str, tmp_path_factory) -> Path:
    """The model directory of ``kind``, trained on the first call of the session (tests must not change it)."""
    if kind not in _TRAINED:
        _TRAINED[kind] = train_tiny(kind, tmp_path_factory.mktemp(f"tiny_{kind}"))
    return _TRAINED[kind]
