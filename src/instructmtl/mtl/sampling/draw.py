"""Drawing task names from probabilities.

The random generator is always passed in (numpy or torch), so a run is
reproducible from its seed (the tune workflow seeds one per step from the run
seed and the step, so a resumed run needs no generator state). Tasks are drawn
in sorted-name order, so the same seed gives the same draws however the caller
happened to order the tasks.
"""

from __future__ import annotations

from collections.abc import Mapping

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
