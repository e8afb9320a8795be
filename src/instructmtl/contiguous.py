"""The cheapest cut of an ordered sequence into contiguous runs of bounded length.

Both micro-batching a training step (:func:`instructmtl.tokenized.batches.length_grouped`)
and grouping packed scoring rows into forwards (:mod:`instructmtl.evaluation._packing`)
cut items, already sorted, into consecutive runs of at most ``longest_run``
items, where a run's cost depends only on where it begins and ends. That is a
textbook dynamic programme no library we depend on offers; it lives here once.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["cheapest_runs"]


def cheapest_runs(
    count: int, longest_run: int, cost: Callable[[int, int], float]
) -> tuple[float, list[tuple[int, int]]]:
    """Cuts items ``0 .. count - 1`` into runs ``[begin, end)`` of at most ``longest_run`` items, at least total cost.

    Exact, in ``O(count * longest_run)`` calls of ``cost(begin, end)``.

    Returns:
        ``(total cost, runs in order)``.
    """
    best = [0.0] + [float("inf")] * count  # best[j]: least cost of the first j items
    cut = [0] * (count + 1)  # cut[j]: where the last run of that best split begins
    for end in range(1, count + 1):
        for begin in range(max(0, end - longest_run), end):
            total = best[begin] + cost(begin, end)
            if total < best[end]:
                best[end], cut[end] = total, begin
    runs, end = [], count
    while end > 0:
        runs.append((cut[end], end))
        end = cut[end]
    return best[-1], runs[::-1]
