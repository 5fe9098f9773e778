"""A bounded load test of ``attnkit serve`` on loopback: failures, latency percentiles and throughput.

The server runs in a subprocess bound to 127.0.0.1 only (never another address); requests come from
``--concurrency`` concurrent httpx clients, ``--requests`` in all, each translating one sentence of the
dates test split (so the work is the dates model's real inputs), and no new request starts after
``--time-cap`` seconds. Exit status 1 when any request failed.

    python benchmarks/serve_load.py                          # runs/dates_bahdanau, 500 requests, 20 concurrent
    python benchmarks/serve_load.py MODEL_DIR --requests 200 --concurrency 8 --beam 1 --attention
    python benchmarks/serve_load.py --out docs/serving-load.md

Without ``MODEL_DIR`` and without ``runs/dates_bahdanau``, a small dates model is trained first into a
temporary directory (about a minute on two cores).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

HOST = "127.0.0.1"  # loopback only: the benchmark never exposes the server
DEFAULT_MODEL = Path("runs/dates_bahdanau")
QUICK_TRAIN = ["train.max_steps=400", "train.time_limit_minutes=2", "train.eval_every=200", "train.save_every=200",
               "train.eval_max_sentences=200",
               "model.hidden_dim=64"]


def quick_model(root: Path) -> Path:
    model_dir = root / "dates_quick"
    print(f"{DEFAULT_MODEL} not found: training a small dates model into {model_dir} ...", flush=True)
    config = Path(__file__).resolve().parents[1] / "configs" / "dates_bahdanau.yaml"
    subprocess.run([sys.executable, "-m", "attnkit", "train", str(config), "--model-dir", str(model_dir), "--fresh",
                    "--no-progress", *QUICK_TRAIN], check=True)
    return model_dir


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(model_dir: Path, port: int, log_path: Path) -> subprocess.Popen:
    code = ("import sys; from pathlib import Path; from attnkit.serve import serve, name_models; "
            "serve(name_models([Path(sys.argv[1])]), host=sys.argv[2], port=int(sys.argv[3]), log_level='warning')")
    log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 (the server writes to it until it stops)
    return subprocess.Popen([sys.executable, "-c", code, str(model_dir), HOST, str(port)], stdout=log,
                            stderr=subprocess.STDOUT)


def wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode} before answering /health")
        try:
            r = httpx.get(url + "/health", timeout=2)
            if r.status_code == 200:
                return r.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {url}/health within {timeout_s:.0f} s")


def sentences(n: int) -> list[str]:
    from attnkit.data import load_dates

    pool = [p.src for p in load_dates("test")]
    return [pool[i % len(pool)] for i in range(n)]


async def load(url: str, inputs: list[str], concurrency: int, time_cap_s: float, body: dict) -> dict:
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    queue = iter(inputs)
    start = time.perf_counter()

    async def worker(client: httpx.AsyncClient) -> None:
        for sentence in queue:  # one shared iterator: each input is sent once
            if time.perf_counter() - start > time_cap_s:
                return
            t0 = time.perf_counter()
            try:
                r = await client.post("/translate", json={**body, "sentences": [sentence]})
                ok = r.status_code == 200 and len(r.json()["translations"]) == 1
                if not ok:
                    failures[f"HTTP {r.status_code}: {r.text[:120]}"] += 1
            except (httpx.HTTPError, ValueError, KeyError) as err:
                ok = False
                failures[f"{type(err).__name__}: {err}"[:160]] += 1
            if ok:
                latencies.append(time.perf_counter() - t0)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=httpx.Timeout(120.0)) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return {"latencies": latencies, "failures": failures, "wall_s": time.perf_counter() - start}


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of already sorted values."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def table(args: argparse.Namespace, model: str, result: dict) -> str:
    lat = sorted(result["latencies"])
    failed = sum(result["failures"].values())
    sent = len(lat) + failed
    ms = [f"{percentile(lat, q) * 1000:.1f}" for q in (50, 90, 99, 100)]
    mean = f"{statistics.fmean(lat) * 1000:.1f}" if lat else "nan"
    rows = [
        "| model | requests sent | ok | failed | not sent (time cap) | concurrency | beam | attention "
        "| p50 ms | p90 ms | p99 ms | max ms | mean ms | requests/s | wall s |",
        "|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| {model} | {sent} | {len(lat)} | {failed} | {args.requests - sent} | {args.concurrency} "
        f"| {args.beam or 'model default'} | {'yes' if args.attention else 'no'} | {ms[0]} | {ms[1]} | {ms[2]} "
        f"| {ms[3]} | {mean} | {sent / result['wall_s']:.1f} | {result['wall_s']:.1f} |",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", nargs="?", type=Path, help=f"model directory (default {DEFAULT_MODEL})")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--time-cap", type=float, default=300.0, help="no new request after this many seconds")
    parser.add_argument("--beam", type=int, help="beam size per request (default: the model's)")
    parser.add_argument("--attention", action="store_true", help="ask for the attention maps too")
    parser.add_argument("--port", type=int, help="loopback port (default: a free one)")
    parser.add_argument("--out", type=Path, help="also write the table (markdown) to this file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="attnkit-serve-load-") as tmp:
        model_dir = args.model_dir or (DEFAULT_MODEL if DEFAULT_MODEL.is_dir() else quick_model(Path(tmp)))
        port = args.port or free_port()
        url = f"http://{HOST}:{port}"
        log_path = Path(tmp) / "server.log"
        proc = start_server(model_dir, port, log_path)
        try:
            health = wait_healthy(url, proc, timeout_s=120)
            body = {"attention": args.attention, **({"beam": args.beam} if args.beam else {})}
            httpx.post(url + "/translate", json={**body, "sentences": ["1 May 2000"]}, timeout=60)  # warm up
            result = asyncio.run(load(url, sentences(args.requests), args.concurrency, args.time_cap, body))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        server_log = log_path.read_text(encoding="utf-8", errors="replace")

    out = table(args, health["models"][0], result)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(out)
    print(f"\n{machine}; server on {url} (one process, inference serialised)")
    for message, count in result["failures"].most_common():
        print(f"failed x{count}: {message}")
    if result["failures"] and server_log.strip():
        print("server log (last 2000 characters):\n" + server_log[-2000:])
    if args.out:
        args.out.write_text(out + "\n", encoding="utf-8")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
