"""A synthetic study folder (results store only), shared by the report tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from instructmtl.results.store import results_path
from unit.analysis.synthetic import ArmTruth, fill_store, synthetic_rows


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    arms = {
        "baseline": ArmTruth(forget=-0.1, icl_shift=-0.05, gen_nll=1.2, fit_nll=0.7),
        "uniform": ArmTruth(forget=-0.15, icl_shift=-0.1, gen_nll=1.4, fit_nll=0.5),
        "replay_0.2": ArmTruth(forget=-0.02, icl_shift=0.02, gen_nll=1.0, fit_nll=0.9),
    }
    rows = synthetic_rows(
        arms, rng=np.random.default_rng(0), n_tasks=6, n_train=3, seeds=(0, 1), link=1.0, task_spread=0.1, halves=True
    )
    folder = tmp_path_factory.mktemp("study")
    fill_store(results_path(folder), rows)
    return folder
