"""An HTML evaluation report of a captioner or an image classifier: metrics, training curves and a gallery.

Built from what :func:`~attnkit.training.vision.evaluate_captioner` and
:func:`~attnkit.training.vision.evaluate_image_classifier` return, as one self-contained directory
(``index.html`` plus the PNGs it shows), like the translation and classification reports:

- captioners (``captioner``, ``video_captioner``): the evaluated captions ranked by sentence BLEU against
  their reference (sacrebleu's default exponential smoothing; ties keep corpus order), and the best and worst
  few, each with its generated and reference caption and its attention: the image and one overlay per word
  (scenes, with the words that point inside the item they name) or the clip's frame strip with each word's
  attention over the frames (clips);
- image classifiers (``ram``, ``cnn_classifier``): the confusion matrix and the most confident right and
  wrong predictions and the least confident ones, each with the image (RAM: its glimpse path), the item's
  box, the gold class and the most probable classes.

Pictures come from :mod:`attnkit.viz` (and :func:`~attnkit.evaluation.classification.plot_confusion`),
imported where they are drawn, so importing this module loads no plotting library.
"""
# N examples, T words, R = h * w regions, F frames, G glimpses

from __future__ import annotations

import html
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sacrebleu

from attnkit.data.fashion import WORDS
from attnkit.evaluation.vision import glimpse_hits, pointing_hits
from attnkit.training.report import metrics_table
from attnkit.training.tasks import read_model_config
from attnkit.training.vision import Caption, ImagePrediction, VisionSplit

__all__ = ["GALLERY", "CaptionExample", "rank_captions", "write_vision_report"]

GALLERY = 5  # examples per gallery
TOP_CLASSES = 3  # probabilities shown per image
PIXEL_SCALE = 4  # a plain image (no attention to draw) is enlarged this many times, nearest neighbour
_LABELS = {"bleu": "BLEU-4", "exact_match": "exact caption match (%)", "pointing": "pointing accuracy (%)",
           "pointed_words": "words scored for pointing", "frame_alignment": "word -> frame alignment (%)",
           "aligned_words": "words scored for alignment", "accuracy": "accuracy (%)", "macro_f1": "macro-F1 (%)",
           "glimpse_hits": "glimpses centred on the item (%)", "beam": "beam size", "examples": "examples",
           "evaluated_on": "evaluated on", "bleu_signature": "BLEU signature"}
_STYLE = ("body{font-family:sans-serif;margin:1.5em;max-width:80em}table.metrics{border-collapse:collapse}"
          "table.metrics th,table.metrics td{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
          ".gallery{display:flex;flex-direction:column;gap:1em}.card{border:1px solid #ddd;padding:.5em}"
          ".card img{max-width:100%}.card p{margin:.3em 0}.row{display:flex;gap:1em;align-items:flex-start}"
          ".bar{display:inline-block;height:.8em;background:#1f77b4;margin-right:.4em}"
          ".right{color:#2a7a2a}.wrong{color:#b22222}")


@dataclass
class CaptionExample:
    index: int  # position in the evaluated split
    bleu: float  # sentence BLEU of the generated caption against the reference
    reference: str
    caption: Caption


def rank_captions(result: dict) -> list[CaptionExample]:
    """Every evaluated example of a captioner's ``result`` with its sentence BLEU, best first (ties in
    split order)."""
    refs = result["data"].captions
    items = [CaptionExample(i, sacrebleu.sentence_bleu(c.text, [ref]).score, ref, c)
             for i, (c, ref) in enumerate(zip(result["predictions"], refs, strict=True))]
    return sorted(items, key=lambda it: (-it.bleu, it.index))


def write_vision_report(report_dir: str | Path, model_dir: str | Path, result: dict, *,
                        examples: int = GALLERY) -> Path:
    """Write ``report_dir/index.html`` for the ``result`` of ``evaluate_captioner`` or
    ``evaluate_image_classifier`` on the model in ``model_dir``, with ``examples`` per gallery; returns its path."""
    out, model_dir = Path(report_dir), Path(model_dir)
    if result.get("task") not in ("caption", "classify_images") or "predictions" not in result:
        raise ValueError("write_vision_report needs the result of evaluate_captioner or evaluate_image_classifier "
                         "(with task, predictions and data)")
    if examples < 1:
        raise ValueError(f"examples must be at least 1, got {examples}")
    out.mkdir(parents=True, exist_ok=True)
    config = read_model_config(model_dir)
    if result["task"] == "caption":
        sections = _caption_sections(result, out, examples)
    else:
        m = config.model
        sections = _classifier_sections(result, out, examples, (m.glimpse_size, m.scales))
    body = "\n".join([
        f"<h1>Evaluation of {html.escape(model_dir.name or str(model_dir))}</h1>",
        f"<p>model directory: <code>{html.escape(str(model_dir))}</code>; family "
        f"<code>{html.escape(config.model.family)}</code>, corpus <code>{html.escape(config.data.corpus)}</code></p>",
        "<h2>Metrics</h2>", metrics_table(result, _LABELS),
        "<h2>Training curves</h2>", _curves(model_dir, out),
        *sections,
    ])
    path = out / "index.html"
    path.write_text(f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>attnkit report: "
                    f"{html.escape(model_dir.name)}</title><style>{_STYLE}</style></head><body>\n{body}\n"
                    f"</body></html>\n", encoding="utf-8")
    return path


def _curves(model_dir: Path, out: Path) -> str:
    """The training curves the run drew (``curves.png``), copied beside the report."""
    if not (model_dir / "curves.png").is_file():
        return "<p>no training curves (curves.png) in the model directory</p>"
    shutil.copyfile(model_dir / "curves.png", out / "curves.png")
    return "<img src=\"curves.png\" alt=\"training curves\">"


def _gallery(title: str, cards: list[str]) -> str:
    return f"<h2>{html.escape(title)}</h2>\n" + (f"<div class=\"gallery\">{''.join(cards)}</div>" if cards
                                                   else "<p>none</p>")


# --------------------------------------------------------------------------- captioners
def _caption_sections(result: dict, out: Path, examples: int) -> list[str]:
    ranked = rank_captions(result)
    best = ranked[:examples]
    shown = {it.index for it in best}
    worst = [it for it in reversed(ranked) if it.index not in shown][:examples]
    data = result["data"]
    return [_gallery(f"Best {len(best)} captions (sentence BLEU)",
                     [_caption_card(it, data, out / f"best_{n:02d}.png") for n, it in enumerate(best, 1)]),
            _gallery(f"Worst {len(worst)} captions (sentence BLEU)",
                     [_caption_card(it, data, out / f"worst_{n:02d}.png") for n, it in enumerate(worst, 1)])]


def _caption_card(item: CaptionExample, data: VisionSplit, png: Path) -> str:
    """One example: its scores, both captions, and its attention drawn into ``png``."""
    from attnkit.viz import plot_frame_strip, plot_word_overlays

    c, pixels = item.caption, data.pixels[item.index].numpy()  # [H, W] or [F, H, W]
    exact = "exact" if c.text.strip() == item.reference.strip() else "not exact"
    facts = [f"<b>#{item.index + 1}</b>", f"sentence BLEU {item.bleu:.1f}", exact]
    if c.grid is None:
        plot_frame_strip(pixels, c.attn, c.tokens, png)
    else:
        h, w = c.grid
        plot_word_overlays(pixels, c.attn.reshape(len(c.tokens), h, w), c.tokens, png)
        scene = data.items[item.index]
        hits = pointing_hits(c.tokens, c.attn, c.grid, tuple(pixels.shape), scene.labels, scene.boxes, WORDS)
        if hits:
            facts.append(f"pointing {sum(hits)}/{len(hits)} item words")
    return (f"<div class=\"card\"><p>{' &middot; '.join(facts)}</p>"
            f"<p>reference: {html.escape(item.reference)}</p>"
            f"<p>generated: {f'<b>{html.escape(c.text)}</b>' if c.text else '<i>(empty)</i>'}</p>"
            f"<img src=\"{png.name}\" alt=\"attention of example {item.index + 1}, word by word\"></div>")


# --------------------------------------------------------------------------- image classifiers
def _classifier_sections(result: dict, out: Path, examples: int, glimpse: tuple[int, int]) -> list[str]:
    from attnkit.evaluation.classification import classification_metrics, plot_confusion

    preds: list[ImagePrediction] = result["predictions"]
    gold, names = result["gold"], result["labels"]
    confusion = classification_metrics(gold, [p.label for p in preds], names)["confusion"]
    plot_confusion(confusion, names, out / "confusion.png", title=f"confusion ({result['evaluated_on']})")
    confidence = [p.probs[p.label] for p in preds]
    by_confidence = sorted(range(len(preds)), key=lambda i: (-confidence[i], i))  # most confident first
    right = [i for i in by_confidence if preds[i].label == gold[i]][:examples]
    wrong = [i for i in by_confidence if preds[i].label != gold[i]][:examples]
    shown = set(right + wrong)
    unsure = [i for i in reversed(by_confidence) if i not in shown][:examples]
    galleries = [("Right, most confident first", "right", right), ("Wrong, most confident first", "wrong", wrong),
                 ("Least confident (not shown above)", "unsure", unsure)]
    return ["<h2>Confusion matrix</h2><img src=\"confusion.png\" alt=\"confusion matrix\">"] + [
        _gallery(title, [_image_card(i, result, out / f"{stem}_{n:02d}.png", glimpse)
                         for n, i in enumerate(indices, 1)]) for title, stem, indices in galleries]


def _image_card(i: int, result: dict, png: Path, glimpse: tuple[int, int]) -> str:
    """One image: the prediction against the gold class, the top probabilities, and the picture in ``png``."""
    p: ImagePrediction = result["predictions"][i]
    data: VisionSplit = result["data"]
    image, box, gold = data.pixels[i].numpy(), data.boxes[i], result["gold"][i]  # [H, W]
    verdict = "right" if p.label == gold else "wrong"
    facts = [f"<b>#{i + 1}</b>", f"gold <b>{html.escape(gold)}</b>",
             f"predicted <b>{html.escape(p.label)}</b> ({p.probs[p.label]:.2f})",
             f"<span class=\"{verdict}\">{verdict}</span>"]
    if p.glimpses is not None:
        from attnkit.viz import plot_glimpse_path

        hits = glimpse_hits(p.glimpses, box, tuple(image.shape))
        facts.append(f"{sum(hits)}/{len(hits)} glimpses on the item")
        plot_glimpse_path(image, p.glimpses, png, glimpse_size=glimpse[0], scales=glimpse[1], box=box)
    else:
        _save_image(image, box, png)
    top = sorted(p.probs.items(), key=lambda kv: -kv[1])[:TOP_CLASSES]
    bars = "".join(f"<tr><td>{html.escape(name)}</td><td><span class=\"bar\" style=\"width:{100 * prob:.0f}px\">"
                   f"</span>{prob:.3f}</td></tr>" for name, prob in top)
    return (f"<div class=\"card\"><p>{' &middot; '.join(facts)}</p><div class=\"row\">"
            f"<img src=\"{png.name}\" alt=\"image {i + 1}\"><table>{bars}</table></div></div>")


def _save_image(image: np.ndarray, box, png: Path) -> None:
    """A grey uint8 image ``[H, W]`` enlarged :data:`PIXEL_SCALE` times, the item's box drawn in green."""
    from PIL import Image, ImageDraw

    H, W = image.shape
    picture = Image.fromarray(image).convert("RGB").resize((W * PIXEL_SCALE, H * PIXEL_SCALE), Image.NEAREST)
    x0, y0, x1, y1 = (int(v) * PIXEL_SCALE for v in box)
    ImageDraw.Draw(picture).rectangle((x0, y0, x1 - 1, y1 - 1), outline=(0, 220, 0))
    picture.save(png)
