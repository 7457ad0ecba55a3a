"""Parses share a memory budget: two big ones never run together, small ones fit beside."""

from __future__ import annotations

import threading
import time

from flows.sources.cnpj.memory import PARSE_PEAK_MB, MemoryBudget, parse_estimate_mb


def test_estimates_grow_with_the_csv_up_to_a_streaming_ceiling():
    assert parse_estimate_mb(10_000) < parse_estimate_mb(50 << 20) < PARSE_PEAK_MB
    assert parse_estimate_mb(5 << 30) == PARSE_PEAK_MB


def run_together(budget: MemoryBudget, sizes: list[int]) -> int:
    """Most parses of ``sizes`` MB seen running at the same time."""
    running, most, lock = [0], [0], threading.Lock()

    def parse(mb: int) -> None:
        with budget.take(mb):
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.2)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=parse, args=(mb,)) for mb in sizes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)
    return most[0]


def test_two_big_parses_never_overlap_but_small_ones_fit_beside():
    assert run_together(MemoryBudget(350), [200, 200, 200]) == 1
    assert run_together(MemoryBudget(350), [200, 40, 40, 40]) == 4


def test_a_parse_bigger_than_the_budget_still_runs_alone():
    assert run_together(MemoryBudget(100), [300, 300]) == 1
