"""Gradient-conflict diagnostics of a matrix of group gradients [K, P] (pure functions).

Following the authors' earlier work on text-to-text multi-task learners
(Mueller, Andrews & Dredze 2022), with ``u_k = g_k / |g_k|`` the unit group
gradients:

* **directional conflict** ``= |mean_k u_k|^2 - 1/K``, exactly as written in
  DESIGN.md. Expanding the square gives ``(K-1)/K * mean pairwise cosine``:
  it is ``(K-1)/K`` (its maximum) when all groups point the same way, 0 when
  they are mutually orthogonal, and negative when they oppose (``-1/2`` for
  two opposite gradients). Despite the name, *larger means more aligned*;
  the ``1/K`` term removes the value that K random (orthogonal) directions
  would give, so figures with different K are comparable.
* **magnitude conflict** ``= Var_k |g_k| / (mean_k |g_k|)^2`` (population
  variance): 0 when every group's gradient has the same norm, large when one
  group dominates the update by size.
* **mean pairwise cosine** over the ``K(K-1)/2`` pairs, and the **fraction of
  conflicting pairs** (cosine < 0), as in PCGrad (Yu et al. 2020).

Everything is computed from the K×K Gram matrix, so the [K, P] matrix is
read once and never copied in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ConflictDiagnostics:
    """Conflict measures of one set of group gradients (see the module docstring).

    Args:
        n_groups: K.
        directional_conflict: ``|mean unit gradient|^2 - 1/K``, in [-1/K, (K-1)/K].
        magnitude_conflict: variance of the group gradient norms over their squared mean (>= 0).
        mean_pairwise_cosine: mean cosine over distinct pairs, in [-1, 1].
        conflicting_pair_fraction: fraction of distinct pairs with cosine < 0, in [0, 1].
    """

    n_groups: int
    directional_conflict: float
    magnitude_conflict: float
    mean_pairwise_cosine: float
    conflicting_pair_fraction: float


def gradient_conflict(group_grads: torch.Tensor) -> ConflictDiagnostics:
    """Computes the conflict diagnostics of K group gradients.

    Args:
        group_grads: [K, P], one flattened gradient per task group, K >= 2.

    Returns:
        The diagnostics, as Python floats.

    Raises:
        ValueError: if the input is not [K, P] with K >= 2, or a group gradient is zero
            (its direction, hence every cosine with it, is undefined).
    """
    if group_grads.dim() != 2 or group_grads.shape[0] < 2:
        raise ValueError(f"need a [K, P] matrix with K >= 2 groups, got shape {tuple(group_grads.shape)}")
    matrix = group_grads.detach()
    if matrix.dtype in (torch.float16, torch.bfloat16):
        matrix = matrix.float()
    gram = (matrix @ matrix.T).double().cpu()
    norms = gram.diagonal().clamp_min(0).sqrt()
    if (norms == 0).any():
        raise ValueError(f"group(s) {torch.nonzero(norms == 0).flatten().tolist()} have a zero gradient")
    k = gram.shape[0]
    cosine = (gram / torch.outer(norms, norms)).clamp(-1.0, 1.0).fill_diagonal_(1.0)
    pairs = cosine[torch.triu_indices(k, k, offset=1).unbind()]
    return ConflictDiagnostics(
        n_groups=k,
        directional_conflict=float(cosine.sum() / k**2 - 1.0 / k),
        magnitude_conflict=float(norms.var(unbiased=False) / norms.mean() ** 2),
        mean_pairwise_cosine=float(pairs.mean()),
        conflicting_pair_fraction=float((pairs < 0).double().mean()),
    )
