"""Mixtures of mixtures, as in seqio: named groups of tasks, each with its own sampler and a rate.

A mixture first picks a component with probability ``rate_c / sum(rates)``,
then a task inside it with the component's own sampler (which sees only its
tasks' sizes, and may itself be a :class:`Mixture`)::

    p(t) = rate_c / sum_d rate_d * p_c(t | sizes of c's tasks)    for t in c

This lets a study fix, say, the share of classification versus generation
tasks while sampling proportionally inside each share. Rates are numbers;
seqio's "rate as a function of the task" is covered by the sub-samplers.
Every training task must be in exactly one component, so a task can neither
vanish from the mixture nor be counted twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from instructmtl.errors import InstructMTLError
from instructmtl.mtl import _params
from instructmtl.mtl.sampling._common import TaskSampler, check_inputs

COMPONENT_KEYS = ("tasks", "rate", "sampler")


@dataclass(frozen=True)
class MixtureComponent:
    """One group of a mixture.

    Args:
        tasks: the task names in this group (non-empty, no repeats).
        sampler: how to sample inside the group.
        rate: the group's unnormalised share (> 0).
    """

    tasks: tuple[str, ...]
    sampler: TaskSampler
    rate: float = 1.0

    def __post_init__(self) -> None:
        if not self.tasks or len(set(self.tasks)) != len(self.tasks):
            raise ValueError(f"a mixture component needs distinct task names, got {list(self.tasks)!r}")
        _params.positive("rate", self.rate)


@dataclass(frozen=True)
class Mixture:
    """A sampler over disjoint groups of tasks; see the module docstring for the formula.

    Args:
        components: the groups (at least one; no task in two groups).
    """

    components: tuple[MixtureComponent, ...]

    def __post_init__(self) -> None:
        if not self.components:
            raise ValueError("a mixture needs at least one component")
        listed = [task for comp in self.components for task in comp.tasks]
        twice = sorted({task for task in listed if listed.count(task) > 1})
        if twice:
            raise ValueError(f"task(s) {', '.join(twice[:5])} appear in more than one component")

    def probabilities(self, sizes: Mapping[str, int], progress: float) -> dict[str, float]:
        """See :class:`~instructmtl.mtl.sampling.TaskSampler`.

        Raises:
            InstructMTLError: if the training tasks and the components' tasks differ.
        """
        check_inputs(sizes, progress)
        self._check_coverage(sizes)
        total_rate = math.fsum(comp.rate for comp in self.components)
        out: dict[str, float] = {}
        for comp in self.components:
            inner = comp.sampler.probabilities({task: sizes[task] for task in comp.tasks}, progress)
            share = comp.rate / total_rate
            out.update({task: share * p for task, p in inner.items()})
        return {name: out[name] for name in sizes}

    def _check_coverage(self, sizes: Mapping[str, int]) -> None:
        listed = {task for comp in self.components for task in comp.tasks}
        missing, extra = sorted(set(sizes) - listed), sorted(listed - set(sizes))
        if missing:
            raise InstructMTLError(
                f"mixture sampler: training task(s) {', '.join(missing[:5])} are in no component; "
                "add them to a component's tasks"
            )
        if extra:
            raise InstructMTLError(
                f"mixture sampler: component task(s) {', '.join(extra[:5])} are not training tasks; "
                "remove them from the mixture or add them to the split"
            )


def mixture_from_config(
    components: Sequence[Mapping[str, object]],
    build_sampler: Callable[..., TaskSampler],
) -> Mixture:
    """Builds a :class:`Mixture` from its config form.

    Each component is a mapping ``{"tasks": [...], "rate": 1.0, "sampler": S}``
    where ``S`` is a registered sampler name or ``{"name": ..., **params}``
    (which may be another ``mixture``).

    Args:
        components: the components as read from YAML.
        build_sampler: ``build_sampler(name, **params)``, i.e. :func:`instructmtl.mtl.build`
            bound to the sampler registry (passed in so this module needs no registry).

    Returns:
        The mixture.

    Raises:
        ValueError: on a malformed component (turned into a one-line error by ``build``).
    """
    built = []
    for i, spec in enumerate(components):
        if not isinstance(spec, Mapping):
            raise ValueError(f"components[{i}] must be a mapping with keys {', '.join(COMPONENT_KEYS)}")
        unknown = sorted(set(spec) - set(COMPONENT_KEYS))
        if unknown or "tasks" not in spec or "sampler" not in spec:
            raise ValueError(
                f"components[{i}] needs keys tasks, sampler (and optional rate); got {', '.join(sorted(spec))}"
            )
        sampler_spec = spec["sampler"]
        if isinstance(sampler_spec, str):
            sampler = build_sampler(sampler_spec)
        elif isinstance(sampler_spec, Mapping) and isinstance(sampler_spec.get("name"), str):
            params = {k: v for k, v in sampler_spec.items() if k != "name"}
            sampler = build_sampler(sampler_spec["name"], **params)
        else:
            raise ValueError(f"components[{i}].sampler must be a name or a mapping with a 'name' key")
        tasks = spec["tasks"]
        if isinstance(tasks, str) or not isinstance(tasks, Sequence):
            raise ValueError(f"components[{i}].tasks must be a list of task names")
        rate = {"rate": spec["rate"]} if "rate" in spec else {}
        # MixtureComponent validates rate itself (a YAML value, typed object here)
        built.append(MixtureComponent(tuple(tasks), sampler, **rate))  # type: ignore[arg-type]
    return Mixture(tuple(built))
