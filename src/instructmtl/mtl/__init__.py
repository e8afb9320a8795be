"""Multi-task learning strategies for instruction-tuning, each a small immutable object chosen by name.

Every strategy is registered by name in one registry per kind and built from
its name plus keyword hyperparameters (as written in the config)::

    from instructmtl.mtl import SAMPLERS, build
    sampler = build(SAMPLERS, "anneal", cap=3000, horizon=0.5, shape="cosine")

:func:`build` turns an unknown or bad parameter into a one-line
:class:`~instructmtl.errors.InstructMTLError` naming the strategy and the
parameters it accepts (an unknown name lists close matches). Strategies hold
only hyperparameters; the little state some need is an explicit object the
training loop owns and passes in: the loss weighting's learned parameters
(saved with the resumable state) and the regularizer's anchor (made again
from the base model on resume).

How the training loop uses them (one optimizer step of ``B`` examples, at
``progress = step / total_steps``; ``rng`` is a ``numpy.random.Generator`` or
``torch.Generator`` seeded by the run seed and the step, so a resumed run needs no
generator state):

1. **Replay** — ``ReplayPlan(ratio, weight)``: ``n_inst, n_rep = plan.split_batch(B, step)``
   (exact over steps, a pure function of ``step``); later
   ``loss = plan.combine(instruction_loss, replay_loss or None)``.
2. **Task sampling** — ``SAMPLERS``: ``p = sampler.probabilities(sizes, progress)`` with
   ``sizes = {task: n_train_examples}``; returns ``{task: prob}`` summing to 1.
   Registered: ``proportional`` (cap), ``temperature`` (temperature, cap), ``uniform``,
   ``anneal`` / ``reverse_anneal`` (cap, horizon, shape), ``mixture`` (components).
3. **Batch composition** — ``BATCHING``: ``micro = composer.compose(p, n_inst, micro_batch_size, rng)``
   → ``list[list[str]]``, the task of each example per micro-batch. ``mixed`` or
   ``homogeneous`` (one task per micro-batch). The loop counts the examples drawn per
   task; those counts and the step are the whole data position of a resumed run.
4. **Loss weighting** — ``WEIGHTINGS``: once, ``wstate = weighting.init_state(groups, device)``
   and add ``wstate.parameters()`` to the optimizer; each step
   ``loss = weighting.combine({group: loss_g}, wstate)`` (groups present this step only);
   checkpoint ``wstate.state_dict()`` / ``wstate.load_state_dict(...)``. ``equal``, ``uncertainty``.
5. **Gradient aggregation** — ``AGGREGATORS`` (torchjd): with one gradient per task group
   flattened into ``J`` of shape [G, P], ``update = aggregator(J, rng=gen)`` → [P] to write
   into ``.grad``; ``aggregator.weights(J, rng=gen)`` gives the [G] weights. ``rng`` is only
   required by random methods (``aggregator.random``: ``pcgrad``); passing it always is
   simplest. ``aggregator.torchjd(G)`` gives a fresh torchjd aggregator for
   ``torchjd.autojac.backward`` + ``jac_to_grad`` (no [G, P] copy; wrap that call in
   ``with aggregator.isolated_rng(gen):``). Registered: ``mean``, ``upgrad``, ``pcgrad``,
   ``mgda``, ``cagrad``, ``imtl_g``, ``aligned_mtl``, ``nash_mtl`` (needs >= 2 groups per
   step), ``dualproj``. Aggregation replaces loss weighting (it combines gradients, not
   losses); with ``mean`` it equals ``equal`` weighting. Not registered on purpose: torchjd's
   GradDrop (draws from the device's global RNG), GradVac (hidden EMA state), Krum and
   TrimmedMean (Byzantine-robust averaging, not MTL methods).
6. **Regularizer** — ``REGULARIZERS``: once, on the base model,
   ``anchor = reg.make_anchor(model, FisherSource(corpus_batches, lm_loss_fn) if reg.needs_fisher else None)``;
   each step ``loss = loss + reg.penalty(model, anchor)``. The anchor is not saved: a resumed
   run makes it again from the base model (and the same seeded corpus batches), which gives
   the same anchor. ``none``, ``l2sp`` (alpha), ``ewc`` (lam, fisher_batches).
7. **Diagnostics** — ``gradient_conflict(J)`` → :class:`ConflictDiagnostics` (directional and
   magnitude conflict, mean pairwise cosine, fraction of conflicting pairs), for logging.

Adding a strategy is one module and one registration line below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from instructmtl.mtl import aggregation, sampling
from instructmtl.mtl._build import accepted_params, build
from instructmtl.mtl.aggregation import JacobianAggregator
from instructmtl.mtl.batching import BatchComposer, Homogeneous, Mixed
from instructmtl.mtl.diagnostics import ConflictDiagnostics, gradient_conflict
from instructmtl.mtl.regularizers import EWC, L2SP, Anchor, FisherSource, NoRegularizer, Regularizer, estimate_fisher
from instructmtl.mtl.replay import ReplayPlan
from instructmtl.mtl.sampling import Mixture, MixtureComponent, TaskSampler, draw_tasks
from instructmtl.mtl.weighting import Equal, LossWeighting, Uncertainty, WeightingState
from instructmtl.registry import Registry

SAMPLERS: Registry[Callable[..., TaskSampler]] = Registry("task sampler")
BATCHING: Registry[Callable[..., BatchComposer]] = Registry("batch composition")
AGGREGATORS: Registry[Callable[..., JacobianAggregator]] = Registry("gradient aggregator")
WEIGHTINGS: Registry[Callable[..., LossWeighting]] = Registry("loss weighting")
REGULARIZERS: Registry[Callable[..., Regularizer]] = Registry("regularizer")


def _mixture(components: Sequence[Mapping[str, Any]]) -> Mixture:
    """``mixture`` from config: components whose samplers are names or ``{name, **params}``."""
    return sampling.mixture_from_config(components, lambda name, **params: build(SAMPLERS, name, **params))


SAMPLERS.add("proportional", sampling.Proportional)
SAMPLERS.add("temperature", sampling.Temperature)
SAMPLERS.add("uniform", sampling.Uniform)
SAMPLERS.add("anneal", sampling.Anneal)
SAMPLERS.add("reverse_anneal", sampling.ReverseAnneal)
SAMPLERS.add("mixture", _mixture)

BATCHING.add("mixed", Mixed)
BATCHING.add("homogeneous", Homogeneous)

AGGREGATORS.add("mean", aggregation.mean)
AGGREGATORS.add("upgrad", aggregation.upgrad)
AGGREGATORS.add("pcgrad", aggregation.pcgrad)
AGGREGATORS.add("mgda", aggregation.mgda)
AGGREGATORS.add("cagrad", aggregation.cagrad)
AGGREGATORS.add("imtl_g", aggregation.imtl_g)
AGGREGATORS.add("aligned_mtl", aggregation.aligned_mtl)
AGGREGATORS.add("nash_mtl", aggregation.nash_mtl)
AGGREGATORS.add("dualproj", aggregation.dualproj)

WEIGHTINGS.add("equal", Equal)
WEIGHTINGS.add("uncertainty", Uncertainty)

REGULARIZERS.add("none", NoRegularizer)
REGULARIZERS.add("l2sp", L2SP)
REGULARIZERS.add("ewc", EWC)

__all__ = [
    "AGGREGATORS",
    "BATCHING",
    "REGULARIZERS",
    "SAMPLERS",
    "WEIGHTINGS",
    "Anchor",
    "BatchComposer",
    "ConflictDiagnostics",
    "FisherSource",
    "JacobianAggregator",
    "LossWeighting",
    "Mixture",
    "MixtureComponent",
    "Regularizer",
    "ReplayPlan",
    "TaskSampler",
    "WeightingState",
    "accepted_params",
    "build",
    "draw_tasks",
    "estimate_fisher",
    "gradient_conflict",
]
