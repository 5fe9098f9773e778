"""Decoding several batches at once: how many workers, and what each worker thread runs under."""

import threading

import pytest
import torch

from attnkit.training.translator import decode_workers, map_batches

CPU, META = torch.device("cpu"), torch.device("meta")


def test_default_is_two_on_a_cpu_with_two_threads_and_two_batches():
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert decode_workers(None, 10, CPU) == 2
        assert decode_workers(None, 1, CPU) == 1  # one batch: nothing to share
        assert decode_workers(None, 10, META) == 1  # not a CPU
        torch.set_num_threads(1)
        assert decode_workers(None, 10, CPU) == 1  # one thread: nothing to split
    finally:
        torch.set_num_threads(threads)


def test_requested_workers_are_capped_at_the_batches_and_checked():
    assert decode_workers(3, 10, CPU) == 3
    assert decode_workers(3, 2, CPU) == 2
    assert decode_workers(4, 10, META) == 4
    with pytest.raises(ValueError, match="workers must be at least 1, got 0"):
        decode_workers(0, 10, CPU)


def test_map_batches_keeps_the_order_and_runs_without_gradients_in_worker_threads():
    seen = []

    def fn(i: int) -> tuple[int, bool, bool, int]:
        w = torch.ones(2, requires_grad=True)
        seen.append(threading.get_ident())
        return i, (w * 2).requires_grad, torch.is_inference_mode_enabled(), torch.get_num_threads()

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        out = map_batches(fn, list(range(8)), 2)
        assert torch.get_num_threads() == 2  # restored
    finally:
        torch.set_num_threads(threads)
    assert [o[0] for o in out] == list(range(8))
    assert not any(o[1] for o in out) and all(o[2] for o in out)
    assert {o[3] for o in out} == {1}  # 2 threads over 2 workers
    assert threading.get_ident() not in seen


def test_map_batches_passes_a_worker_error_on():
    def fn(i: int) -> int:
        if i == 3:
            raise ValueError("batch 3 is bad")
        return i

    with pytest.raises(ValueError, match="batch 3 is bad"):
        map_batches(fn, list(range(6)), 2)
    assert map_batches(fn, [0, 1], 1) == [0, 1]  # one worker: a plain loop in this thread


@pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(), reason="needs fork")
def test_forked_workers_run_a_closure_in_other_processes_in_order_without_gradients():
    import os

    offset = 10  # a closure: handed to the workers by fork, not pickled

    def fn(i: int) -> tuple[int, int, bool, int]:
        w = torch.ones(2, requires_grad=True)
        return i + offset, os.getpid(), (w * 2).requires_grad, torch.get_num_threads()

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        out = map_batches(fn, list(range(8)), 2, processes=True)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
    assert [o[0] for o in out] == list(range(10, 18))
    assert os.getpid() not in {o[1] for o in out}
    assert not any(o[2] for o in out) and {o[3] for o in out} == {1}


@pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(), reason="needs fork")
def test_forked_workers_pass_an_error_on():
    def fn(i: int) -> int:
        if i == 3:
            raise ValueError("batch 3 is bad")
        return i

    with pytest.raises(ValueError, match="batch 3 is bad"):
        map_batches(fn, list(range(6)), 2, processes=True)
