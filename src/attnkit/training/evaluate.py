"""Score a model directory on a built-in split or on user files; record the result in metrics.json."""

from __future__ import annotations

import json
from pathlib import Path

from attnkit.config import load_config
from attnkit.data import read_parallel
from attnkit.errors import DataError
from attnkit.evaluation.metrics import translation_metrics
from attnkit.training.checkpoint import write_json
from attnkit.training.corpus import load_split
from attnkit.training.translator import Translator

__all__ = ["evaluate_model_dir"]


def _pairs(model_dir: Path, split: str, src: str | None, ref: str | None) -> tuple[list[str], list[str], str]:
    if (src is None) != (ref is None):
        raise DataError("give both --src and --ref (parallel files), or neither to use --split")
    if src is not None:
        data = read_parallel(src, ref)
        return [p.src for p in data.pairs], [p.tgt for p in data.pairs], f"files:{src}"
    config = load_config(model_dir / "config.yaml")
    pairs = load_split(config.data, split, seed=config.seed)
    return [p.src for p in pairs], [p.tgt for p in pairs], split


def evaluate_model_dir(model_dir: str | Path, *, split: str = "test", src: str | None = None,
                       ref: str | None = None, beam: int | None = None, hyps_out: str | None = None) -> dict:
    """Translate, score (BLEU, chrF, exact match with sacrebleu signatures) and merge into metrics.json.

    ``metrics.json`` keeps the training-time ``dev`` entry and gains, at the top level, the keys
    ``bleu``, ``chrf`` and ``exact_match`` of this evaluation, plus an entry named after what was scored.
    """
    model_dir = Path(model_dir)
    translator = Translator.from_dir(model_dir)
    sources, refs, name = _pairs(model_dir, split, src, ref)
    beam = beam or translator.decode.beam
    hyps = [h[0].text for h in translator.translate(sources, beam=beam)]
    result = {**translation_metrics(hyps, refs), "beam": beam, "evaluated_on": name}
    if hyps_out:
        Path(hyps_out).write_text("".join(h + "\n" for h in hyps), encoding="utf-8")
    path = model_dir / "metrics.json"
    metrics = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    metrics[name] = result
    metrics.update({k: result[k] for k in ("bleu", "chrf", "exact_match")})
    write_json(path, metrics)
    return result
