"""The C library's memory allocator, set up for attnkit's own processes.

torch's CPU tensors come from ``malloc``. With glibc's defaults, a block of more than 128 KiB is first
mapped fresh from the kernel, and memory freed at the top of the heap is handed back once more than
twice that much is free; both limits only grow as such blocks are freed. A decoding step allocates
tensors of a few MB (a layer's keys/values cache for 320 beams, its attention products) and frees them
a moment later; every time the heap is trimmed, the next step touches fresh pages, and the kernel
zeroes each one on a page fault. A process decoding 4,200 sentences with the peers benchmark's
Transformer at beam 5, one thread, took 370,000-380,000 page faults (1.3-1.4 s of system time of ~13 s)
with the defaults and 57,000 (0.3-0.4 s) with the limits below, and decoded 1.13-1.17x the sentences/s
(two workers: 1.09-1.15x); a training step of that model faulted ~1,000 pages with the defaults.

:func:`keep_freed_memory` raises both limits for the running process. The command line calls it
first thing; a program using attnkit as a library may call it itself, or set ``GLIBC_TUNABLES``.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (glibc's malloc.h)
MMAP_THRESHOLD = 32 << 20  # blocks below this come from the heap (glibc's own ceiling for its adaptive limit)
TRIM_THRESHOLD = 64 << 20  # free memory at the top of the heap kept for reuse, at most
OPT_OUT = "ATTNKIT_MALLOC"  # set to "system" to leave the allocator as the C library set it up


def _chosen_by_user() -> bool:
    """Whether the environment already sets the allocator's limits, or asks attnkit to leave them."""
    if os.environ.get(OPT_OUT, "").strip().lower() == "system":
        return True
    return ("glibc.malloc." in os.environ.get("GLIBC_TUNABLES", "")
            or any(name in os.environ for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")))


def keep_freed_memory(mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """Serve blocks below ``mmap_threshold`` bytes from the heap and keep up to ``trim_threshold`` bytes
    of freed memory for reuse, instead of returning it to the kernel and faulting it back in.

    Only under glibc on Linux, and not when the environment already sets these limits (``GLIBC_TUNABLES``
    with ``glibc.malloc.*``, ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``) or sets
    ``ATTNKIT_MALLOC=system``. Returns whether the limits were set. The process keeps at most
    ``trim_threshold`` more memory than it uses; its peak use does not change.
    """
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc" or _chosen_by_user():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold))
