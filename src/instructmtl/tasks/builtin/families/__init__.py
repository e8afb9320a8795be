"""Every built-in task family, in the fixed order that numbers the tasks.

The order is part of the suite's identity: task ``builtinNNN`` is the NNN-th
entry of :func:`instructmtl.tasks.builtin.catalog.catalog`, which walks these
families round-robin. Reordering or inserting families renumbers tasks, so new
families go at the end.
"""

from __future__ import annotations

from instructmtl.tasks.builtin.families import (
    arithmetic,
    ciphers,
    counting,
    formatting,
    lists,
    lookup,
    membership,
    numbers,
    sentiment,
    sorting,
    strings,
    verification,
    words,
)
from instructmtl.tasks.builtin.families._common import Family

FAMILIES: tuple[Family, ...] = (
    *lists.FAMILIES,
    *arithmetic.FAMILIES,
    *counting.FAMILIES,
    *sorting.FAMILIES,
    *strings.FAMILIES,
    *ciphers.FAMILIES,
    *formatting.FAMILIES,
    *lookup.FAMILIES,
    *verification.FAMILIES,
    *membership.FAMILIES,
    *numbers.FAMILIES,
    *words.FAMILIES,
    *sentiment.FAMILIES,
)

__all__ = ["FAMILIES", "Family"]
