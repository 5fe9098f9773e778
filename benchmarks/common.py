"""What the benchmark scripts share: training several recipes side by side under the same conditions,
printing a results table (and keeping it in a file), and writing one below a document's prose."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def train_side_by_side(jobs: list[tuple[str, str, list[str], Path]], parallel: int = 2) -> None:
    """Train every ``(name, config, overrides, model_dir)`` from scratch, ``parallel`` at a time with one
    torch thread each, so that time-budgeted runs get comparable shares of the machine."""
    pending = list(jobs)
    running: list[tuple[subprocess.Popen, str]] = []
    while pending or running:
        while pending and len(running) < parallel:
            name, config, overrides, model_dir = pending.pop(0)
            cmd = [sys.executable, "-m", "attnkit", "train", str(ROOT / config), *overrides, "train.threads=1",
                   "--no-progress", "--fresh", "--model-dir", str(model_dir)]
            print("+", " ".join(cmd), file=sys.stderr, flush=True)
            running.append((subprocess.Popen(cmd), name))
        time.sleep(2)
        for proc, name in list(running):
            if proc.poll() is not None:
                running.remove((proc, name))
                if proc.returncode:
                    raise SystemExit(f"training {name} failed with exit code {proc.returncode}")


def write_below_prose(path: Path, marker: str, command: str, table: str) -> None:
    """Put the command and the table right below ``marker`` in ``path`` (appended, with the marker, if it is
    missing), replacing what an earlier run wrote there: everything up to the next ``<!-- results``
    marker, or to the end. Text above the marker and other results sections stay as they are."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    head, found, tail = text.partition(marker)
    rest = ""
    if found and "<!-- results" in tail:
        rest = tail[tail.index("<!-- results"):]
    if not found and head and not head.endswith("\n\n"):
        head = head.rstrip("\n") + "\n\n"
    section = f"{marker}\n\nCommand: `{command.strip()}`\n\n{table}\n"
    after = "\n" + rest if rest else ""
    path.write_text(head + section + after, encoding="utf-8")


def train_step(model, optimizer, batch, label_smoothing: float = 0.0) -> int:
    """One step as the training loop takes it (loss, backward, clipping at 1.0, the optimiser); its target tokens."""
    import torch

    out = model.loss(batch, label_smoothing=label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return out.ntokens


def print_table(table: str, out: str | Path | None = None) -> None:
    """Print a results table and, with ``out``, write it to that file too."""
    print(table)
    if out:
        Path(out).write_text(table + "\n", encoding="utf-8")
