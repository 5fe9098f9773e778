"""The ``attnkit`` command line: ``attnkit <verb> ...``.

Each verb is a small function that parses its arguments and calls into the library; user-facing
errors (:class:`attnkit.errors.AttnkitError`) are printed as one clear message, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from attnkit import __version__
from attnkit.allocator import keep_freed_memory
from attnkit.errors import AttnkitError, ConfigError, DataError

DEFAULT_RUNS = Path("runs")


# --------------------------------------------------------------------------- verbs
def cmd_train(args: argparse.Namespace) -> int:
    from attnkit.config import load_config
    from attnkit.training import train

    config = load_config(args.config, args.overrides)
    model_dir = Path(args.model_dir) if args.model_dir else DEFAULT_RUNS / config.name
    summary = train(config, model_dir, resume=not args.fresh, progress=not args.no_progress)
    if summary.get("rank"):  # under torchrun, rank 0 reports
        return 0
    best = summary["history"][-1] if summary["history"] else {}
    print(f"{summary['stopped']} after {summary['steps']} steps ({summary['train_minutes']:.1f} min); "
          f"model directory: {model_dir}")
    if best:
        keys = ("bleu", "chrf", "exact_match", "accuracy", "macro_f1")
        print("last dev evaluation: " + ", ".join(f"{k}={best[k]:.2f}" for k in keys if k in best))
    return 0


def _read_documents(path: str | None) -> list[str]:
    """One document per line, or the ``text`` of each object of a ``.jsonl`` file (documents with newlines)."""
    if path and path.endswith(".jsonl"):
        from attnkit.data.documents import read_texts

        return read_texts(path)
    return _read_input(path)


def cmd_classify(args: argparse.Namespace) -> int:
    from attnkit.training.classify import DocumentClassifier

    classifier = DocumentClassifier.from_dir(args.model_dir)
    texts = _read_documents(args.input)
    predictions = classifier.classify(texts, attention=bool(args.json or args.attention))
    for i, p in enumerate(predictions, 1):
        if args.json:
            print(json.dumps({"line": i, **p.as_dict()}, ensure_ascii=False))
        else:
            top = sorted(p.probs.items(), key=lambda kv: -kv[1])[: args.top]
            print("\t".join([p.label] + [f"{name}:{prob:.3f}" for name, prob in top]))
    if args.attention:
        from attnkit.viz import highlight_html

        out = Path(args.attention)
        out.mkdir(parents=True, exist_ok=True)
        for i, p in enumerate(predictions, 1):
            if p.word_weights is not None:
                highlight_html(p.tokens, p.word_weights, sentence_weights=p.sentence_weights,
                               title=f"document {i}", label=f"{p.label} ({p.probs[p.label]:.2f})",
                               path=out / f"{i:04d}.html")
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    from attnkit.training.classify import PairMatcher

    matcher = PairMatcher.from_dir(args.model_dir)
    pairs = []
    for n, line in enumerate(_read_input(args.input), 1):
        parts = line.split("\t")
        if len(parts) != 2:
            raise DataError(f"{args.input or 'stdin'} line {n}: expected two texts separated by one tab, "
                            f"found {len(parts)} field(s)")
        pairs.append((parts[0], parts[1]))
    predictions = matcher.match(pairs, attention=bool(args.json or args.attention))
    for i, p in enumerate(predictions, 1):
        if args.json:
            print(json.dumps({"line": i, **p.as_dict()}, ensure_ascii=False))
        else:
            print(f"{p.label}\t{p.probs[p.label]:.3f}")
    if args.attention:
        from attnkit.viz.classify import write_coattention_plot

        out = Path(args.attention)
        out.mkdir(parents=True, exist_ok=True)
        for i, p in enumerate(predictions, 1):
            write_coattention_plot(p, out / f"{i:04d}.{args.format}")
    return 0


VISION_TASKS = ("caption", "classify_images")


def _vision_predictor(model_dir: str):
    """The captioner or image classifier in ``model_dir``; other models get a message naming their verb."""
    from attnkit.training.labelled import model_task
    from attnkit.training.vision import ImageCaptioner, ImageClassifierPredictor

    task = model_task(model_dir)
    if task not in VISION_TASKS:
        verb = {"translate": "translate", "classify": "classify", "match": "match"}.get(task, "evaluate")
        raise ConfigError(f"{model_dir} holds a {task} model, not an image model; use `attnkit {verb}` with it")
    return (ImageCaptioner if task == "caption" else ImageClassifierPredictor).from_dir(model_dir)


def cmd_caption(args: argparse.Namespace) -> int:
    from attnkit.training.vision import ImageCaptioner, read_image_file

    predictor = _vision_predictor(args.model_dir)
    images = [predictor.fit(read_image_file(path, clip=predictor.video)) for path in args.images]
    captioning = isinstance(predictor, ImageCaptioner)
    results = predictor.caption(images, beam=args.beam) if captioning else predictor.classify(images)
    for path, r in zip(args.images, results, strict=True):
        if args.json:
            print(json.dumps({"image": path, **r.as_dict()}, ensure_ascii=False))
        else:
            print(r.text if captioning else f"{r.label}\t{r.probs[r.label]:.3f}")
    if args.attention:
        out = Path(args.attention)
        out.mkdir(parents=True, exist_ok=True)
        for i, (image, r) in enumerate(zip(images, results, strict=True), 1):
            if captioning:
                _write_caption_pictures(image, r, out, f"{i:04d}")
            elif r.glimpses is not None:
                _write_glimpse_picture(image, r, predictor.config.model.glimpse_size, out / f"{i:04d}.png",
                                       scales=predictor.config.model.scales)
        if not captioning and not predictor.has_glimpses:
            print(f"attnkit caption: a {predictor.config.model.family} has no attention; nothing written to "
                  f"{args.attention}", file=sys.stderr)
    return 0


def _write_caption_pictures(image, caption, directory: Path, stem: str) -> None:
    """A clip: its frame strip, the frames in a row over one row per word of its attention over them
    (``stem.png``). An image: one overlay per word (``stem_00.png``, ``stem_01.png``, ...) with that word's
    attention over the regions."""
    from attnkit.viz import overlay_image, plot_frame_strip

    if caption.grid is None:
        plot_frame_strip(image, caption.attn, caption.tokens, directory / f"{stem}.png", title=caption.text)
        return
    h, w = caption.grid
    words = caption.tokens
    for t in range(len(words)):
        lo, hi = max(t - 4, 0), min(t + 5, len(words))  # the word in brackets, with a few around it
        title = " ".join(f"[{x}]" if i == t else x for i, x in enumerate(words[lo:hi], lo))
        title = "... " * (lo > 0) + title + " ..." * (hi < len(words))
        overlay_image(image, caption.attn[t].reshape(h, w).numpy(), directory / f"{stem}_{t:02d}.png", title=title)


def _write_glimpse_picture(image, prediction, glimpse_size: int, path: Path, scales: int = 1) -> None:
    """RAM's glimpse path on the image: each glimpse's sharpest patch (and ``scales - 1`` coarser ones,
    faintly), numbered in order and joined by arrows."""
    from attnkit.viz import plot_glimpse_path

    plot_glimpse_path(image, prediction.glimpses, path, glimpse_size=glimpse_size, scales=scales,
                      title=f"{prediction.label} ({prediction.probs[prediction.label]:.2f}), "
                            f"{len(prediction.glimpses)} glimpses")


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (a clean usage error otherwise, not a traceback from deep inside)."""
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    """argparse type: a finite number above 0 (seconds, say)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def _port(text: str) -> int:
    """argparse type: a TCP port, 0 (any free one) to 65535."""
    value = _whole_number(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number in 0-65535, got {value}")
    return value


def _read_input(path: str | None) -> list[str]:
    from attnkit.data import read_lines

    return read_lines(path or "-")  # "-": stdin, with the same UTF-8 and empty-line checks as a file


def _attention_map(translation, title: str = ""):
    """The :class:`~attnkit.viz.AttentionMap` of one hypothesis: target tokens (+ EOS) x source tokens."""
    from attnkit.viz.translation import translation_maps

    return translation_maps(translation, title)["alignment"][0]


def _write_heatmaps(results, directory: str, fmt: str) -> None:
    """One set of pictures per sentence (best hypothesis): ``0001.png`` and, for models with several
    attention maps, the head views and the encoder's attention rollout."""
    from attnkit.attention import attention_rollout
    from attnkit.viz.translation import write_translation_plots

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for i, hyps in enumerate(results, 1):
        if hyps:
            best = hyps[0]
            rollout = None if best.encoder_attn is None else attention_rollout(best.encoder_attn)
            write_translation_plots(best, out / f"{i:04d}", fmt, rollout=rollout)


def cmd_translate(args: argparse.Namespace) -> int:
    from attnkit.training import Translator

    translator = Translator.from_dir(args.model_dir)
    sentences = _read_input(args.input)
    results = translator.translate(sentences, beam=args.beam, n_best=args.n_best, all_heads=bool(args.attention),
                                   attention=bool(args.json or args.attention),  # text alone needs no attention
                                   workers=args.workers, processes=True)  # one-shot: forked workers
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    try:
        for i, hyps in enumerate(results):
            for h in hyps:
                if args.json:
                    out.write(json.dumps({"line": i + 1, "text": h.text, "score": h.score, "norm_score": h.norm_score,
                                          "src_tokens": h.src_tokens, "tgt_tokens": h.tgt_tokens,
                                          "attention": [[round(float(x), 4) for x in row] for row in h.attn]},
                                         ensure_ascii=False) + "\n")
                elif args.n_best and args.n_best > 1:
                    out.write(f"{i} ||| {h.text} ||| {h.norm_score:.4f}\n")
                else:
                    out.write(h.text + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    if args.attention:
        _write_heatmaps(results, args.attention, args.format)
    return 0


def cmd_align(args: argparse.Namespace) -> int:
    from attnkit.evaluation.alignment import hard_alignment, merge_to_words, to_pharaoh
    from attnkit.training import Translator

    if not 0 < args.threshold <= 1:
        raise ConfigError(f"--threshold must be in (0, 1] (an attention weight), got {args.threshold}")
    translator = Translator.from_dir(args.model_dir)
    sources = _read_input(args.input)
    if args.target:
        from attnkit.data import read_lines

        targets = read_lines(args.target)
        if len(targets) != len(sources):
            raise DataError(f"{args.target} has {len(targets)} lines but the input has {len(sources)}; "
                            f"give one target per source line")
    else:  # align the model's own best translation
        targets = [hyps[0].text for hyps in translator.translate(sources, beam=args.beam)]
    src_tok, tgt_tok = translator.src_tok, translator.tgt_tok
    for src, tgt, attn in zip(sources, targets, translator.align(sources, targets), strict=True):
        links = hard_alignment(attn[:-1], args.method, args.threshold)  # [T, S]: the EOS row dropped
        if args.level == "word":
            links = merge_to_words(links, src_tok.spans(src), tgt_tok.spans(tgt), src, tgt)
        print(to_pharaoh(links))
    return 0


def cmd_evaluate_labelled(args: argparse.Namespace) -> int:
    from attnkit.training.labelled import evaluate_labelled, write_labelled_report

    if args.src or args.ref:
        raise ConfigError("--src/--ref are for translation models; give a labelled CSV/TSV/JSONL file with --file")
    result = evaluate_labelled(args.model_dir, split=args.split, file=args.file)
    print(f"{'accuracy':12s} {result['accuracy']:.2f}")
    print(f"{'macro_f1':12s} {result['macro_f1']:.2f}")
    print(f"{'examples':12s} {result['examples']}")
    print(f"confusion matrix: {result['confusion_png']}")
    if args.report:
        print(f"report: {write_labelled_report(args.report, args.model_dir, result)}")
    return 0


def cmd_evaluate_vision(args: argparse.Namespace, task: str) -> int:
    from attnkit.training.vision import evaluate_captioner, evaluate_image_classifier

    given = [flag for flag, value in (("--src", args.src), ("--ref", args.ref), ("--file", args.file)) if value]
    if given:
        raise ConfigError(f"{', '.join(given)} do not apply to image models: they are scored on a split of their "
                          f"generated corpus (--split)")
    if task == "caption":
        result = evaluate_captioner(args.model_dir, split=args.split, beam=args.beam)
        keys = ("bleu", "exact_match", "pointing", "frame_alignment")
        if args.output:
            Path(args.output).write_text("".join(c + "\n" for c in result["captions"]), encoding="utf-8")
    else:
        result = evaluate_image_classifier(args.model_dir, split=args.split)
        keys = ("accuracy", "macro_f1", "glimpse_hits")
    counts = {"pointing": "pointed_words", "frame_alignment": "aligned_words"}
    for key in (k for k in keys if k in result):
        value = "n/a" if result[key] is None else f"{result[key]:.2f}"
        count = f"  ({result[counts[key]]} words)" if key in counts else ""
        print(f"{key:15s} {value}{count}")
    print(f"{'examples':15s} {result['examples']}")
    if "bleu_signature" in result:
        print(f"BLEU signature: {result['bleu_signature']}")
    if args.report:
        from attnkit.training.vision_report import write_vision_report

        print(f"report: {write_vision_report(args.report, args.model_dir, result)}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from attnkit.training.evaluate import evaluate_model_dir, run_evaluation
    from attnkit.training.labelled import model_task

    task = model_task(args.model_dir)
    if task in VISION_TASKS:
        return cmd_evaluate_vision(args, task)
    if task != "translate":
        return cmd_evaluate_labelled(args)
    if args.file:
        raise ConfigError("--file is for classifiers and matchers; a translation model takes --src and --ref")

    run = run_evaluation(args.model_dir, split=args.split, src=args.src, ref=args.ref, beam=args.beam)
    result = evaluate_model_dir(args.model_dir, hyps_out=args.output, run=run)
    for key in ("bleu", "chrf", "exact_match"):
        print(f"{key:12s} {result[key]:.2f}")
    if "aer" in result:
        print(f"{'aer':12s} {result['aer']:.4f}  ({result['aer_method']})")
        others = {k: v for k, v in result["aer_by_method"].items() if k != "argmax"}
        print("             " + ", ".join(f"{k}: {v:.4f}" for k, v in others.items()))
    print(f"sentences    {result['sentences']}")
    print(f"BLEU signature: {result['bleu_signature']}")
    print(f"chrF signature: {result['chrf_signature']}")
    if args.report:
        from attnkit.training.report import write_report
        from attnkit.viz import plot_heatmap

        path = write_report(args.report, args.model_dir, run,
                            lambda translation, png: plot_heatmap(_attention_map(translation), png))
        print(f"report: {path}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from attnkit.serve import Limits, name_models, serve

    given = {k: getattr(args, k) for k in ("max_chars", "max_batch", "max_beam", "timeout_s", "max_image_bytes")
             if getattr(args, k) is not None}
    try:
        limits = Limits(**given)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    serve(name_models(args.model_dirs), host=args.host, port=args.port, limits=limits)
    return 0


def cmd_data_prepare(args: argparse.Namespace) -> int:
    if args.corpus == "bible":
        from attnkit.data.bible import prepare_bible

        path = prepare_bible(force=args.force)
        print(f"bible corpus ready: {path}")
    elif args.corpus in ("debian", "wordnet", "fortunes"):
        from attnkit.data.documents import load_documents

        sizes = {split: len(load_documents(args.corpus, split)) for split in ("train", "dev", "test")}
        print(f"{args.corpus} corpus read (fixed hashed split): {sizes}")
    else:
        from attnkit.data import load_dates

        sizes = {split: len(load_dates(split)) for split in ("train", "dev", "test")}
        print(f"dates corpus is generated on the fly (deterministic from the seed): {sizes}")
    return 0


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="attnkit",
        description="Attention-based models: train, decode, evaluate and inspect attention.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")

    p = verbs.add_parser("train", help="train a model from a YAML config into a model directory")
    p.add_argument("config", help="YAML recipe, e.g. configs/dates_bahdanau.yaml")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. train.max_steps=2000")
    p.add_argument("--model-dir", help="output directory (default runs/<name>); an interrupted run there resumes")
    p.add_argument("--fresh", action="store_true", help="start over instead of resuming a run in --model-dir")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (the log file still fills)")
    p.set_defaults(func=cmd_train)

    p = verbs.add_parser("translate", help="translate sentences (one per line) from a file or stdin")
    p.add_argument("model_dir")
    p.add_argument("--input", "-i", help="input file (default: stdin)")
    p.add_argument("--output", "-o", help="output file (default: stdout)")
    p.add_argument("--beam", type=_positive_int, help="beam size (1 = greedy; default from the model's config)")
    p.add_argument("--n-best", type=_positive_int, help="hypotheses per sentence (printed as 'i ||| text ||| score')")
    p.add_argument("--workers", type=_positive_int,
                   help="batches decoded at once (default: decode.workers, else 2 on a CPU with 2+ threads)")
    p.add_argument("--json", action="store_true", help="one JSON object per hypothesis, with its attention")
    p.add_argument("--attention", metavar="DIR", help="write a heatmap of the best hypothesis per sentence "
                   "(0001.png, 0002.png, ...) into DIR")
    p.add_argument("--format", choices=["png", "svg"], default="png", help="heatmap format (default png)")
    p.set_defaults(func=cmd_translate)

    p = verbs.add_parser("align", help="hard alignments from attention, one Pharaoh line ('i-j ...') per sentence")
    p.add_argument("model_dir")
    p.add_argument("--input", "-i", help="source file (default: stdin)")
    p.add_argument("--target", "-t", help="target file to align to (forced alignment); default: the model's "
                   "own best translation")
    p.add_argument("--method", choices=["argmax", "threshold"], default="argmax",
                   help="argmax: one link per target token; threshold: every weight >= --threshold")
    p.add_argument("--threshold", type=float, default=0.3, help="weight threshold for --method threshold")
    p.add_argument("--level", choices=["token", "word"], default="token",
                   help="token indices, or whitespace-separated words (default token)")
    p.add_argument("--beam", type=_positive_int, help="beam size when translating (default from the model's config)")
    p.set_defaults(func=cmd_align)

    p = verbs.add_parser("classify", help="label documents (one per line, or a .jsonl file with a text key) with "
                         "a trained classifier; word and sentence attention on request")
    p.add_argument("model_dir")
    p.add_argument("--input", "-i", help="input file (default: stdin)")
    p.add_argument("--json", action="store_true", help="one JSON object per document: label, probabilities, "
                   "words and their attention")
    p.add_argument("--top", type=_positive_int, default=3, help="classes printed with their probability (default 3)")
    p.add_argument("--attention", metavar="DIR", help="write an HTML page per document (0001.html, ...) with its "
                   "words and sentences shaded by attention")
    p.set_defaults(func=cmd_classify)

    p = verbs.add_parser("match", help="decide whether two texts match (one 'text_a<TAB>text_b' per line)")
    p.add_argument("model_dir")
    p.add_argument("--input", "-i", help="input file (default: stdin)")
    p.add_argument("--json", action="store_true", help="one JSON object per pair, with the co-attention")
    p.add_argument("--attention", metavar="DIR", help="write the co-attention heatmap of each pair into DIR")
    p.add_argument("--format", choices=["png", "svg"], default="png", help="heatmap format (default png)")
    p.set_defaults(func=cmd_match)

    p = verbs.add_parser("caption", help="caption images (PNG or .npy; a video captioner: .npy clips [F, H, W]) "
                         "with a trained captioner, or name their class with ram / cnn_classifier")
    p.add_argument("model_dir")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files; colour is turned grey and the size "
                   "fitted to the model's")
    p.add_argument("--beam", type=_positive_int,
                   help="captioners: beam size (1 = greedy; default from the model's config)")
    p.add_argument("--json", action="store_true", help="one JSON object per image, with the attention")
    p.add_argument("--attention", metavar="DIR", help="write pictures of the attention into DIR: per word an "
                   "overlay on the image (0001_00.png, ...), per clip a frame strip with each word's weights "
                   "(0001.png), per image RAM's glimpse path (0001.png)")
    p.set_defaults(func=cmd_caption)

    p = verbs.add_parser("evaluate", help="translation: BLEU, chrF, exact match (and AER where gold alignments "
                         "exist); classification/matching: accuracy, macro-F1, confusion matrix; captioning: "
                         "BLEU-4, exact caption accuracy, pointing / frame alignment; images: accuracy, macro-F1")
    p.add_argument("model_dir")
    p.add_argument("--split", default="test", help="split of the model's built-in corpus (default test)")
    p.add_argument("--src", help="source file (with --ref) instead of a built-in split")
    p.add_argument("--ref", help="reference file, one line per source line")
    p.add_argument("--file", help="classifiers and matchers: a labelled CSV/TSV/JSONL file instead of a split")
    p.add_argument("--beam", type=_positive_int, help="beam size (default from the model's config)")
    p.add_argument("--output", "-o", help="also write the hypotheses to this file")
    p.add_argument("--report", metavar="DIR", help="write an HTML report (metrics, training curves, best and "
                   "worst examples with their attention: sentences, documents, captions, images) to DIR/index.html")
    p.set_defaults(func=cmd_evaluate)

    p = verbs.add_parser("serve", help="REST API and the attention explorer page over model directories")
    p.add_argument("model_dirs", nargs="+", metavar="MODEL_DIR", help="models to serve (loaded once, at start)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback; no authentication)")
    p.add_argument("--port", type=_port, default=8000, help="port to bind (default 8000; 0: any free one)")
    p.add_argument("--max-chars", dest="max_chars", type=_positive_int, help="characters per text (default 1000)")
    p.add_argument("--max-batch", dest="max_batch", type=_positive_int,
                   help="sentences, texts, pairs, images or clips per request (default 32)")
    p.add_argument("--max-image-bytes", dest="max_image_bytes", type=_positive_int,
                   help="bytes of one image file, or of all the frames of one clip (default 2000000)")
    p.add_argument("--max-beam", dest="max_beam", type=_positive_int,
                   help="largest beam a request may ask for (default 10)")
    p.add_argument("--timeout", dest="timeout_s", type=_positive_float, help="seconds a request may take (default 30)")
    p.set_defaults(func=cmd_serve)

    p = verbs.add_parser("data", help="prepare built-in corpora")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = sub.add_parser("prepare", help="build and cache a built-in corpus")
    q.add_argument("corpus", choices=["bible", "dates", "debian", "wordnet", "fortunes"])
    q.add_argument("--force", action="store_true", help="rebuild even if cached")
    q.set_defaults(func=cmd_data_prepare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    keep_freed_memory()  # before torch allocates anything: see attnkit.allocator
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # key=value overrides may come after options (argparse only collects them before).
    late_overrides = all("=" in e and not e.startswith("-") for e in extra)
    if extra and getattr(args, "overrides", None) is not None and late_overrides:
        args.overrides += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.verb is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except AttnkitError as err:
        print(f"attnkit {args.verb}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"attnkit {args.verb}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`attnkit ... | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
