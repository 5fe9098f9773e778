"""Corpora, tokenizers and length-bucketed batching. Never imports models."""

from attnkit.data.batching import Batch, bucket_batches, make_batch, pad
from attnkit.data.dates import FORMATS, format_date, generate_dates, load_dates
from attnkit.data.documents import (
    DocBatch,
    Document,
    DocumentVocab,
    FlatBatch,
    LabelSet,
    load_documents,
    make_doc_batch,
    make_flat_batch,
    read_labelled,
    split_documents,
    split_sentences,
)
from attnkit.data.examples import Pair
from attnkit.data.matching import PairBatch, TextPair, load_bible_matching, make_pair_batch, read_text_pairs
from attnkit.data.parallel import ParallelData, read_lines, read_parallel
from attnkit.data.tokenizers import BOS, EOS, KINDS, PAD, SPECIALS, UNK, Tokenizer, load_tokenizer, train_tokenizer

__all__ = [
    "BOS",
    "EOS",
    "FORMATS",
    "KINDS",
    "PAD",
    "SPECIALS",
    "UNK",
    "Batch",
    "DocBatch",
    "Document",
    "DocumentVocab",
    "FlatBatch",
    "LabelSet",
    "Pair",
    "PairBatch",
    "ParallelData",
    "TextPair",
    "Tokenizer",
    "bucket_batches",
    "format_date",
    "generate_dates",
    "load_bible_matching",
    "load_dates",
    "load_documents",
    "load_tokenizer",
    "make_batch",
    "make_doc_batch",
    "make_flat_batch",
    "make_pair_batch",
    "pad",
    "read_labelled",
    "read_lines",
    "read_parallel",
    "read_text_pairs",
    "split_documents",
    "split_sentences",
    "train_tokenizer",
]
