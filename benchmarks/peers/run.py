"""attnkit beside Joey NMT, OpenNMT-py and CTranslate2: same data, same model sizes, one table.

    bash benchmarks/peers/run.sh                                  # install the peers (once), then run this
    .venv/bin/python benchmarks/peers/run.py --steps 60 --small-steps 20 --rounds 1   # a smoke run

The dates task (human-readable dates -> ISO 8601, characters as tokens) is exported once from attnkit's own
corpus; every toolkit trains on the same 20,000 pairs and decodes the same 2,000 test sentences. Each
toolkit runs from its own virtual environment (``benchmarks/peers/.envs/``, made by ``install.sh``) and is
measured from the outside, by the wall clock of its own command line:

- training target tokens/s = ``(steps - small_steps) * 64 * (mean target length + 1)`` divided by the wall
  time of a ``steps`` training run minus that of a ``small_steps`` run: the difference cancels start-up,
  data loading, vocabulary and model building, the final checkpoint, and attnkit's closing evaluation;
- training peak RSS = the largest resident set of the ``steps`` training process (``wait4``);
- decoding sentences/s = ``(10000 - 16) / (time to decode the test set read 5 times over - time to decode its
  first 16 lines)`` (five passes make a run seconds of decoding, well above start-up's jitter),
  at beam 1 and beam 5, with the model the ``steps`` run produced;
- exact match = beam-5 output equal to the reference, character for character.

Everything runs in rounds: round r trains and decodes with every selected toolkit once (in an order that
rotates with r), so that drift in the machine's speed shows as spread rather than as a difference between
toolkits. The table gives the median over rounds and the range. CTranslate2 decodes with OpenNMT-py's
Transformer of the same round, converted to fp32. Results go to ``WORK/results.json`` (every run's raw
timing) and ``WORK/results.md``.

run.py itself imports only the standard library; its helpers run inside the toolkits' environments:
``run.py export DIR`` (attnkit's: writes the data with attnkit's API) and ``run.py ct2 ...`` (CTranslate2's:
converts and decodes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from string import Template

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CONFIGS = HERE / "configs"
ENVS = HERE / ".envs"
ATTNKIT_BIN = ROOT / ".venv" / "bin"

SPACE = "▁"  # a space in the source, as a visible token for the toolkits that split on spaces
SEED = 1234
SIZES = {"train": 20000, "dev": 1000, "test": 2000}
BATCH = 64  # sentences per training and decoding batch, in every toolkit
SHORT = 16  # lines of the short decoding run whose time is subtracted
REPEAT = 5  # the timed decoding run reads the test set this many times over: seconds of decoding, not of start-up
DECODE_LINES = SIZES["test"] * REPEAT
MAX_OUTPUT = 20  # output tokens at most (an ISO date is 10 characters)
THREADS = 2
BEAMS = (1, 5)
TOOLKITS = ("attnkit", "joey", "onmt", "ct2")
MODELS = ("rnn", "transformer")
LABELS = {"attnkit": "attnkit", "joey": "Joey NMT", "onmt": "OpenNMT-py", "ct2": "CTranslate2 fp32"}


# --------------------------------------------------------------------------- data
def spaced(text: str) -> str:
    """``"3 May"`` -> ``"3 ▁ M a y"``: one token per character for the toolkits that split on spaces."""
    return " ".join(SPACE if c == " " else c for c in text)


def unspaced(line: str) -> str:
    """The inverse of :func:`spaced`, for a toolkit's output line."""
    return "".join(line.split()).replace(SPACE, " ")


def export_data(data: Path) -> float:
    """Write the dates splits as plain text (attnkit) and spaced characters (the peers) under ``data``.

    ``dev16`` (the first 16 dev pairs) is what the toolkits that insist on a dev set get; nothing is
    validated while timed. ``test16`` is the short decoding run. Returns the mean target length of the
    training pairs, in characters. Runs in a child process (``run.py export DIR``), so that this one
    never holds torch: a child's peak RSS counts the memory of the process it was forked from.
    """
    out = subprocess.check_output([str(ATTNKIT_BIN / "python"), __file__, "export", str(data)], text=True,
                                  env=child_env())
    return float(out)


def export_main(argv: list[str]) -> None:
    """``run.py export DATA_DIR`` (attnkit's venv): see :func:`export_data`; prints the mean target length."""
    if len(argv) != 1:
        raise SystemExit(export_main.__doc__)
    from attnkit.data import read_parallel
    from attnkit.data.dates import load_dates

    data = Path(argv[0])
    splits = {name: load_dates(name, seed=SEED, sizes=SIZES) for name in SIZES}
    splits["dev16"], splits["test16"] = splits["dev"][:SHORT], splits["test"][:SHORT]
    splits["test_repeated"] = splits["test"] * REPEAT
    for kind, convert in (("plain", str), ("spaced", spaced)):
        (data / kind).mkdir(parents=True, exist_ok=True)
        for name, pairs in splits.items():
            for side in ("src", "tgt"):
                text = "".join(convert(getattr(p, side)) + "\n" for p in pairs)
                (data / kind / f"{name}.{side}").write_text(text, encoding="utf-8")
    # attnkit reads the plain files back as it will when training: they must give the same pairs
    back = read_parallel(data / "plain/train.src", data / "plain/train.tgt").pairs
    if [(p.src, p.tgt) for p in back] != [(p.src, p.tgt) for p in splits["train"]]:
        raise SystemExit(f"{data}/plain/train.*: attnkit reads back other pairs than were written")
    print(statistics.fmean(len(p.tgt) for p in splits["train"]))


def exact_match(hyps: list[str], refs: list[str]) -> float:
    if len(hyps) != len(refs):
        raise SystemExit(f"{len(hyps)} outputs for {len(refs)} test sentences")
    return 100.0 * sum(h == r for h, r in zip(hyps, refs, strict=True)) / len(refs)


# --------------------------------------------------------------------------- measuring
@dataclass
class Run:
    """One timed command: what it was, its wall time and the peak resident set of its process tree."""

    round: int
    toolkit: str
    model: str
    what: str  # train | decode
    steps: int | None
    beam: int | None
    lines: int | None
    seconds: float
    max_rss_mib: float


def child_env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), MKL_NUM_THREADS=str(THREADS),
               TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1")  # onmt_translate loads its own pickled checkpoints
    env.pop("PYTHONPATH", None)
    return env


def timed(cmd: list[str], log: Path, *, stdin: Path | None = None, stdout: Path | None = None) -> tuple[float, float]:
    """Run ``cmd`` to completion; ``(wall seconds, peak RSS in MiB)``. stderr (and stdout unless redirected)
    go to ``log``; a failure stops the benchmark with the log's tail."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as err, \
            open(stdin, encoding="utf-8") if stdin else open(os.devnull) as inp, \
            open(stdout, "w", encoding="utf-8") if stdout else open(os.devnull, "w") as out:
        err.write("+ " + " ".join(map(str, cmd)) + "\n")
        err.flush()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=inp, stdout=out if stdout else err, stderr=err, env=child_env(),
                                cwd=ROOT)
        # wait4 gives this child's own rusage: ru_maxrss is the largest resident set of it and of the
        # descendants it waited for (KiB on Linux)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        tail = "".join(log.read_text(encoding="utf-8", errors="replace").splitlines(True)[-25:])
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n--- {log} (tail)\n{tail}")
    return seconds, usage.ru_maxrss / 1024


def render(template: str, out: Path, **values) -> Path:
    """Fill a peer's YAML template from configs/ (``$name`` placeholders) into ``out``."""
    text = Template((CONFIGS / template).read_text(encoding="utf-8")).substitute(
        {k: str(v) for k, v in values.items()})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out


def env_versions(python: Path, packages: tuple[str, ...]) -> dict[str, str]:
    code = ("import importlib.metadata as m, json, sys; "
            "print(json.dumps({p: m.version(p) for p in sys.argv[1:]}))")
    return json.loads(subprocess.check_output([str(python), "-c", code, *packages], text=True, env=child_env()))


# --------------------------------------------------------------------------- the toolkits
class Toolkit:
    """How one toolkit trains a model directory and decodes a file with it (outputs as plain text)."""

    name = ""
    python: Path
    packages: tuple[str, ...] = ()

    def __init__(self, work: Path) -> None:
        self.work, self.data = work, work / "data" / "spaced"

    def prepare(self) -> None:
        """Untimed work done once per benchmark (OpenNMT-py's vocabularies)."""

    def train_cmd(self, model: str, steps: int, model_dir: Path) -> list[str]:
        raise NotImplementedError

    def decode(self, model: str, model_dir: Path, src: Path, beam: int, out: Path, log: Path) -> tuple[float, float]:
        raise NotImplementedError

    def read(self, out: Path) -> list[str]:
        return [unspaced(line) for line in out.read_text(encoding="utf-8").splitlines()]

    def versions(self) -> dict[str, str]:
        return env_versions(self.python, (*self.packages, "torch"))


class Attnkit(Toolkit):
    name, python, packages = "attnkit", ATTNKIT_BIN / "python", ("attnkit",)

    def train_cmd(self, model, steps, model_dir):
        plain = self.work / "data" / "plain"
        paths = [f"data.{split}.{side}={plain / f'{name}.{side}'}" for split, name in
                 (("train", "train"), ("dev", "dev16"), ("test", "test")) for side in ("src", "tgt")]
        return [str(ATTNKIT_BIN / "attnkit"), "train", str(CONFIGS / f"attnkit_{model}.yaml"), "--model-dir",
                str(model_dir), "--fresh", "--no-progress", f"train.max_steps={steps}", *paths]

    def decode(self, model, model_dir, src, beam, out, log):
        plain_src = self.work / "data" / "plain" / src.name  # attnkit reads raw text
        return timed([str(ATTNKIT_BIN / "attnkit"), "translate", str(model_dir), "--input", str(plain_src),
                      "--output", str(out), "--beam", str(beam)], log)

    def read(self, out):
        return out.read_text(encoding="utf-8").splitlines()


class Joey(Toolkit):
    name, python, packages = "joey", ENVS / "joey/bin/python", ("joeynmt",)

    def _config(self, model: str, model_dir: Path, out: str, *, steps: int = 0, beam: int = 1) -> Path:
        return render(f"joey_{model}.yaml", model_dir.parent / f"{model_dir.name}.{out}.yaml", data=self.data,
                      model_dir=model_dir, steps=steps, beam=beam)

    def train_cmd(self, model, steps, model_dir):
        cfg = self._config(model, model_dir, "train", steps=steps)
        return [str(self.python), "-m", "joeynmt", "train", str(cfg), "--skip-test"]

    def decode(self, model, model_dir, src, beam, out, log):
        # `joeynmt translate -o FILE` crashes in 2.3.0; without -o it reads stdin and prints to stdout
        cfg = self._config(model, model_dir, f"b{beam}", beam=beam)
        return timed([str(self.python), "-m", "joeynmt", "translate", str(cfg)], log, stdin=src, stdout=out)


class OpenNMT(Toolkit):
    name, python, packages = "onmt", ENVS / "onmt/bin/python", ("opennmt-py",)

    def _config(self, model: str, model_dir: Path, steps: int) -> Path:
        return render(f"onmt_{model}.yaml", model_dir.parent / f"{model_dir.name}.yaml", data=self.data,
                      vocab=self.work / "onmt_vocab", model_dir=model_dir, steps=steps)

    def prepare(self):
        cfg = self._config("rnn", self.work / "onmt_vocab" / "unused", 1)
        timed([str(self.python.parent / "onmt_build_vocab"), "-config", str(cfg), "-n_sample", "-1"],
              self.work / "onmt_vocab" / "build_vocab.log")

    def train_cmd(self, model, steps, model_dir):
        return [str(self.python.parent / "onmt_train"), "-config", str(self._config(model, model_dir, steps))]

    @staticmethod
    def checkpoint(model_dir: Path) -> Path:
        found = sorted(model_dir.glob("model_step_*.pt"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
        if not found:
            raise SystemExit(f"no OpenNMT-py checkpoint in {model_dir}")
        return found[-1]

    def decode(self, model, model_dir, src, beam, out, log):
        return timed([str(self.python.parent / "onmt_translate"), "-model", str(self.checkpoint(model_dir)),
                      "-src", str(src), "-output", str(out), "-beam_size", str(beam), "-batch_size", str(BATCH),
                      "-batch_type", "sents", "-max_length", str(MAX_OUTPUT), "-max_length_ratio", "0",
                      "-length_penalty", "none", "-alpha", "0", "-gpu", "-1", "-seed", str(SEED)], log)


class CTranslate2(Toolkit):
    """Decodes with the OpenNMT-py Transformer of the same round, converted (untimed) to an fp32 model."""

    name, python, packages = "ct2", ENVS / "ct2/bin/python", ("ctranslate2",)

    def convert(self, onmt_dir: Path, model_dir: Path) -> None:
        shutil.rmtree(model_dir, ignore_errors=True)
        timed([str(self.python), __file__, "ct2", "convert", str(OpenNMT.checkpoint(onmt_dir)), str(model_dir)],
              model_dir.parent / f"{model_dir.name}.convert.log")

    def decode(self, model, model_dir, src, beam, out, log):
        return timed([str(self.python), __file__, "ct2", "translate", str(model_dir), str(src), str(out),
                      str(beam)], log)


# --------------------------------------------------------------------------- one benchmark
class Benchmark:
    def __init__(self, args: argparse.Namespace, toolkits: dict[str, Toolkit], tokens_per_step: float) -> None:
        self.args, self.toolkits, self.tokens_per_step = args, toolkits, tokens_per_step
        self.runs: list[Run] = []
        self.exact: dict[tuple[str, str], list[float]] = {}
        self.refs = (args.work / "data/plain/test.tgt").read_text(encoding="utf-8").splitlines()

    def record(self, run: Run) -> None:
        self.runs.append(run)
        print(f"  r{run.round} {run.toolkit:7} {run.model:11} {run.what:6} "
              f"{'steps=' + str(run.steps) if run.what == 'train' else f'beam={run.beam} lines={run.lines}':17} "
              f"{run.seconds:8.2f} s {run.max_rss_mib:7.0f} MiB", file=sys.stderr, flush=True)

    def train(self, r: int, tk: Toolkit, model: str, steps: int) -> Path:
        model_dir = self.args.work / f"r{r}" / f"{tk.name}_{model}_{steps}"
        shutil.rmtree(model_dir, ignore_errors=True)
        seconds, rss = timed(tk.train_cmd(model, steps, model_dir), model_dir.parent / f"{model_dir.name}.log")
        self.record(Run(r, tk.name, model, "train", steps, None, None, seconds, rss))
        return model_dir

    def decode_all(self, r: int, tk: Toolkit, model: str, model_dir: Path) -> None:
        for beam in BEAMS:
            for name in ("test16", "test_repeated"):
                src = self.args.work / "data/spaced" / f"{name}.src"
                out = model_dir.parent / f"{model_dir.name}.{name}.b{beam}.txt"
                seconds, rss = tk.decode(model, model_dir, src, beam, out, out.with_suffix(".log"))
                lines = tk.read(out)
                self.record(Run(r, tk.name, model, "decode", None, beam, len(lines), seconds, rss))
                if name == "test_repeated" and beam == 5:
                    self.exact.setdefault((tk.name, model), []).append(exact_match(lines[:len(self.refs)], self.refs))

    def round(self, r: int) -> None:
        # the training toolkits in an order that rotates with the round; CTranslate2 last, after OpenNMT-py
        names = [n for n in self.toolkits if n != "ct2"]
        k = (r - 1) % max(1, len(names))
        names = names[k:] + names[:k] + ["ct2"] * ("ct2" in self.toolkits)
        for model in self.args.models:
            onmt_dir = None
            for name in names:
                tk = self.toolkits[name]
                if name == "ct2":
                    if model != "transformer":
                        continue  # its converter takes no RNN
                    if onmt_dir is None:  # not trained yet in this round: train it now, untimed
                        onmt_dir = self._untimed_onmt(r)
                    model_dir = self.args.work / f"r{r}" / "ct2_transformer"
                    tk.convert(onmt_dir, model_dir)
                else:
                    self.train(r, tk, model, self.args.small_steps)
                    model_dir = self.train(r, tk, model, self.args.steps)
                    if name == "onmt":
                        onmt_dir = model_dir
                self.decode_all(r, tk, model, model_dir)
            self.save()

    def _untimed_onmt(self, r: int) -> Path:
        onmt = self.toolkits.get("onmt") or OpenNMT(self.args.work)
        if "onmt" not in self.toolkits:
            onmt.prepare()
        model_dir = self.args.work / f"r{r}" / f"onmt_transformer_{self.args.steps}"
        if not model_dir.is_dir() or not list(model_dir.glob("model_step_*.pt")):
            print(f"  r{r} training OpenNMT-py's Transformer for CTranslate2 (untimed)", file=sys.stderr, flush=True)
            timed(onmt.train_cmd("transformer", self.args.steps, model_dir), model_dir.parent / "onmt_for_ct2.log")
        return model_dir

    def save(self, table: str | None = None) -> None:
        """``results.json``: settings, every timed run, the per-round numbers of each row (and the tables)."""
        rows = {f"{name}/{model}": {k: [None if v != v else v for v in vs] for k, vs in series.items()}
                for (name, model), series in self.summary().items()}  # NaN (a negative difference) -> null
        payload = {"settings": self.settings(), "runs": [asdict(r) for r in self.runs], "per_round": rows,
                   "table": table}
        (self.args.work / "results.json").write_text(json.dumps(payload, indent=1), encoding="utf-8")

    # ------------------------------------------------------------------ summaries
    def settings(self) -> dict:
        a = self.args
        return {"steps": a.steps, "small_steps": a.small_steps, "rounds": a.rounds, "batch_sentences": BATCH,
                "threads": THREADS, "tokens_per_step": self.tokens_per_step, "train_pairs": SIZES["train"],
                "test_sentences": SIZES["test"], "decode_lines": DECODE_LINES,
                "short_decode_lines": SHORT, "max_output_tokens": MAX_OUTPUT,
                "seed": SEED, "versions": a.versions, "machine": a.machine}

    def _series(self, toolkit: str, model: str) -> dict[str, list[float]]:
        """Per-round derived numbers of one row: tok/s, peak RSS, sent/s per beam."""
        out: dict[str, list[float]] = {"tok_s": [], "rss": [], "b1": [], "b5": []}
        for r in range(1, self.args.rounds + 1):
            mine = [x for x in self.runs if (x.round, x.toolkit, x.model) == (r, toolkit, model)]
            full = [x for x in mine if x.what == "train" and x.steps == self.args.steps]
            small = [x for x in mine if x.what == "train" and x.steps == self.args.small_steps]
            if full and small:
                delta = full[0].seconds - small[0].seconds
                steps = self.args.steps - self.args.small_steps
                out["tok_s"].append(steps * self.tokens_per_step / delta if delta > 0 else float("nan"))
                out["rss"].append(full[0].max_rss_mib)
            for beam in BEAMS:
                dec = {x.lines: x.seconds for x in mine if x.what == "decode" and x.beam == beam}
                if SHORT in dec and DECODE_LINES in dec:
                    delta = dec[DECODE_LINES] - dec[SHORT]
                    out[f"b{beam}"].append((DECODE_LINES - SHORT) / delta if delta > 0 else float("nan"))
        return out

    def summary(self) -> dict[tuple[str, str], dict[str, list[float]]]:
        rows = {}
        for model in self.args.models:
            for name in self.toolkits:
                if name == "ct2" and model != "transformer":
                    continue
                rows[(name, model)] = {**self._series(name, model), "em": self.exact.get((name, model), [])}
        return rows

    def tables(self) -> str:
        rows = self.summary()
        a = self.args
        lines = [f"Dates -> ISO 8601, characters as tokens; {SIZES['train']:,} training pairs, {SIZES['test']:,} "
                 f"test sentences. Training: {a.steps:,} steps (minus a {a.small_steps}-step run) of {BATCH} "
                 f"sentences, {self.tokens_per_step:g} target tokens per step (characters + EOS). Decoding: "
                 f"batches of {BATCH} sentences, no length penalty, at most {MAX_OUTPUT} output tokens; sent/s "
                 f"over {DECODE_LINES - SHORT:,} sentences (the test set {REPEAT} times over, minus its first "
                 f"{SHORT} lines). {THREADS} threads each. {a.rounds} round(s): median (min-max).", "",
                 "Versions: " + "; ".join(f"{LABELS[k]}: " + ", ".join(f"{p} {v}" for p, v in vs.items())
                                          for k, vs in a.versions.items()), f"Machine: {a.machine}", "",
                 "| toolkit | model | train tok/s | train peak RSS MiB | exact match % (beam 5) | beam-1 sent/s "
                 "| beam-5 sent/s |", "|---|---|---:|---:|---:|---:|---:|"]
        for (name, model), s in rows.items():
            lines.append(f"| {LABELS[name]} | {model} | {spread(s['tok_s'])} | {spread(s['rss'], '.0f')} | "
                         f"{spread(s['em'], '.1f')} | {spread(s['b1'])} | {spread(s['b5'])} |")
        lines += ["", "attnkit / peer, medians (the bars of the issue):", "",
                  "| measure | model | peer | attnkit / peer | bar | met |", "|---|---|---|---:|---|---|"]
        for measure, key, peer, bar, higher, bar_text in BARS:
            for model in self.args.models:
                if (key == "b5" and peer == "ct2" and model != "transformer") or ("attnkit", model) not in rows \
                        or (peer, model) not in rows:
                    continue
                ratio = median(rows[("attnkit", model)][key]) / median(rows[(peer, model)][key])
                met = "-" if ratio != ratio else ("yes" if (ratio >= bar if higher else ratio < bar) else "no")
                lines.append(f"| {measure} | {model} | {LABELS[peer]} | {ratio:.2f} | {bar_text} | {met} |")
        return "\n".join(lines)


# (measure, summary key, peer, bar on attnkit / peer, whether the ratio must reach the bar or stay below it, the
# bar as printed)
BARS = [("training tok/s", "tok_s", "onmt", 1.2, True, ">= 1.2"),
        ("training tok/s", "tok_s", "joey", 1.5, True, ">= 1.5"),
        ("beam-5 sent/s", "b5", "onmt", 1.5, True, ">= 1.5"),
        ("beam-5 sent/s", "b5", "joey", 2.0, True, ">= 2"),
        ("beam-5 sent/s", "b5", "ct2", 1 / 1.5, True, ">= 1/1.5 (within 1.5x)"),
        ("training peak RSS", "rss", "onmt", 1.0, False, "< 1"),
        ("training peak RSS", "rss", "joey", 1.0, False, "< 1")]


def median(values: list[float]) -> float:
    """The median of the valid (non-NaN) values; NaN when there are none."""
    valid = [v for v in values if v == v]
    return statistics.median(valid) if valid else float("nan")


def spread(values: list[float], fmt: str = ",.0f") -> str:
    """``median (min-max)`` over rounds, one value alone, ``-`` for none. A round whose long run took no
    longer than its short one (NaN: possible only in runs too short to measure) is left out and counted."""
    valid = [v for v in values if v == v]
    note = f" [{len(values) - len(valid)} invalid]" if len(valid) < len(values) else ""
    if not valid:
        return "n/a" + note if values else "-"
    if len(valid) == 1:
        return format(valid[0], fmt) + note
    return f"{format(median(valid), fmt)} ({format(min(valid), fmt)}-{format(max(valid), fmt)}){note}"


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").is_file() else ""
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


# --------------------------------------------------------------------------- CTranslate2's side
def ct2_main(argv: list[str]) -> None:
    """``run.py ct2 convert CHECKPOINT OUT_DIR`` | ``run.py ct2 translate MODEL_DIR SRC OUT BEAM`` (ct2 venv)."""
    if argv[:1] == ["convert"] and len(argv) == 3:
        import torch
        from ctranslate2.converters import OpenNMTPyConverter

        checkpoint, out = Path(argv[1]), Path(argv[2])
        # The converter rejects OpenNMT-py's default self_attn_type (scaled-dot-flash); it names the same
        # computation as scaled-dot, so the stored option is changed in a copy of the checkpoint.
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        state["opt"].self_attn_type = "scaled-dot"
        patched = out.parent / f"{out.name}.source.pt"
        torch.save(state, patched)
        OpenNMTPyConverter(str(patched), unsafe_deserialization=True).convert(str(out), force=True)
        patched.unlink()
    elif argv[:1] == ["translate"] and len(argv) == 5:
        import ctranslate2

        model, src, out, beam = argv[1], Path(argv[2]), Path(argv[3]), int(argv[4])
        # two batches at once, one thread each: the layout `attnkit translate` takes by default on 2 cores
        translator = ctranslate2.Translator(model, device="cpu", compute_type="float32", intra_threads=1,
                                            inter_threads=THREADS)
        batch = [line.split() for line in src.read_text(encoding="utf-8").splitlines()]
        results = translator.translate_batch(batch, max_batch_size=BATCH, batch_type="examples", beam_size=beam,
                                             length_penalty=0.0, max_decoding_length=MAX_OUTPUT)
        out.write_text("".join(" ".join(r.hypotheses[0]) + "\n" for r in results), encoding="utf-8")
    else:
        raise SystemExit(ct2_main.__doc__)


# --------------------------------------------------------------------------- main
def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=1500, help="training steps of the measured run")
    ap.add_argument("--small-steps", type=int, default=100, help="steps of the run whose time is subtracted")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default=",".join(TOOLKITS), help=f"toolkits, comma-separated ({','.join(TOOLKITS)})")
    ap.add_argument("--models", default=",".join(MODELS), help=f"models, comma-separated ({','.join(MODELS)})")
    ap.add_argument("--work", type=Path, default=ROOT / "runs/peers")
    args = ap.parse_args()
    args.only, args.models = args.only.split(","), args.models.split(",")
    for given, valid, flag in ((args.only, TOOLKITS, "--only"), (args.models, MODELS, "--models")):
        if not given or set(given) - set(valid):
            ap.error(f"{flag} takes a comma-separated subset of {','.join(valid)}")
    if not 0 < args.small_steps < args.steps:
        ap.error("--small-steps must be positive and below --steps")
    if args.only == ["ct2"] and "transformer" not in args.models:
        ap.error("CTranslate2 runs the Transformer only")
    args.work = args.work.resolve()
    return args


def main() -> None:
    helpers = {"export": export_main, "ct2": ct2_main}  # run.py's jobs inside the other environments
    if sys.argv[1:2] and sys.argv[1] in helpers:
        helpers[sys.argv[1]](sys.argv[2:])
        return
    args = parse_args()
    classes = {"attnkit": Attnkit, "joey": Joey, "onmt": OpenNMT, "ct2": CTranslate2}
    toolkits = {name: classes[name](args.work) for name in TOOLKITS if name in args.only}
    for tk in toolkits.values():
        if not tk.python.is_file():
            raise SystemExit(f"{tk.python} is missing: run benchmarks/peers/install.sh first")
    args.versions = {name: tk.versions() for name, tk in toolkits.items()}
    args.machine = machine()
    mean_tgt = export_data(args.work / "data")
    for tk in toolkits.values():
        tk.prepare()
    bench = Benchmark(args, toolkits, tokens_per_step=BATCH * (mean_tgt + 1))
    for r in range(1, args.rounds + 1):
        print(f"round {r}/{args.rounds}", file=sys.stderr, flush=True)
        bench.round(r)
    table = bench.tables()
    bench.save(table)
    (args.work / "results.md").write_text(table + "\n", encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
