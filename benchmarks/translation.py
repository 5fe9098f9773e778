"""Bible es->en: attention vs no attention vs Apertium on the same test set, plus BLEU by source length.

    # train both recipes (60-minute budget each on 2 cores), then score:
    python benchmarks/translation.py --train
    # score models trained earlier:
    python benchmarks/translation.py --attention runs/bible_luong --no-attention runs/bible_none

Prints one table (BLEU, chrF with sacrebleu signatures, decoding time) and the classic figure of
Bahdanau et al. (2015, fig. 2): BLEU against source length, for the model with attention and the
one with a single fixed context vector. Writes ``docs/translation.md`` and ``docs/bleu_by_length.png``
unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUCKETS = [(1, 10), (11, 20), (21, 30), (31, 40), (41, 60), (61, 1000)]


def _train(config: str, model_dir: Path) -> None:
    cmd = [sys.executable, "-m", "attnkit", "train", str(ROOT / config), "--model-dir", str(model_dir)]
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)


def _translate(model_dir: Path, sources: list[str], beam: int) -> tuple[list[str], float]:
    from attnkit.training import Translator

    translator = Translator.from_dir(model_dir)
    t0 = time.perf_counter()
    hyps = [h[0].text for h in translator.translate(sources, beam=beam)]
    return hyps, time.perf_counter() - t0


def _by_length(sources: list[str], hyps: list[str], refs: list[str]) -> list[tuple[str, int, float]]:
    from attnkit.evaluation.metrics import bleu

    rows = []
    for lo, hi in BUCKETS:
        idx = [i for i, s in enumerate(sources) if lo <= len(s.split()) <= hi]
        if idx:
            score = bleu([hyps[i] for i in idx], [refs[i] for i in idx])[0]
            rows.append((f"{lo}-{hi if hi < 1000 else ''}", len(idx), score))
    return rows


def _plot(curves: dict[str, list[tuple[str, int, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, rows in curves.items():
        ax.plot([r[0] for r in rows], [r[2] for r in rows], marker="o", label=name)
    ax.set(xlabel="source length (words)", ylabel="BLEU", title="Bible es->en test: BLEU by source length")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


MARKER = "<!-- results: written by benchmarks/translation.py -->"


def _write_results(path: Path, table: str) -> None:
    """Replace what follows MARKER in ``path`` (the prose above it, on how the models were trained, stays)."""
    head = "# Translation benchmark\n\n```bash\npython benchmarks/translation.py\n```\n\n"
    if path.is_file() and MARKER in path.read_text(encoding="utf-8"):
        head = path.read_text(encoding="utf-8").split(MARKER)[0]
    path.write_text(f"{head}{MARKER}\n\n{table}\n\n![BLEU by length](bleu_by_length.png)\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", action="store_true", help="train configs/bible_luong.yaml and bible_none.yaml first")
    ap.add_argument("--attention", type=Path, default=ROOT / "runs/bible_luong")
    ap.add_argument("--no-attention", type=Path, default=ROOT / "runs/bible_none")
    ap.add_argument("--model", action="append", default=[], metavar="NAME=DIR",
                    help="another trained model to score beside them (repeatable)")
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    args = ap.parse_args()
    if args.train:
        _train("configs/bible_luong.yaml", args.attention)
        _train("configs/bible_none.yaml", args.no_attention)

    from attnkit.data.bible import load_bible
    from attnkit.evaluation.apertium import apertium_translate
    from attnkit.evaluation.metrics import bleu, chrf

    pairs = load_bible("test", src="es", tgt="en", english="kjv")
    sources, refs = [p.src for p in pairs], [p.tgt for p in pairs]
    systems: dict[str, tuple[list[str], float]] = {}
    t0 = time.perf_counter()
    systems["Apertium (rule-based, apertium -u spa-eng)"] = (apertium_translate(sources), time.perf_counter() - t0)
    models = [(f"RNN + Luong attention [{args.attention.name}]", args.attention),
              (f"RNN, no attention (fixed C) [{args.no_attention.name}]", args.no_attention)]
    for item in args.model:
        name, _, path = item.partition("=")
        if not path:
            raise SystemExit(f"--model {item!r}: write NAME=DIR")
        models.append((name, Path(path)))
    for name, model_dir in models:
        if (model_dir / "model.safetensors").is_file():
            systems[name] = _translate(model_dir, sources, args.beam)
        else:
            print(f"skipping {name}: no trained model in {model_dir}", file=sys.stderr)

    lines = [f"Bible es->en test split: {len(sources)} verses (RV1909 -> KJV), beam {args.beam}", "",
             "| system | BLEU | chrF | decode time (s) |", "|---|---:|---:|---:|"]
    sigs = set()
    for name, (hyps, secs) in systems.items():
        b, b_sig = bleu(hyps, refs)
        c, c_sig = chrf(hyps, refs)
        sigs.update([b_sig, c_sig])
        lines.append(f"| {name} | {b:.2f} | {c:.2f} | {secs:.1f} |")
    lines += ["", "signatures: " + "; ".join(sorted(sigs)), "", "BLEU by source length (words):", "",
              "| system | " + " | ".join(f"{lo}-{hi if hi < 1000 else ''}" for lo, hi in BUCKETS) + " |",
              "|---|" + "---:|" * len(BUCKETS)]
    curves = {name: _by_length(sources, hyps, refs) for name, (hyps, _) in systems.items()}
    for name, rows in curves.items():
        lines.append(f"| {name} | " + " | ".join(f"{r[2]:.1f} (n={r[1]})" for r in rows) + " |")
    table = "\n".join(lines)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    _write_results(args.out / "translation.md", table)
    _plot(curves, args.out / "bleu_by_length.png")


if __name__ == "__main__":
    main()
