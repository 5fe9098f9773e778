"""An HTML evaluation report: metrics, training curves, and the best and worst sentences with their attention.

The report is one self-contained directory (``index.html`` plus the PNGs it shows). Sentences are ranked
by sentence-level chrF (sacrebleu); ties keep corpus order. Drawing a heatmap is the caller's business
(``render``), so this module stays free of the plotting layer.
"""

from __future__ import annotations

import html
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sacrebleu

from attnkit.training.evaluate import EvaluationRun
from attnkit.training.translator import Translation

__all__ = ["GalleryItem", "metrics_table", "rank_examples", "write_report"]

Render = Callable[[Translation, Path], Path]
_LABELS = {"bleu": "BLEU", "chrf": "chrF", "exact_match": "exact match (%)",
           "aer": "alignment error rate (0-1, lower is better)", "sentences": "sentences", "beam": "beam size",
           "evaluated_on": "evaluated on", "aer_method": "AER links", "bleu_signature": "BLEU signature",
           "chrf_signature": "chrF signature"}


@dataclass
class GalleryItem:
    index: int  # position in the evaluated corpus
    chrf: float  # sentence chrF
    source: str
    reference: str
    translation: Translation


def rank_examples(run: EvaluationRun) -> list[GalleryItem]:
    """Every evaluated sentence with its sentence chrF, best first (ties in corpus order)."""
    items = [GalleryItem(i, sacrebleu.sentence_chrf(t.text, [p.tgt]).score, p.src, p.tgt, t)
             for i, (p, t) in enumerate(zip(run.pairs, run.best, strict=True))]
    return sorted(items, key=lambda it: (-it.chrf, it.index))


def _curves(model_dir: Path, out_dir: Path) -> str | None:
    """Copy ``curves.png`` next to the report, or re-plot it from ``history.json``; its file name or None."""
    target = out_dir / "curves.png"
    if (model_dir / "curves.png").is_file():
        shutil.copyfile(model_dir / "curves.png", target)
        return target.name
    history_path = model_dir / "history.json"
    if history_path.is_file():
        from attnkit.training.loop import _plot_curves
        from attnkit.training.tasks import TranslationTask

        history = json.loads(history_path.read_text(encoding="utf-8")).get("history", [])
        _plot_curves(history, target, TranslationTask.curve_metrics)
        return target.name if target.is_file() else None
    return None


def metrics_table(result: dict, labels: dict[str, str]) -> str:
    """An HTML table of the metrics of ``result`` named in ``labels`` (key -> row title), in that order:
    AER with 4 decimals, other floats with 2, None as n/a."""
    rows = []
    for key, label in labels.items():
        if key in result:
            value = result[key]
            shown = ("n/a" if value is None else f"{value:.4f}" if key == "aer" else
                     f"{value:.2f}" if isinstance(value, float) else str(value))
            rows.append(f"<tr><th>{html.escape(label)}</th><td>{html.escape(shown)}</td></tr>")
    return "<table class=\"metrics\">" + "".join(rows) + "</table>"


def _gallery(title: str, items: list[GalleryItem], prefix: str, out_dir: Path, render: Render) -> str:
    cards = []
    for rank, it in enumerate(items, 1):
        image = render(it.translation, out_dir / f"{prefix}_{rank:02d}.png")
        cards.append(
            f"<div class=\"card\"><p><b>#{it.index + 1}</b> chrF {it.chrf:.1f}</p>"
            f"<p class=\"src\">source: {html.escape(it.source)}</p>"
            f"<p>reference: {html.escape(it.reference)}</p>"
            f"<p>translation: <b>{html.escape(it.translation.text)}</b></p>"
            f"<img src=\"{html.escape(image.name)}\" alt=\"attention of sentence {it.index + 1}\"></div>")
    return f"<h2>{html.escape(title)}</h2>\n<div class=\"gallery\">" + "\n".join(cards) + "</div>"


def write_report(out_dir: str | Path, model_dir: str | Path, run: EvaluationRun, render: Render, *,
                 examples: int = 5) -> Path:
    """Write ``out_dir/index.html`` with the metrics of ``run``, the training curves of ``model_dir`` and
    the ``examples`` best and worst sentences, each drawn by ``render(translation, png_path)``."""
    out_dir, model_dir = Path(out_dir), Path(model_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ranked = rank_examples(run)
    best = ranked[:examples]
    shown = {it.index for it in best}
    worst = [it for it in reversed(ranked) if it.index not in shown][:examples]
    curves = _curves(model_dir, out_dir)
    curves_html = (f"<img src=\"{curves}\" alt=\"training curves\">" if curves
                   else "<p>no training history in the model directory</p>")
    body = "\n".join([
        f"<h1>Evaluation of {html.escape(model_dir.name or str(model_dir))}</h1>",
        f"<p>model directory: <code>{html.escape(str(model_dir))}</code></p>",
        "<h2>Metrics</h2>", metrics_table(run.result, _LABELS),
        "<h2>Training curves</h2>", curves_html,
        _gallery(f"Best {len(best)} sentences (sentence chrF)", best, "best", out_dir, render),
        _gallery(f"Worst {len(worst)} sentences (sentence chrF)", worst, "worst", out_dir, render),
    ])
    style = ("body{font-family:sans-serif;margin:1.5em;max-width:80em}table.metrics{border-collapse:collapse}"
             "table.metrics th,table.metrics td{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
             ".gallery{display:flex;flex-wrap:wrap;gap:1em}.card{border:1px solid #ddd;padding:.5em;max-width:100%}"
             ".card img{max-width:100%}.src{font-family:monospace}")
    path = out_dir / "index.html"
    path.write_text(f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>attnkit report: "
                    f"{html.escape(model_dir.name)}</title><style>{style}</style></head><body>\n{body}\n"
                    f"</body></html>\n", encoding="utf-8")
    return path
