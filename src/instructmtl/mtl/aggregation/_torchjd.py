"""The one adapter between this project's aggregator interface and torchjd's.

Every registered aggregator is a :class:`JacobianAggregator`: an immutable
record of a method's name and hyperparameters plus a factory for the torchjd
object. The torchjd object is built afresh for every call, so no state can
leak from one step to the next (torchjd's NashMTL, for one, keeps a warm start
between calls); a resumed run therefore aggregates exactly like an
uninterrupted one.

torchjd is imported lazily, inside each method's factory: with its optional
solvers installed, ``import torchjd`` pulls in cvxpy (seconds), which every
process that merely imports ``instructmtl.mtl`` (the CLI, evaluation
workers) should not pay.

Some methods are random (PCGrad visits the other groups in a random order,
drawn by torchjd from torch's *global* generator). Their calls take the
generator explicitly: a seed is drawn from it and torchjd runs inside
``torch.random.fork_rng`` seeded with it, so the result is a function of the
passed generator and the global generator is left untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from instructmtl.errors import InstructMTLError
from instructmtl.mtl.sampling.draw import Generator

if TYPE_CHECKING:
    from torchjd.aggregation import WeightedAggregator

# Half-precision Gramians make the QP/SVD solvers inside torchjd unstable.
_UPCAST = (torch.float16, torch.bfloat16)


@dataclass(frozen=True)
class JacobianAggregator:
    """Turns a matrix of group gradients [G, P] into one update vector [P].

    Args:
        name: the registered name (for messages and logs).
        params: the hyperparameters, as ``(name, value)`` pairs (for logs and equality).
        make: ``make(n_groups)`` returns a fresh torchjd aggregator that combines rows
            with weights (a ``WeightedAggregator``), so :meth:`weights` is always defined.
        random: whether the method draws random numbers (then calls need ``rng``).
        min_groups: fewest groups the method is defined for (a step with fewer is an error).
    """

    name: str
    params: tuple[tuple[str, object], ...]
    make: Callable[[int], WeightedAggregator] = field(repr=False, compare=False)
    random: bool = False
    min_groups: int = 1

    def __post_init__(self) -> None:
        self.torchjd(max(2, self.min_groups))  # fail at config time on a bad hyperparameter or a missing extra

    def torchjd(self, n_groups: int) -> WeightedAggregator:
        """A fresh torchjd aggregator, for ``torchjd.autojac.jac_to_grad`` or ``mtl_backward``.

        Using it directly lets the trainer avoid materialising the [G, P] matrix
        (``jac_to_grad(..., optimize_gramian_computation=True)``).

        Raises:
            InstructMTLError: if the method needs an optional package that is not installed,
                or ``n_groups`` is below ``min_groups``.
        """
        if n_groups < self.min_groups:
            raise InstructMTLError(
                f"gradient aggregator '{self.name}' needs at least {self.min_groups} task groups per step, "
                f"got {n_groups}; use more groups per step (e.g. more micro-batches) or another aggregator"
            )
        try:
            return self.make(n_groups)
        except ImportError as err:  # torchjd names the pip extra in its message
            raise InstructMTLError(f"gradient aggregator '{self.name}': {' '.join(str(err).split())}") from None

    def weights(self, group_grads: torch.Tensor, rng: Generator | None = None) -> torch.Tensor:
        """The weight of each group's gradient, so that ``self(J, rng) == weights(J, rng') @ J``
        when ``rng`` and ``rng'`` are in the same state.

        Args:
            group_grads: [G, P], one flattened gradient per task group.
            rng: the generator random methods draw from (required when ``self.random``).

        Returns:
            [G] weights (float32 or float64, on the input's device).
        """
        matrix = _as_matrix(group_grads)
        with self.isolated_rng(rng):
            return self.torchjd(matrix.shape[0]).weighting(matrix)

    def __call__(self, group_grads: torch.Tensor, rng: Generator | None = None) -> torch.Tensor:
        """Aggregates group gradients into one update.

        Args:
            group_grads: [G, P], one flattened gradient per task group (G >= 1).
            rng: the generator random methods draw from (required when ``self.random``).

        Returns:
            [P], in the input's dtype and device.
        """
        matrix = _as_matrix(group_grads)
        with self.isolated_rng(rng):
            return self.torchjd(matrix.shape[0])(matrix).to(group_grads.dtype)

    @contextmanager
    def isolated_rng(self, rng: Generator | None) -> Iterator[None]:
        """Runs the block with torch's CPU generator seeded from ``rng`` (random methods only).

        Wrap ``torchjd.autojac.jac_to_grad(..., self.torchjd(G))`` in it when using the
        torchjd object directly. The global generator's state is restored afterwards.

        Raises:
            ValueError: if the method is random and ``rng`` is None.
        """
        if not self.random:
            yield
            return
        if rng is None:
            raise ValueError(f"gradient aggregator '{self.name}' is random: pass the run's generator as rng")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_draw_seed(rng))
            yield


def _draw_seed(rng: Generator) -> int:
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**63 - 1))
    return int(torch.randint(2**63 - 1, (1,), generator=rng).item())


def _as_matrix(group_grads: torch.Tensor) -> torch.Tensor:
    if group_grads.dim() != 2 or group_grads.shape[0] == 0:
        raise ValueError(f"group gradients must be a [G, P] matrix with G >= 1, got shape {tuple(group_grads.shape)}")
    return group_grads.float() if group_grads.dtype in _UPCAST else group_grads.detach()
