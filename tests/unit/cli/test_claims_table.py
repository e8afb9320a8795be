"""The claims table `instructmtl run` prints: numbers stay whole on a narrow terminal, NaN reads as n/a."""

from __future__ import annotations

import math

from rich.console import Console

from instructmtl.analysis.claims import Claim
from instructmtl.cli.run_cmd import claims_table


def _claim(claim_id: str, estimate: float, low: float, high: float) -> Claim:
    return Claim(id=claim_id, statement="Replay mitigates forgetting: mean transfer of the replay arm minus the "
                 "baseline is above 0.", estimate=estimate, ci_low=low, ci_high=high, n_tasks=10, n_seeds=2,
                 verdict="inconclusive")


def test_intervals_and_estimates_stay_on_one_line_at_80_columns() -> None:
    console = Console(width=80, record=True)
    console.print(claims_table([_claim("4.transfer.proportional-replay", -0.0135, -0.0796, 0.0498)]))
    text = console.export_text()
    assert "[-0.080, +0.050]" in text and "-0.013" in text
    assert "Replay" in text and "inconclusive" in text


def test_undefined_interval_reads_n_a() -> None:
    console = Console(width=120, record=True)
    console.print(claims_table([_claim("5", 0.2, math.nan, math.nan)]))
    assert "[n/a, n/a]" in console.export_text()
