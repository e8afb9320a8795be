"""The claims table `instructmtl run` and `report` print: one line per claim at 80 columns, NaN reads as n/a."""

from __future__ import annotations

import math

from rich.console import Console

from instructmtl.analysis import Claim
from instructmtl.cli.run_cmd import claims_table

STATEMENT = "Replay mitigates forgetting: mean transfer of the replay arm minus the baseline is above 0."


def _claim(
    claim_id: str,
    estimate: float,
    low: float,
    high: float,
    verdict: str = "inconclusive",
    reason: str = "the 95% interval contains the threshold 0",
    mde: float = math.nan,
) -> Claim:
    return Claim(
        id=claim_id,
        statement=STATEMENT,
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        n_tasks=10,
        n_seeds=2,
        verdict=verdict,
        reason=reason,
        mde=mde,
    )


def test_each_claim_is_one_line_within_80_columns_and_statements_are_left_to_the_report() -> None:
    console = Console(width=80, record=True)
    console.print(
        claims_table(
            [
                _claim("4.transfer.replay_0.2", -0.0135, -0.0796, 0.0498, mde=0.0912),
                _claim("1", -0.041, -0.07, -0.01, "supported", "below the threshold", mde=0.03),
            ]
        )
    )
    lines = console.export_text().splitlines()
    rows = [line.rstrip() for line in lines if line.startswith("│")]
    assert all(len(line.rstrip()) <= 80 for line in lines) and all(row.endswith("│") for row in rows)  # none cut off
    assert len(rows) == 2  # one line per claim
    assert [cell.strip() for cell in rows[0].strip("│ ").split("│")] == [
        "4.transfer.replay_0.2",
        "-0.013",
        "[-0.080, +0.050]",
        "0.091",
        "inconclusive",
    ]
    text = "\n".join(lines)
    assert "Replay" not in text and "mitigates" not in text  # the statement
    assert "threshold" not in text  # the reason


def test_invalid_claims_leave_their_reason_to_the_report() -> None:
    reason = "failed check: tuning fitted (proportional) (train NLL 2.01 vs base 2.03; needs a drop of 10%)"
    console = Console(width=80, record=True)
    console.print(claims_table([_claim("2.change", 0.4, 0.1, 0.6, "invalid", reason)]))
    text = console.export_text()
    assert "invalid" in text and "failed check" not in text


def test_undefined_interval_reads_n_a() -> None:
    console = Console(width=120, record=True)
    console.print(claims_table([_claim("5", 0.2, math.nan, math.nan)]))
    assert "[n/a, n/a]" in console.export_text()
