"""The quantities the claims are about, selected from score records.

Each :class:`Quantity` names one measured thing (ICL score on held-out tasks,
MTL generalization NLL on seen tasks, transfer, ...): which measure and metric
its rows have, which task role, and which direction is better. A
:class:`ResultTable` holds a study's records plus the derived rows and hands
out the rows of a quantity.

Changes from the base are derived, never stored (DESIGN.md):
``transfer(c, t, n) = finetune(c, t, n) - finetune(base, t, n)`` and
``icl_change(c, t) = icl(c, t) - icl(base, t)``, each for the same seed,
task, encoding, ``k``, metric and eval subset, where the base is the step-0
model. The base model is the same whatever the arm, so its score is looked up
by those keys alone; if the store holds it under several arms the mean is used
(they are the same model, so the values agree up to nondeterminism).
For ``target_nll`` lower is better, so there *positive* transfer is the
forgetting; :attr:`Quantity.higher_is_better` carries that sign.

Eval subsets: a row's ``subset`` is ``""`` (all of a task's eval instances)
or ``"a"`` / ``"b"`` (two disjoint halves). :meth:`ResultTable.rows` hands out
one subset at a time, ``""`` unless asked, so no average ever mixes a half
with the whole.

Averaging rule: a quantity's rows are averaged over encodings and ``k``
(demonstrations or training instances) into one value per (model, task, seed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from instructmtl.analysis.records import LOWER_IS_BETTER, PRIMARY_PREFERENCE, ScoreRecord
from instructmtl.errors import InstructMTLError

__all__ = [
    "QUANTITIES",
    "PRIMARY",
    "Quantity",
    "ResultTable",
    "at_earliest",
    "at_final",
    "change_rows",
    "primary_metric_rows",
]

PRIMARY = "primary"  # stands for "each task's primary metric" in a Quantity


@dataclass(frozen=True)
class Quantity:
    """One thing the study measures.

    Attributes:
        name: key in :data:`QUANTITIES`.
        label: table label.
        short: figure-panel label, with the better direction as an arrow.
        measure: the score rows' measure (``transfer`` for derived rows).
        metric: a metric name, or :data:`PRIMARY` (per task, see
            :data:`~instructmtl.analysis.records.PRIMARY_PREFERENCE`).
        task_role: ``held_out`` or ``train``.
        min_k: rows with smaller ``k`` are left out (``n > 0`` for fine-tuning:
            with no training instances there is no fine-tune to compare).
    """

    name: str
    label: str
    short: str
    measure: str
    metric: str
    task_role: str
    min_k: int = 0

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger value means a better model (False for NLLs)."""
        return self.metric not in LOWER_IS_BETTER


def _q(name: str, label: str, short: str, measure: str, metric: str, role: str, min_k: int = 0) -> tuple[str, Quantity]:
    arrow = "↓" if metric in LOWER_IS_BETTER else "↑"
    return name, Quantity(name, label, f"{short} {arrow}", measure, metric, role, min_k)


QUANTITIES: dict[str, Quantity] = dict(
    [
        _q("transfer", "transfer (primary metric)", "transfer", "transfer", PRIMARY, "held_out", 1),
        _q("transfer_nll", "transfer (target NLL)", "transfer NLL", "transfer", "target_nll", "held_out", 1),
        _q("finetune_nll", "fine-tuned target NLL", "fine-tuned NLL", "finetune", "target_nll", "held_out", 1),
        _q("icl", "ICL score (held-out tasks)", "ICL score", "icl", PRIMARY, "held_out"),
        _q("icl_nll", "ICL target NLL (held-out tasks)", "ICL NLL", "icl", "target_nll", "held_out"),
        _q("icl_change", "ICL change from the base (primary metric)", "ICL change", "icl_change", PRIMARY, "held_out"),
        _q(
            "mtl_fit",
            "MTL fit: target NLL, seen tasks' train instances",
            "MTL fit NLL",
            "mtl_fit",
            "target_nll",
            "train",
        ),
        _q(
            "mtl_gen",
            "MTL generalization: target NLL, seen tasks' eval instances",
            "MTL gen. NLL",
            "mtl_gen",
            "target_nll",
            "train",
        ),
        _q("mtl_gen_score", "MTL generalization score (primary metric)", "MTL gen. score", "mtl_gen", PRIMARY, "train"),
    ]
)


def primary_metric_rows(records: Iterable[ScoreRecord]) -> list[ScoreRecord]:
    """Keeps, per (measure, task), only the rows of the task's primary metric.

    The primary metric is the first of ``accuracy``, ``rouge_l``,
    ``exact_match`` that the task has rows for under that measure.
    """
    records = list(records)
    present: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in records:
        present[(r.measure, r.task)].add(r.metric)
    chosen = {key: next((m for m in PRIMARY_PREFERENCE if m in metrics), None) for key, metrics in present.items()}
    return [r for r in records if chosen[(r.measure, r.task)] == r.metric]


def change_rows(records: Iterable[ScoreRecord], measure: str, as_measure: str) -> list[ScoreRecord]:
    """Derives rows of ``as_measure``: each tuned row of ``measure`` minus its base counterpart.

    One row per row of a tuned checkpoint (step > 0) whose base row (step 0,
    same seed, task, encoding, ``k``, metric and subset) exists; pairing this
    finely keeps a change from mixing encodings or halves of the eval set.

    Args:
        records: score records (other measures are ignored).
        measure: ``finetune`` (for transfer) or ``icl`` (for ICL change).
        as_measure: the derived rows' measure name.
    """
    rows = [r for r in records if r.measure == measure]
    base_values: dict[tuple[int, str, str, int, str, str], list[float]] = defaultdict(list)
    for r in rows:
        if r.step == 0:
            base_values[(r.seed, r.task, r.encoding, r.k, r.metric, r.subset)].append(r.value)
    base = {key: sum(vals) / len(vals) for key, vals in base_values.items()}
    out = []
    for r in rows:
        key = (r.seed, r.task, r.encoding, r.k, r.metric, r.subset)
        if r.step > 0 and key in base:
            out.append(replace(r, measure=as_measure, value=r.value - base[key]))
    return out


def _at_step(rows: Sequence[ScoreRecord], pick: Callable[[list[int]], int]) -> list[ScoreRecord]:
    steps: dict[tuple[str, int], list[int]] = defaultdict(list)
    for r in rows:
        if r.step > 0:
            steps[(r.arm, r.seed)].append(r.step)
    target = {key: pick(values) for key, values in steps.items()}
    return [r for r in rows if r.step > 0 and target[(r.arm, r.seed)] == r.step]


def at_final(rows: Sequence[ScoreRecord]) -> list[ScoreRecord]:
    """Rows of each (arm, seed)'s last tuned checkpoint among ``rows``."""
    return _at_step(rows, max)


def at_earliest(rows: Sequence[ScoreRecord]) -> list[ScoreRecord]:
    """Rows of each (arm, seed)'s first tuned checkpoint (step > 0) among ``rows``."""
    return _at_step(rows, min)


class ResultTable:
    """A study's score records plus derived transfer and ICL change, queried by quantity.

    Args:
        records: every score record of one study.

    Raises:
        InstructMTLError: ``records`` is empty (nothing to analyse).
    """

    def __init__(self, records: Sequence[ScoreRecord]) -> None:
        if not records:
            raise InstructMTLError("the results table is empty; run the study (or some of its jobs) first")
        self.records = tuple(records)
        derived = [*change_rows(self.records, "finetune", "transfer"), *change_rows(self.records, "icl", "icl_change")]
        self._primary = primary_metric_rows([*self.records, *derived])
        self._all = [*self.records, *derived]

    def rows(self, quantity: Quantity, *, arm: str | None = None, subset: str = "") -> list[ScoreRecord]:
        """Rows of ``quantity`` (optionally of one arm) on one eval subset, base rows (step 0) included.

        Args:
            quantity: what to select.
            arm: only this arm's rows (None: every arm).
            subset: ``""`` (all eval instances), ``"a"`` or ``"b"`` (halves).
        """
        pool = self._primary if quantity.metric == PRIMARY else self._all
        return [
            r
            for r in pool
            if r.measure == quantity.measure
            and (quantity.metric == PRIMARY or r.metric == quantity.metric)
            and r.task_role == quantity.task_role
            and r.k >= quantity.min_k
            and r.subset == subset
            and (arm is None or r.arm == arm)
        ]

    def base_rows(self, quantity: Quantity, *, subset: str = "") -> list[ScoreRecord]:
        """Rows of ``quantity`` on the base model (step 0), whatever arm they are filed under."""
        return [r for r in self.rows(quantity, subset=subset) if r.step == 0]

    def arms(self) -> tuple[str, ...]:
        """Arms with at least one tuned checkpoint (step > 0), sorted by name."""
        return tuple(sorted({r.arm for r in self.records if r.step > 0}))

    def seeds(self) -> tuple[int, ...]:
        """Seeds present, sorted."""
        return tuple(sorted({r.seed for r in self.records}))
