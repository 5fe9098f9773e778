"""Translation metrics: sacrebleu BLEU and chrF (with their signatures) and exact match."""

from __future__ import annotations

from collections.abc import Sequence

# sacrebleu is imported where it is used: importing it costs ~6 MiB of resident memory (lxml, regex tables)
# that a training process would otherwise carry through all its steps before the first evaluation.

__all__ = ["bleu", "chrf", "exact_match", "translation_metrics"]


def _check(hyps: Sequence[str], refs: Sequence[str]) -> None:
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references: they must pair up line by line")


def bleu(hyps: Sequence[str], refs: Sequence[str]) -> tuple[float, str]:
    """Corpus BLEU (Papineni et al. 2002) with sacrebleu's defaults; returns (score, signature)."""
    import sacrebleu

    _check(hyps, refs)
    metric = sacrebleu.BLEU()
    return metric.corpus_score(list(hyps), [list(refs)]).score, str(metric.get_signature())


def chrf(hyps: Sequence[str], refs: Sequence[str]) -> tuple[float, str]:
    """Corpus chrF (Popović 2015) with sacrebleu's defaults; returns (score, signature)."""
    import sacrebleu

    _check(hyps, refs)
    metric = sacrebleu.CHRF()
    return metric.corpus_score(list(hyps), [list(refs)]).score, str(metric.get_signature())


def exact_match(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Percentage of hypotheses equal to their reference (after stripping surrounding whitespace)."""
    _check(hyps, refs)
    if not hyps:
        return 0.0
    return 100.0 * sum(h.strip() == r.strip() for h, r in zip(hyps, refs, strict=True)) / len(hyps)


def translation_metrics(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, float | str]:
    """``bleu``, ``chrf``, ``exact_match`` and the two sacrebleu signatures, as one dict."""
    b, b_sig = bleu(hyps, refs)
    c, c_sig = chrf(hyps, refs)
    return {"bleu": b, "chrf": c, "exact_match": exact_match(hyps, refs), "bleu_signature": b_sig,
            "chrf_signature": c_sig, "sentences": len(hyps)}
