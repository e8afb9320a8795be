"""Drawing task names from probabilities, and counting what was drawn.

The random generator is always passed in (numpy or torch), so a run is
reproducible from its seed and a resumed run can restore the generator's
state from the checkpoint. Tasks are drawn in sorted-name order, so the same
seed gives the same draws however the caller happened to order the tasks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import torch

Generator = np.random.Generator | torch.Generator


def draw_tasks(probabilities: Mapping[str, float], n: int, rng: Generator) -> list[str]:
    """Draws ``n`` task names independently (with replacement).

    Args:
        probabilities: task name → probability (as a sampler returns them).
        n: how many draws (>= 0).
        rng: a ``numpy.random.Generator`` or a CPU ``torch.Generator``.

    Returns:
        ``n`` task names.

    Raises:
        ValueError: if ``n`` < 0 or the probabilities are empty, negative or do not sum to 1.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    names = sorted(probabilities)
    p = np.array([probabilities[name] for name in names], dtype=np.float64)
    if p.size == 0 or (p < 0).any() or not np.isclose(p.sum(), 1.0, atol=1e-9):
        raise ValueError(f"probabilities must be non-negative and sum to 1, got {dict(probabilities)}")
    if isinstance(rng, np.random.Generator):
        idx = rng.choice(len(names), size=n, p=p).tolist()
    else:
        idx = torch.multinomial(torch.from_numpy(p), n, replacement=True, generator=rng).tolist() if n else []
    return [names[i] for i in idx]


@dataclass(frozen=True)
class SamplerState:
    """How many examples of each task were actually drawn so far.

    Immutable: :meth:`record` returns a new state, so the training loop holds
    it explicitly and saves it with each checkpoint (:meth:`to_dict`). The
    realised mixture can then be compared with the sampler's probabilities.

    Args:
        counts: task name → examples drawn.
    """

    counts: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = {name: c for name, c in self.counts.items() if not isinstance(c, int) or c < 0}
        if bad:
            raise ValueError(f"sampler state counts must be integers >= 0, got {bad}")
        object.__setattr__(self, "counts", MappingProxyType(dict(self.counts)))

    def record(self, tasks: Iterable[str]) -> SamplerState:
        """Returns the state after drawing ``tasks`` (one name per example)."""
        counts = Counter(self.counts)
        counts.update(tasks)
        return SamplerState(dict(counts))

    @property
    def total(self) -> int:
        """Examples drawn over all tasks."""
        return sum(self.counts.values())

    def fractions(self) -> dict[str, float]:
        """The realised mixture: each task's share of the examples drawn (empty if none)."""
        total = self.total
        return {name: c / total for name, c in self.counts.items()} if total else {}

    def to_dict(self) -> dict[str, int]:
        """A JSON-serialisable copy, for checkpoints."""
        return dict(sorted(self.counts.items()))

    @classmethod
    def from_dict(cls, data: Mapping[str, int]) -> SamplerState:
        """The inverse of :meth:`to_dict` (validates the counts)."""
        return cls(dict(data))
