"""Score records: the one typed row every analysis function takes.

The analysis reads rows from the results store (dicts) or from its CSV
export (strings) through :func:`records_from_rows`, so both give the same
records and every claim can be recomputed from an export alone. This module
does not import the store: analysis works on tables, whatever produced them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from instructmtl.errors import InstructMTLError

__all__ = [
    "LOWER_IS_BETTER",
    "PRIMARY_PREFERENCE",
    "ScoreRecord",
    "read_scores_csv",
    "records_from_rows",
]

# Metrics where a smaller value is the better model (the sign of transfer flips).
LOWER_IS_BETTER = frozenset({"target_nll"})
# Per task and measure, the first of these present is the task's primary score:
# accuracy exists only for classification tasks (rank classification), where it
# is the natural score; generation tasks are scored by ROUGE-L as in SNI.
PRIMARY_PREFERENCE: tuple[str, ...] = ("accuracy", "rouge_l", "exact_match")


@dataclass(frozen=True, slots=True)
class ScoreRecord:
    """One task-level score of one model (the columns analysis needs).

    Attributes:
        arm: the tuning arm (the base model's rows carry the runner's base arm name).
        seed: seed of the run.
        step: checkpoint step; 0 is the base model.
        fraction: ``step / total steps`` (0 for the base).
        task: task name.
        task_role: ``train`` or ``held_out``.
        measure: ``icl``, ``mtl_fit``, ``mtl_gen``, ``finetune`` (or ``transfer`` /
            ``icl_change`` for rows derived by :func:`instructmtl.analysis.measures.change_rows`).
        encoding: prompt encoding.
        k: demonstrations (icl) or training instances (finetune).
        metric: metric name.
        value: the score.
        checkpoint_id: the evaluated model.
        subset: which of the task's eval instances were scored: ``""`` all of
            them; ``"a"`` / ``"b"`` two disjoint halves (assigned by the
            producer), so that two quantities of one task can be measured on
            independent instances (claim 2) and their reliability estimated.
    """

    arm: str
    seed: int
    step: int
    fraction: float
    task: str
    task_role: str
    measure: str
    encoding: str
    k: int
    metric: str
    value: float
    checkpoint_id: str
    subset: str = ""

    @classmethod
    def from_mapping(cls, row: Mapping[str, object], where: str) -> ScoreRecord:
        """Builds a record from a store row (typed) or a CSV row (strings).

        Args:
            row: a mapping with at least this class's field names as keys;
                ``subset`` may be missing (exports written before subsets
                existed), which reads as ``""`` (all eval instances), as does
                an empty or null value.
            where: names the row in errors (e.g. ``scores.csv line 12``).

        Raises:
            InstructMTLError: a column is missing or has no usable value.
        """
        try:
            return cls(
                arm=str(row["arm"]),
                seed=int(str(row["seed"])),
                step=int(str(row["step"])),
                fraction=float(str(row["fraction"])),
                task=str(row["task"]),
                task_role=str(row["task_role"]),
                measure=str(row["measure"]),
                encoding=str(row["encoding"]),
                k=int(str(row["k"])),
                metric=str(row["metric"]),
                value=float(str(row["value"])),
                checkpoint_id=str(row["checkpoint_id"]),
                subset=_subset(row),
            )
        except KeyError as err:
            raise InstructMTLError(f"{where}: column {err} is missing; export the scores again") from None
        except ValueError as err:
            # the usual cause: a score whose checkpoint was never recorded has no fraction
            raise InstructMTLError(f"{where}: {err}; record the row's checkpoint and export again") from None


def _subset(row: Mapping[str, object]) -> str:
    # older exports have no subset column: every row there scored all eval instances
    value = row.get("subset")
    return "" if value is None else str(value)


def records_from_rows(rows: Iterable[Mapping[str, object]], source: str) -> list[ScoreRecord]:
    """Converts store or CSV rows into records; ``source`` names them in errors."""
    return [ScoreRecord.from_mapping(row, f"{source} row {i + 1}") for i, row in enumerate(rows)]


def read_scores_csv(path: Path) -> list[ScoreRecord]:
    """Reads a CSV written by ``instructmtl export`` back into records."""
    with path.open(newline="", encoding="utf-8") as handle:
        return records_from_rows(csv.DictReader(handle), str(path))
