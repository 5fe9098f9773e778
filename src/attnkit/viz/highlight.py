"""Word and sentence attention of a document classifier as shaded HTML (Yang et al. 2016, figures 5-6).

Each sentence is one line: a bar on the left whose shade is the sentence weight, then its words, each
on a background whose shade is the word weight. As in the HAN paper, a word's shade is its weight
scaled by the square root of its sentence's weight, so only important words in important sentences
stand out. The HTML is self-contained (inline styles, no scripts, no external assets).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["highlight_html"]

WORD_RGB = (31, 119, 180)  # blue words
SENTENCE_RGB = (214, 39, 40)  # red sentence bars


def _nested(tokens, weights) -> tuple[list[list[str]], list[np.ndarray]]:
    """Tokens and weights as lists of sentences; a flat token list is one sentence."""
    if tokens and isinstance(tokens[0], str):
        tokens, weights = [tokens], [weights]
    if len(tokens) != len(weights):
        raise ValueError(f"{len(tokens)} sentences of tokens but {len(weights)} of weights; they must pair up")
    out_t, out_w = [], []
    for i, (t, w) in enumerate(zip(tokens, weights, strict=True)):
        w = np.asarray(w, dtype=np.float64).reshape(-1)
        if len(t) != len(w):
            raise ValueError(f"sentence {i}: {len(t)} tokens but {len(w)} weights; give one weight per token")
        if not np.all(np.isfinite(w)) or (w < 0).any():
            raise ValueError(f"sentence {i}: weights must be finite and non-negative")
        out_t.append([str(x) for x in t])
        out_w.append(w)
    return out_t, out_w


def _shade(rgb: tuple[int, int, int], alpha: float) -> str:
    return f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{min(max(alpha, 0.0), 1.0):.3f})"


def highlight_html(tokens: Sequence[str] | Sequence[Sequence[str]], weights, *,
                   sentence_weights: Sequence[float] | None = None, title: str = "", label: str | None = None,
                   path: str | Path | None = None) -> str:
    """HTML highlighting words (and sentences) by attention weight; also written to ``path`` if given.

    ``tokens`` is one sentence (a list of words) or a document (a list of sentences); ``weights`` has
    the same nesting. ``sentence_weights`` (one per sentence) draws the sentence bars. ``label`` (e.g.
    the predicted class) is shown under the title. Returns the HTML document.
    """
    sentences, word_w = _nested(list(tokens), list(weights))
    if sentence_weights is not None:
        sent_w = np.asarray(sentence_weights, dtype=np.float64).reshape(-1)
        if len(sent_w) != len(sentences):
            raise ValueError(f"{len(sent_w)} sentence weights for {len(sentences)} sentences")
        sent_scale = np.sqrt(sent_w / sent_w.max()) if sent_w.max() > 0 else np.zeros_like(sent_w)
    else:
        sent_w, sent_scale = None, np.ones(len(sentences))
    lines = []
    for i, (words, w) in enumerate(zip(sentences, word_w, strict=True)):
        top = w.max() if w.size and w.max() > 0 else 1.0
        spans = " ".join(
            f'<span class="w" style="background:{_shade(WORD_RGB, x / top * sent_scale[i])}" '
            f'title="{x:.4f}">{html.escape(word)}</span>' for word, x in zip(words, w, strict=True))
        bar = ""
        if sent_w is not None:
            bar = (f'<span class="s" style="background:{_shade(SENTENCE_RGB, sent_w[i] / max(sent_w.max(), 1e-12))}" '
                   f'title="sentence weight {sent_w[i]:.4f}"></span>')
        lines.append(f'<div class="line">{bar}{spans}</div>')
    head = f"<h2>{html.escape(title)}</h2>" if title else ""
    if label is not None:
        head += f'<p class="label">label: <b>{html.escape(str(label))}</b></p>'
    doc = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>"
           f"{html.escape(title or 'attention')}</title><style>"
           "body{font-family:sans-serif;line-height:1.9;max-width:60em;margin:1em auto}"
           ".line{margin:.15em 0}.w{padding:.1em .15em;border-radius:.2em}"
           ".s{display:inline-block;width:1.2em;height:1em;margin-right:.6em;vertical-align:middle}"
           f"</style></head><body>{head}\n" + "\n".join(lines) + "\n</body></html>\n")
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(doc, encoding="utf-8")
    return doc
