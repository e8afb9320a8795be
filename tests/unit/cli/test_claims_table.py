"""The claims table `instructmtl run` and `report` print: numbers stay whole at 80 columns, NaN reads as n/a."""

from __future__ import annotations

import math

from rich.console import Console

from instructmtl.analysis import Claim
from instructmtl.cli.run_cmd import claims_table

STATEMENT = "Replay mitigates forgetting: mean transfer of the replay arm minus the baseline is above 0."


def _claim(claim_id: str, estimate: float, low: float, high: float, verdict: str = "inconclusive",
           reason: str = "the 95% interval contains the threshold 0", mde: float = math.nan) -> Claim:
    return Claim(id=claim_id, statement=STATEMENT, estimate=estimate, ci_low=low, ci_high=high, n_tasks=10,
                 n_seeds=2, verdict=verdict, reason=reason, mde=mde)


def test_numbers_stay_on_one_line_at_80_columns_and_statements_are_left_to_the_report() -> None:
    console = Console(width=80, record=True)
    console.print(claims_table([_claim("4.transfer.proportional-replay", -0.0135, -0.0796, 0.0498, mde=0.0912)]))
    text = console.export_text()
    assert "[-0.080, +0.050]" in text and "-0.013" in text and "inconclusive" in text
    assert "0.091" in text  # the design's MDE beside the interval
    assert "Replay" not in text and "mitigates" not in text
    assert len([line for line in text.splitlines() if line.strip()]) <= 10


def test_invalid_claims_show_a_shortened_reason() -> None:
    reason = ("failed check: tuning fitted (proportional) (train NLL 2.01 vs base 2.03; needs a drop of 10%); "
              "no leakage (3 held-out instances in replay text)")
    console = Console(width=200, record=True)
    console.print(claims_table([_claim("2.change", 0.4, 0.1, 0.6, "invalid", reason)]))
    text = console.export_text()
    assert "invalid" in text and "failed check: tuning fitted" in text and "…" in text
    assert "replay text" not in text  # the tail is cut; the report has it whole


def test_undefined_interval_reads_n_a() -> None:
    console = Console(width=120, record=True)
    console.print(claims_table([_claim("5", 0.2, math.nan, math.nan)]))
    assert "[n/a, n/a]" in console.export_text()
