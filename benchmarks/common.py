"""What the benchmark scripts share: training several recipes side by side under the same conditions,
and writing a results table below a document's prose."""

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
    """Keep ``path``'s text above ``marker`` and put the command and the table below it."""
    prose = path.read_text(encoding="utf-8").split(marker)[0] if path.is_file() else ""
    path.write_text(f"{prose}{marker}\n\nCommand: `{command.strip()}`\n\n{table}\n", encoding="utf-8")
