"""Evaluate a classifier or matcher directory: accuracy, macro-F1, a confusion matrix, and an HTML report.

:func:`evaluate_labelled` scores a split of the model's corpus (or a labelled file), writes the confusion
matrix as a PNG beside the model and merges the scores into ``metrics.json`` under the split's name.
:func:`write_labelled_report` turns that result into a self-contained report directory: the metrics,
training curves, the confusion matrix, and a gallery of the most confident right and wrong predictions
with their attention (word/sentence highlights for documents, co-attention heatmaps for pairs).
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

from attnkit.data.documents import read_labelled
from attnkit.data.matching import read_text_pairs
from attnkit.evaluation.classification import classification_metrics, plot_confusion
from attnkit.training.checkpoint import write_json
from attnkit.training.classify import (
    PAIR_LABELS,
    DocumentClassifier,
    PairMatcher,
    load_documents_split,
    load_pairs_split,
)
from attnkit.training.tasks import read_model_config

__all__ = ["evaluate_labelled", "model_task", "write_labelled_report"]

GALLERY = 5  # right and wrong examples each in the report


def model_task(model_dir: str | Path) -> str:
    """``translate``, ``classify``, ``match``, ...: what the model in ``model_dir`` does."""
    return read_model_config(model_dir).model.task


def _examples(model_dir: Path, split: str, file: str | None):
    """``(inputs, gold labels, predictor, where)`` of the model's task on a split or a file."""
    config = read_model_config(model_dir)
    d = config.data
    if config.model.task == "classify":
        docs = (read_labelled(file, text_field=d.text_field, label_field=d.label_field) if file
                else load_documents_split(d, split))
        return [x.text for x in docs], [x.label for x in docs], DocumentClassifier.from_dir(model_dir)
    pairs = (read_text_pairs(file, a_field=f"{d.text_field}_a", b_field=f"{d.text_field}_b",
                             label_field=d.label_field) if file else load_pairs_split(d, split))
    return [(p.a, p.b) for p in pairs], [PAIR_LABELS[p.label] for p in pairs], PairMatcher.from_dir(model_dir)


def _predict(predictor, inputs, attention: bool):
    if isinstance(predictor, DocumentClassifier):
        return predictor.classify(inputs, attention=attention)
    return predictor.match(inputs, attention=attention)


def evaluate_labelled(model_dir: str | Path, *, split: str = "test", file: str | None = None) -> dict:
    """Score the model; returns the metrics plus what the report needs (predictions, gallery)."""
    model_dir = Path(model_dir)
    inputs, gold, predictor = _examples(model_dir, split, file)
    preds = _predict(predictor, inputs, attention=False)
    names = predictor.labels.names
    metrics = classification_metrics(gold, [p.label for p in preds], names)
    where = file or f"{split} split"
    stem = "file" if file else split
    confusion_png = plot_confusion(metrics["confusion"], names, model_dir / f"confusion_{stem}.png")
    scores = {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"], "examples": len(gold),
              "evaluated_on": where}
    path = model_dir / "metrics.json"
    saved = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    saved[stem] = scores
    write_json(path, saved)
    # Gallery: the most confident right and wrong predictions, recomputed with their attention.
    confidence = [p.probs[p.label] for p in preds]
    right = sorted((i for i, p in enumerate(preds) if p.label == gold[i]), key=lambda i: -confidence[i])[:GALLERY]
    wrong = sorted((i for i, p in enumerate(preds) if p.label != gold[i]), key=lambda i: -confidence[i])[:GALLERY]
    shown = right + wrong
    detailed = _predict(predictor, [inputs[i] for i in shown], attention=True) if shown else []
    gallery = [{"index": i, "gold": gold[i], "right": i in right, "prediction": p}
               for i, p in zip(shown, detailed, strict=True)]
    return {**scores, "per_class_f1": metrics.get("per_class_f1"), "confusion_png": str(confusion_png),
            "labels": names, "gallery": gallery, "task": "classify" if isinstance(predictor, DocumentClassifier)
            else "match"}


def _gallery_item(item: dict, directory: Path, n: int) -> str:
    from attnkit.viz import highlight_html
    from attnkit.viz.classify import write_coattention_plot

    p = item["prediction"]
    verdict = "right" if item["right"] else "wrong"
    head = (f"<h3>#{item['index'] + 1}: predicted <b>{html.escape(p.label)}</b> ({p.probs[p.label]:.2f}), "
            f"gold <b>{html.escape(item['gold'])}</b> &mdash; {verdict}</h3>")
    if hasattr(p, "tokens_a"):
        body = (f"<p><b>a:</b> {html.escape(' '.join(p.tokens_a))}<br><b>b:</b> {html.escape(' '.join(p.tokens_b))}"
                "</p>")
        png = write_coattention_plot(p, directory / f"example_{n:02d}.png")
        if png is not None:
            body += f'<img src="{png.name}" alt="co-attention of example {n}" style="max-width:100%">'
        return head + body
    if p.word_weights is None:
        return head + f"<p>{html.escape(' '.join(w for s in p.tokens for w in s))}</p>"
    page = directory / f"example_{n:02d}.html"
    highlight_html(p.tokens, p.word_weights, sentence_weights=p.sentence_weights, label=p.label, path=page)
    return head + (f'<iframe src="{page.name}" title="attention of example {n}" '
                   'style="width:100%;height:16em;border:1px solid #ccc"></iframe>')


def write_labelled_report(report_dir: str | Path, model_dir: str | Path, result: dict) -> Path:
    """Write ``report_dir/index.html`` (and the pictures it shows); returns its path."""
    out, model_dir = Path(report_dir), Path(model_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"<tr><th>{k}</th><td>{html.escape(str(result[k]))}</td></tr>"
                   for k in ("accuracy", "macro_f1", "examples", "evaluated_on"))
    pictures = []
    shown = (("training curves", model_dir / "curves.png"), ("confusion matrix", Path(result["confusion_png"])))
    for name, src in shown:
        if src.is_file():
            shutil.copy(src, out / src.name)
            pictures.append(f'<h2>{name}</h2><img src="{src.name}" alt="{name}" style="max-width:100%">')
    items = [_gallery_item(item, out, n) for n, item in enumerate(result["gallery"], 1)]
    doc = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>attnkit report</title><style>"
           "body{font-family:sans-serif;max-width:70em;margin:1em auto}th{text-align:left;padding-right:1em}"
           "</style></head><body>"
           f"<h1>{html.escape(model_dir.name)}: {result['task']} report</h1><table>{rows}</table>"
           + "".join(pictures)
           + f"<h2>most confident right and wrong predictions</h2>{''.join(items) or '<p>none</p>'}</body></html>\n")
    path = out / "index.html"
    path.write_text(doc, encoding="utf-8")
    return path
