"""Metrics: BLEU/chrF/exact match (sacrebleu), hard alignments and AER, and the Apertium reference system.

Imports neither models nor viz.
"""

from attnkit.evaluation.alignment import (
    aer,
    corpus_aer,
    hard_alignment,
    merge_to_words,
    parse_pharaoh,
    to_chars,
    to_pharaoh,
)
from attnkit.evaluation.apertium import apertium_available, apertium_translate
from attnkit.evaluation.metrics import bleu, chrf, exact_match, translation_metrics

__all__ = [
    "aer",
    "apertium_available",
    "apertium_translate",
    "bleu",
    "chrf",
    "corpus_aer",
    "exact_match",
    "hard_alignment",
    "merge_to_words",
    "parse_pharaoh",
    "to_chars",
    "to_pharaoh",
    "translation_metrics",
]
