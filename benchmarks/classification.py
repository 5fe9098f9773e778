"""Attention for classification: HAN vs its no-attention variant vs TF-IDF + logistic regression, and
co-attention matching vs the same encoders without co-attention vs TF-IDF cosine. One table.

    # train every model (two at a time, one thread each, --minutes each), then score on test:
    python benchmarks/classification.py --train --minutes 12
    # score models trained earlier in --runs (runs/bench_<dataset>_<variant>):
    python benchmarks/classification.py
    # several seeds per model (runs/bench_<dataset>_<variant>_seed<S>): mean, spread and range over seeds
    python benchmarks/classification.py --train --datasets kjv_web --minutes 10 --seeds 1 2 3

Document datasets: ``debian`` (package description -> Section), ``wordnet`` (gloss -> supersense),
``fortunes`` (fortune -> file); matching: ``kjv_web`` (paraphrase) and ``es_en`` (translation). Each
neural model trains from the shipped recipe (``configs/han_*.yaml``, ``configs/match_*.yaml``) with the
same budget; the variant turns attention off (``model.pooling=mean``; ``model.coattention=false`` with
``model.coattention_words=false``, which needs co-attention). The
scores are test-split macro-F1 and accuracy; the table and the command go to ``docs/classification.md``
below its prose unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from common import ROOT, train_side_by_side, write_below_prose

DOCS = ("debian", "wordnet", "fortunes")
MATCHES = ("kjv_web", "es_en")
# One results section per kind, so that documents and matching can be re-measured apart.
MARKERS = {"documents": "<!-- results: written by benchmarks/classification.py -->",
           "matching": "<!-- results (matching): written by benchmarks/classification.py -->"}


def _jobs(datasets: list[str]) -> list[tuple[str, str, str, list[str]]]:
    """``(dataset, variant, config, overrides)`` of every neural model to train."""
    jobs = []
    for d in datasets:
        if d in DOCS:
            jobs += [(d, "han", f"configs/han_{d}.yaml", []),
                     (d, "han_mean", f"configs/han_{d}.yaml", ["model.pooling=mean"])]
        else:
            jobs += [(d, "coattention", f"configs/match_{d}.yaml", []),
                     (d, "no_coattention", f"configs/match_{d}.yaml",
                      ["model.coattention=false", "model.coattention_words=false"])]
    return jobs


def _model_dir(runs: Path, d: str, variant: str, seed: int | None) -> Path:
    return runs / (f"bench_{d}_{variant}" + ("" if seed is None else f"_seed{seed}"))


def _neural(model_dir: Path) -> dict:
    from attnkit.training.labelled import evaluate_labelled

    t0 = time.perf_counter()
    result = evaluate_labelled(model_dir, split="test")
    history = json.loads((model_dir / "history.json").read_text())
    return {"macro_f1": result["macro_f1"], "accuracy": result["accuracy"], "examples": result["examples"],
            "train_min": history["train_minutes"], "steps": history["steps"], "test_s": time.perf_counter() - t0}


def _tfidf(d: str) -> dict:
    from attnkit.evaluation.baselines import tfidf_cosine_match, tfidf_logreg
    from attnkit.evaluation.classification import classification_metrics

    t0 = time.perf_counter()
    if d in DOCS:
        from attnkit.data.documents import load_documents

        train, test = load_documents(d, "train"), load_documents(d, "test")
        gold, pred = [x.label for x in test], tfidf_logreg(train, test)
    else:
        from attnkit.data.matching import load_bible_matching

        variant = "paraphrase" if d == "kjv_web" else "translation"
        train, test = load_bible_matching(variant, "train"), load_bible_matching(variant, "test")
        gold, pred = [str(p.label) for p in test], [str(x) for x in tfidf_cosine_match(train, test)]
    m = classification_metrics(gold, pred, sorted(set(gold) | set(pred)))
    return {"macro_f1": m["macro_f1"], "accuracy": m["accuracy"], "examples": len(gold), "train_min": None,
            "steps": None, "test_s": time.perf_counter() - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=[*DOCS, *MATCHES], choices=[*DOCS, *MATCHES])
    parser.add_argument("--train", action="store_true", help="train the neural models first")
    parser.add_argument("--minutes", type=float, default=12, help="training budget per model (default 12)")
    parser.add_argument("--minutes-for", nargs="*", default=[], metavar="DATASET=MIN",
                        help="a different budget for some datasets, e.g. debian=25 (the bar allows 30)")
    parser.add_argument("--parallel", type=int, default=2, help="models trained at once (default 2)")
    parser.add_argument("--seeds", nargs="+", type=int, default=None, metavar="SEED",
                        help="train every neural model once per seed (overriding the recipe's seed; the data "
                             "splits do not depend on it) and report the mean and spread over seeds")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "classification.md")
    args = parser.parse_args()
    jobs = _jobs(args.datasets)
    minutes = {d: args.minutes for d in args.datasets}
    for item in args.minutes_for:
        name, _, value = item.partition("=")
        if name not in minutes or not value:
            parser.error(f"--minutes-for {item!r}: expected DATASET=MINUTES with a dataset of --datasets")
        minutes[name] = float(value)
    seeds = args.seeds or [None]
    if args.train:
        train_side_by_side([(f"{d}/{variant}" + (f"/seed {seed}" if seed is not None else ""), config,
                             [*overrides, f"train.time_limit_minutes={minutes[d]}",
                              *([] if seed is None else [f"seed={seed}"])], _model_dir(args.runs, d, variant, seed))
                            for d, variant, config, overrides in jobs for seed in seeds], args.parallel)
    command = "python benchmarks/classification.py " + " ".join(sys.argv[1:])
    for kind, names in (("documents", DOCS), ("matching", MATCHES)):
        datasets = [d for d in args.datasets if d in names]
        if not datasets:
            continue
        rows = []
        for d in datasets:
            rows.append((d, "tfidf_logreg" if d in DOCS else "tfidf_cosine", _tfidf(d)))
            rows += [(d, variant, _over_seeds([_neural(_model_dir(args.runs, d, variant, seed)) for seed in seeds]))
                     for dd, variant, _, _ in jobs if dd == d]
        table = _table(rows)
        print(table)
        if args.out:
            write_below_prose(args.out, MARKERS[kind], command, table)


def _over_seeds(results: list[dict]) -> dict:
    """One model's scores over its seeds: the mean, and every seed's value for the spread."""
    if len(results) == 1:
        return results[0]
    merged = {k: statistics.mean(r[k] for r in results) for k in ("macro_f1", "accuracy", "train_min", "steps")}
    merged.update(examples=results[0]["examples"], per_seed={k: [r[k] for r in results]
                                                            for k in ("macro_f1", "accuracy")})
    return merged


def _score(r: dict, key: str) -> str:
    """``98.81``, or over seeds ``98.81 ± 0.10 (98.67-98.96)`` (mean, sample standard deviation, range)."""
    values = r.get("per_seed", {}).get(key)
    if not values:
        return f"{r[key]:.2f}"
    return f"{r[key]:.2f} ± {statistics.stdev(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def _table(rows: list[tuple[str, str, dict]]) -> str:
    lines = ["| dataset | model | macro-F1 | accuracy | test examples | train min | steps | seeds |", "|" + "---|" * 8]
    for d, name, r in rows:
        tm = "" if r["train_min"] is None else f"{r['train_min']:.1f}"
        steps = "" if r["steps"] is None else f"{r['steps']:.0f}"
        seeds = len(r.get("per_seed", {}).get("accuracy", [])) or ("" if r["train_min"] is None else 1)
        lines.append(f"| {d} | {name} | {_score(r, 'macro_f1')} | {_score(r, 'accuracy')} | {r['examples']} | {tm} | "
                     f"{steps} | {seeds} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
