"""Corpora, tokenizers and length-bucketed batching. Never imports models."""

from attnkit.data.batching import Batch, bucket_batches, make_batch, pad
from attnkit.data.captions import CaptionedImage, load_emoji, load_tuxpaint, split_captioned
from attnkit.data.cluttered import make_cluttered
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
from attnkit.data.fashion import fashion_split, load_fashion_mnist
from attnkit.data.matching import PairBatch, TextPair, load_bible_matching, make_pair_batch, read_text_pairs
from attnkit.data.parallel import ParallelData, read_lines, read_parallel
from attnkit.data.scenes import Scene, caption_vocabulary, make_scenes, object_word_positions
from attnkit.data.tokenizers import BOS, EOS, KINDS, PAD, SPECIALS, UNK, Tokenizer, load_tokenizer, train_tokenizer
from attnkit.data.video import Clip, Event, clip_vocabulary, event_word_frames, make_clips

__all__ = [
    "BOS",
    "EOS",
    "FORMATS",
    "KINDS",
    "PAD",
    "SPECIALS",
    "UNK",
    "Batch",
    "CaptionedImage",
    "Clip",
    "DocBatch",
    "Document",
    "DocumentVocab",
    "Event",
    "FlatBatch",
    "LabelSet",
    "Pair",
    "PairBatch",
    "ParallelData",
    "Scene",
    "TextPair",
    "Tokenizer",
    "bucket_batches",
    "caption_vocabulary",
    "clip_vocabulary",
    "event_word_frames",
    "fashion_split",
    "format_date",
    "generate_dates",
    "load_bible_matching",
    "load_dates",
    "load_documents",
    "load_emoji",
    "load_fashion_mnist",
    "load_tokenizer",
    "load_tuxpaint",
    "make_batch",
    "make_clips",
    "make_cluttered",
    "make_doc_batch",
    "make_flat_batch",
    "make_pair_batch",
    "make_scenes",
    "object_word_positions",
    "pad",
    "read_labelled",
    "read_lines",
    "read_parallel",
    "read_text_pairs",
    "split_captioned",
    "split_documents",
    "split_sentences",
    "train_tokenizer",
]
