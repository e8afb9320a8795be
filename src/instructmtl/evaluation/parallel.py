"""Independent evaluation work run side by side on a multi-core CPU, one core each.

A small model's operations are too small to keep several cores busy: two
intra-op threads train the tiny model's transfer grid only about 1.6 times
as fast as one, and its elementwise operations stay on one core. Running W
independent work items (grid chunks, fine-tunes, task scorings) at once in W
threads with one intra-op thread each fills the machine instead (about 1.8
times on 2 cores, ``bench/transfer_grid.py``). Threads rather than processes,
because PyTorch releases the GIL inside its operations and threads share the
loaded checkpoints, which processes would have to copy.

``concurrent.futures`` supplies the pool; what is ours is the thread budget:
every item runs on one intra-op thread whenever more than one runs at once,
so an item's numbers never depend on which other items ran beside it.
Objects that are not safe to share between threads go through
:class:`PerThread`.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Generic, TypeVar

import torch

__all__ = ["PerThread", "resolve_workers", "run_all"]

T = TypeVar("T")


class PerThread(Generic[T]):
    """An object for the thread that made this, and a deep copy of it for every other thread.

    For fast tokenizers: ``transformers`` sets truncation and padding on the
    shared Rust tokenizer at every call, and the binding refuses that while
    another thread is encoding with it (``RuntimeError: Already borrowed``,
    huggingface/tokenizers#537). Run serially, the items use the original.
    """

    def __init__(self, original: T) -> None:
        self._original = original
        self._owner = threading.get_ident()
        self._copies = threading.local()

    def get(self) -> T:
        """This thread's object."""
        if threading.get_ident() == self._owner:
            return self._original
        if not hasattr(self._copies, "value"):
            self._copies.value = copy.deepcopy(self._original)
        copied: T = self._copies.value
        return copied


def resolve_workers(requested: int | None, device: torch.device) -> int:
    """How many items run at once: ``requested``, else one per intra-op thread on CPU and one on GPU.

    A GPU runs one item's kernels across the whole device already; threads
    would only queue them on the same stream.
    """
    if requested is not None:
        return requested
    return torch.get_num_threads() if device.type == "cpu" else 1


@contextmanager
def _one_intra_op_thread() -> Iterator[None]:
    """Sets torch's (process-wide) intra-op threads to 1 and restores the previous count after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def run_all(items: Sequence[Callable[[], T]], workers: int, costs: Sequence[float] | None = None) -> list[T]:
    """Runs every item and returns their results in the items' order.

    With one worker (or one item) the items run here, in order, with torch's
    thread count as it is. Otherwise ``min(workers, len(items))`` threads take
    them, each op on one intra-op thread, costliest first when ``costs`` (any
    unit) are given: the longest-processing-time-first rule, which keeps one
    worker from finishing a big item alone at the end (on the transfer bench's
    chunks of 4, 5, 3 and 4 fine-tunes, 8 + 8 instead of 7 + 9). The first item
    to raise stops the run: items not yet started are cancelled and its
    exception is re-raised.
    """
    workers = min(workers, len(items))
    if workers <= 1:
        return [item() for item in items]
    order = sorted(range(len(items)), key=lambda i: -costs[i]) if costs is not None else range(len(items))
    with _one_intra_op_thread(), ThreadPoolExecutor(workers, thread_name_prefix="instructmtl-eval") as pool:
        futures = {i: pool.submit(items[i]) for i in order}
        try:
            return [futures[i].result() for i in range(len(items))]
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
