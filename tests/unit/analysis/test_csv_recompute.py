"""Every claim can be recomputed from the CSV export alone (read back by read_scores_csv), with the same numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from instructmtl.analysis import ResultTable, evaluate_claims, read_scores_csv, records_from_rows
from instructmtl.analysis.claims_forgetting import claim_forgetting
from instructmtl.results.store import ResultsStore, results_path
from unit.analysis.synthetic import ArmTruth, fill_store, synthetic_rows


def test_claims_from_the_csv_export_equal_claims_from_the_store(tmp_path: Path) -> None:
    arms = {"baseline": ArmTruth(forget=-0.1), "replay_0.2": ArmTruth(forget=-0.03, icl_shift=0.02)}
    rows = synthetic_rows(arms, rng=np.random.default_rng(0), n_tasks=6, n_train=3, seeds=(0, 1))
    fill_store(results_path(tmp_path), rows)
    with ResultsStore.open(results_path(tmp_path)) as store:
        from_store = records_from_rows(store.scores_frame(), "store")
        csv_path = store.export(tmp_path / "scores.csv", format="csv")  # what `instructmtl export` writes
    from_csv = read_scores_csv(csv_path)
    assert len(from_csv) == len(rows) and from_csv == from_store  # every value equal after the round trip

    # one claim through the same function, from each source
    one = [claim_forgetting(ResultTable(src), "baseline", "transfer") for src in (from_store, from_csv)]
    assert one[0] == one[1]
    assert one[0].estimate < 0 and one[0].n_tasks == 6

    # and the whole set
    def all_claims(records: list) -> list[dict]:
        return [
            c.to_json()
            for c in evaluate_claims(
                ResultTable(records),
                baseline_arm="baseline",
                replay_arms=["replay_0.2"],
                rng=np.random.default_rng(9),
                n_resamples=300,
            )
        ]

    assert all_claims(from_csv) == all_claims(from_store)
