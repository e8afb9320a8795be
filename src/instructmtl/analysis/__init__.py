"""Statistics and claims: pure functions over score tables (nothing here imports training code).

Read a study's scores (from the store's :meth:`scores_frame` or a CSV export)
with :func:`records_from_rows` / :func:`read_scores_csv`, wrap them in a
:class:`ResultTable`, then call :func:`evaluate_claims` (with the study's
validity :class:`Check` results) and the table functions.
"""

from instructmtl.analysis.bootstrap import (
    DEFAULT_RESAMPLES,
    Interval,
    Panel,
    UnitCorrelation,
    task_correlation,
    unit_correlation,
)
from instructmtl.analysis.check import Check
from instructmtl.analysis.claims import evaluate_claims
from instructmtl.analysis.measures import QUANTITIES, Quantity, ResultTable, at_earliest, at_final
from instructmtl.analysis.records import ScoreRecord, read_scores_csv, records_from_rows
from instructmtl.analysis.reliability import attenuation_ceiling, spearman_brown, split_half_reliability
from instructmtl.analysis.stats import CORRELATIONS, correlation, correlation_rows
from instructmtl.analysis.tables import (
    ArmRow,
    Curve,
    Heatmap,
    TaskRow,
    arm_table,
    curves,
    final_task_means,
    task_table,
    transfer_heatmap,
)
from instructmtl.analysis.variance import Components, Design, difference_interval, mean_intervals
from instructmtl.analysis.verdict import DEFAULT_THRESHOLD, Claim, Verdict, verdict

__all__ = [
    "CORRELATIONS",
    "DEFAULT_RESAMPLES",
    "DEFAULT_THRESHOLD",
    "QUANTITIES",
    "ArmRow",
    "Check",
    "Claim",
    "Components",
    "Curve",
    "Design",
    "Heatmap",
    "Interval",
    "Panel",
    "Quantity",
    "ResultTable",
    "ScoreRecord",
    "TaskRow",
    "UnitCorrelation",
    "Verdict",
    "arm_table",
    "attenuation_ceiling",
    "at_earliest",
    "at_final",
    "correlation",
    "correlation_rows",
    "curves",
    "difference_interval",
    "evaluate_claims",
    "final_task_means",
    "mean_intervals",
    "read_scores_csv",
    "records_from_rows",
    "spearman_brown",
    "split_half_reliability",
    "task_correlation",
    "task_table",
    "transfer_heatmap",
    "unit_correlation",
    "verdict",
]
