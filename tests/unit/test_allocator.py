"""The allocator set-up the command line runs first: fewer page faults for a decoding-like pattern."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from attnkit import allocator

glibc = pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                           reason="mallopt limits are glibc's")

# A cache grown by one step's keys at a time and read once per step, as a decoder's self-attention cache
# (320 rows x 4 heads x 32 dims a step), 10 passes of 20 steps; prints the minor page faults of the second
# of two such runs.
_PATTERN = """
import resource, sys, torch
from attnkit.allocator import keep_freed_memory
print(keep_freed_memory() if sys.argv[1] == "keep" else False)
def work():
    for _ in range(10):
        cache = torch.zeros(0)
        for _ in range(20):
            cache = torch.cat([cache, torch.ones(320 * 4 * 32)])
            y = cache * 2
work()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
work()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _run(mode: str, **env: str) -> tuple[bool, int]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("GLIBC_TUNABLES", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", allocator.OPT_OUT)}
    out = subprocess.run([sys.executable, "-c", _PATTERN, mode], env={**clean, **env}, capture_output=True,
                         text=True, check=True).stdout.split()
    return out[0] == "True", int(out[1])


@glibc
def test_keeping_freed_memory_removes_the_page_faults_of_a_growing_cache():
    set_, kept = _run("keep")
    _, default = _run("default")
    assert set_
    assert default > 5_000  # glibc's defaults hand the freed blocks back and fault them in again
    assert kept < default / 10


@glibc
@pytest.mark.parametrize("env", [{"ATTNKIT_MALLOC": "system"}, {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1"},
                                 {"MALLOC_TRIM_THRESHOLD_": "131072"}])
def test_limits_the_environment_chose_are_left_alone(env):
    set_, faults = _run("keep", **env)
    assert not set_
    if "ATTNKIT_MALLOC" in env:  # the C library's own defaults, as without attnkit
        assert faults > 5_000


def test_not_glibc_is_left_alone(monkeypatch):
    monkeypatch.setattr(allocator.platform, "libc_ver", lambda: ("", ""))
    assert allocator.keep_freed_memory() is False
