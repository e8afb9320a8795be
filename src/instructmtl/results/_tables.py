"""Writers of the score table (the store's exports): CSV and parquet, same columns and order."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from instructmtl.results._schema import FLOAT_COLUMNS, INT_COLUMNS, SCORE_COLUMNS

__all__ = ["write_csv", "write_parquet"]


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Writes rows keyed by :data:`SCORE_COLUMNS` as CSV (floats at ``repr`` precision, so exact)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=SCORE_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def write_parquet(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Writes rows keyed by :data:`SCORE_COLUMNS` as parquet with an explicit schema (ints, float64, strings)."""
    import pyarrow as pa  # imported here: only exports need it
    import pyarrow.parquet as pq

    def arrow_type(col: str) -> pa.DataType:
        return pa.int64() if col in INT_COLUMNS else pa.float64() if col in FLOAT_COLUMNS else pa.string()

    schema = pa.schema([(col, arrow_type(col)) for col in SCORE_COLUMNS])
    pq.write_table(pa.Table.from_pylist(list(rows), schema=schema), path)
