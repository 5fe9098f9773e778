"""Attention over pixels and frames: soft vs hard captioning attention on fashion scenes, temporal attention
on clips, and RAM's glimpses against a CNN on cluttered Fashion-MNIST. One table.

    # train every recipe (two at a time, one thread each, each within its 30-minute limit), then score:
    python benchmarks/vision.py --train
    # score models trained earlier (runs/<recipe name>):
    python benchmarks/vision.py

Recipes: ``configs/caption_scenes_soft.yaml``, ``caption_scenes_hard.yaml``, ``caption_clips.yaml``,
``ram_cluttered.yaml`` and ``cnn_cluttered.yaml`` (also without the clutter: ``ram_translated``,
``cnn_translated``, the translated 60 x 60 canvases of the issue's RAM bar), the soft captioner again with each region's
position added to its features (``model.region_positions=true``), the video captioner again as it was
before 2026-12-02 (each frame mean-pooled, the doubly stochastic penalty, a wider CNN without the frame
differences: ``caption_clips_mean``), and the CNN once more on single 28 x 28 items without clutter
(``cnn_items``), which says how well the scenes' items can be recognised one by one.
Every model is scored on its corpus's test split (1,000 generated scenes, clips or images,
the same for every model): captioners by BLEU-4, exact caption match and where their attention falls
(pointing accuracy for scenes, word -> frame alignment for clips), image classifiers by accuracy (RAM
also by the share of glimpses centred on the item). The table and the command go to ``docs/vision.md``
below its prose unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from common import ROOT, train_side_by_side, write_below_prose

RECIPES = {  # run name -> (what the row says, recipe, overrides)
    "caption_scenes_soft": ("captioner, soft attention (scenes)", "caption_scenes_soft", []),
    "caption_scenes_hard": ("captioner, hard attention (scenes)", "caption_scenes_hard", []),
    "caption_scenes_soft_positions": ("captioner, soft attention + region positions (scenes)", "caption_scenes_soft",
                                      ["model.region_positions=true"]),
    "caption_clips": ("video captioner, frame differences into the CNN, 3 x 3 grid (clips)", "caption_clips", []),
    "caption_clips_mean": ("video captioner, frames mean-pooled, doubly stochastic, wider CNN (clips; the recipe "
                           "before 2026-12-02)", "caption_clips",
                           ["model.frame_pool=mean", "model.frame_difference=false", "model.doubly_stochastic=1",
                            "model.channels=[32,64,128]"]),
    "ram_cluttered": ("RAM, 6 glimpses (cluttered 60 x 60)", "ram_cluttered", []),
    "cnn_cluttered": ("CNN (cluttered 60 x 60)", "cnn_cluttered", []),
    # The RAM bar reads "60 x 60 translated": the same canvases without the clutter.
    "ram_translated": ("RAM, 6 glimpses (translated 60 x 60, no clutter)", "ram_cluttered", ["data.clutter=0"]),
    "cnn_translated": ("CNN (translated 60 x 60, no clutter)", "cnn_cluttered", ["data.clutter=0"]),
    "cnn_items": ("CNN, one 28 x 28 item, no clutter (what recognising an item alone reaches)", "cnn_cluttered",
                  ["data.image_size=28", "data.clutter=0"]),
}
COLUMNS = ("bleu", "exact_match", "items_right", "exact_if_items_right", "pointing", "frame_alignment", "accuracy",
           "glimpse_hits")
MARKER = "<!-- results: written by benchmarks/vision.py -->"


def _item_scores(result: dict) -> dict:
    """Scenes: the share of captions that name the scene's items right (as a set), and of those, the
    share that are exact: what recognising the items costs against what the rest of the caption costs."""
    from attnkit.data.fashion import WORDS

    right = exact = 0
    for caption, reference, scene in zip(result["predictions"], result["data"].captions, result["data"].items,
                                         strict=True):
        named = {w for w in caption.text.split() if w in WORDS}
        if named == {WORDS[label] for label in scene.labels}:
            right += 1
            exact += caption.text == reference
    return {"items_right": 100 * right / len(result["predictions"]),
            "exact_if_items_right": 100 * exact / right if right else None}


def _score(model_dir: Path) -> dict:
    from attnkit.training.labelled import model_task
    from attnkit.training.vision import evaluate_captioner, evaluate_image_classifier

    t0 = time.perf_counter()
    if model_task(model_dir) == "caption":
        result = evaluate_captioner(model_dir, split="test")
        if "pointing" in result:
            result.update(_item_scores(result))
    else:
        result = evaluate_image_classifier(model_dir, split="test")
    history = json.loads((model_dir / "history.json").read_text(encoding="utf-8"))
    return {**{k: result.get(k) for k in COLUMNS}, "examples": result["examples"],
            "train_min": history["train_minutes"], "steps": history["steps"], "best_step": history["best_step"],
            "test_s": time.perf_counter() - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--train", action="store_true", help="train the recipes first")
    parser.add_argument("--parallel", type=int, default=2, help="models trained at once (default 2)")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "vision.md")
    args = parser.parse_args()
    if args.train:
        train_side_by_side([(name, f"configs/{RECIPES[name][1]}.yaml", RECIPES[name][2], args.runs / name)
                            for name in args.recipes], args.parallel)
    header = ("| model (recipe) | BLEU-4 | exact caption (%) | items named right (%) | exact when they are (%) | "
              "pointing (%) | word -> frame (%) | accuracy (%) | glimpses on the item (%) | test examples | "
              "train min | steps (best) |")
    lines = [header, "|" + "---|" * 12]
    for name in args.recipes:
        r = _score(args.runs / name)
        cells = ["" if r[k] is None else f"{r[k]:.2f}" for k in COLUMNS]
        label, recipe, overrides = RECIPES[name]
        recipe = " ".join([recipe, *overrides])
        lines.append(f"| {label} (`{recipe}`) | {' | '.join(cells)} | {r['examples']} | {r['train_min']:.1f} | "
                     f"{r['steps']} ({r['best_step']}) |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        write_below_prose(args.out, MARKER, "python benchmarks/vision.py " + " ".join(sys.argv[1:]), table)


if __name__ == "__main__":
    main()
