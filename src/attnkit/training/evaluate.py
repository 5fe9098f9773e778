"""Score a model directory on a built-in split or on user files; record the result in metrics.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from attnkit.config import load_config
from attnkit.data import Pair, read_parallel
from attnkit.errors import DataError
from attnkit.evaluation.alignment import corpus_aer, hard_alignment, to_chars
from attnkit.evaluation.metrics import translation_metrics
from attnkit.training.checkpoint import write_json
from attnkit.training.corpus import load_split
from attnkit.training.translator import Translation, Translator

__all__ = ["AER_METHODS", "EvaluationRun", "alignment_error_rates", "evaluate_model_dir", "run_evaluation"]

HEADLINE = ("bleu", "chrf", "exact_match", "aer")


@dataclass
class EvaluationRun:
    """What one evaluation produced: the scores and, per sentence, the best translation."""

    result: dict
    pairs: list[Pair]
    best: list[Translation]
    translator: Translator


def _pairs(model_dir: Path, split: str, src: str | None, ref: str | None) -> tuple[list[Pair], str]:
    if (src is None) != (ref is None):
        raise DataError("give both --src and --ref (parallel files), or neither to use --split")
    if src is not None:
        return read_parallel(src, ref).pairs, f"files:{src}"
    config = load_config(model_dir / "config.yaml")
    return load_split(config.data, split, seed=config.seed), split


# Hard-alignment extractions scored by ``evaluate``: the first is the headline ``aer``.
AER_METHODS = (("argmax", 0.0), ("threshold", 0.5))


def alignment_error_rates(translator: Translator, pairs: list[Pair]) -> dict[str, float] | None:
    """Corpus AER of the model's forced alignment of the gold targets against the gold character links,
    for each extraction in :data:`AER_METHODS` (keys ``argmax``, ``threshold@0.5``).

    Hard links come from each target token's attention row (the EOS row dropped), mapped to characters
    through the tokenizers' spans (the identity for character tokenizers). Only pairs with gold
    alignments count; None when there are none.
    """
    gold = [p for p in pairs if p.sure is not None]
    if not gold:
        return None
    attns = translator.align([p.src for p in gold], [p.tgt for p in gold])
    rates = {}
    for method, threshold in AER_METHODS:
        items = []
        for pair, attn in zip(gold, attns, strict=True):
            links = hard_alignment(attn[:-1], method, threshold=threshold)  # [T, S] without the EOS row
            chars = to_chars(links, translator.src_tok.spans(pair.src), translator.tgt_tok.spans(pair.tgt))
            items.append((pair.sure, pair.possible or (), chars))
        rates[method if method == "argmax" else f"{method}@{threshold}"] = corpus_aer(items)
    return rates


def run_evaluation(model_dir: str | Path, *, split: str = "test", src: str | None = None, ref: str | None = None,
                   beam: int | None = None) -> EvaluationRun:
    """Translate and score (BLEU, chrF, exact match with sacrebleu signatures, and ``aer`` where the pairs
    carry gold alignments); nothing is written."""
    model_dir = Path(model_dir)
    translator = Translator.from_dir(model_dir)
    pairs, name = _pairs(model_dir, split, src, ref)
    beam = beam or translator.decode.beam
    best = [h[0] for h in translator.translate([p.src for p in pairs], beam=beam)]
    result = {**translation_metrics([h.text for h in best], [p.tgt for p in pairs]), "beam": beam,
              "evaluated_on": name}
    rates = alignment_error_rates(translator, pairs)
    if rates is not None:
        result["aer"] = rates["argmax"]
        result["aer_by_method"] = rates
        result["aer_method"] = "forced alignment of the reference, argmax, characters"
    return EvaluationRun(result, pairs, best, translator)


def evaluate_model_dir(model_dir: str | Path, *, split: str = "test", src: str | None = None,
                       ref: str | None = None, beam: int | None = None, hyps_out: str | None = None,
                       run: EvaluationRun | None = None) -> dict:
    """Translate, score and merge into metrics.json; returns the scores.

    ``metrics.json`` keeps the training-time ``dev`` entry and gains, at the top level, the keys
    ``bleu``, ``chrf``, ``exact_match`` (and ``aer`` where gold alignments exist) of this evaluation,
    plus an entry named after what was scored. Pass ``run`` to record an evaluation already made.
    """
    model_dir = Path(model_dir)
    run = run or run_evaluation(model_dir, split=split, src=src, ref=ref, beam=beam)
    result = run.result
    if hyps_out:
        Path(hyps_out).write_text("".join(h.text + "\n" for h in run.best), encoding="utf-8")
    path = model_dir / "metrics.json"
    metrics = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    metrics[result["evaluated_on"]] = result
    for key in HEADLINE:  # the top level always describes the latest evaluation
        if key in result:
            metrics[key] = result[key]
        else:
            metrics.pop(key, None)
    write_json(path, metrics)
    return result
