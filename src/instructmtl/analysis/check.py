"""One validity check of a study, and which claims it guards.

DESIGN.md ("Validity"): a verdict about instruction-tuning means nothing
unless the study really instruction-tuned and measured cleanly. Whoever can
see the study (the runner, from the store) computes each check as a
:class:`Check`; :func:`~instructmtl.analysis.claims.evaluate_claims` turns the
claims a failed check guards into ``invalid``, and the report lists the checks
before any claim. Analysis never computes checks itself: it has only the score
table, while checks need training logs, corpora and configs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Check"]


def _json_number(value: float | str | None) -> float | str | None:
    # JSON has no NaN; an unmeasured figure reads as null
    return None if isinstance(value, float) and math.isnan(value) else value


@dataclass(frozen=True)
class Check:
    """The outcome of one validity check.

    Attributes:
        name: what was checked, e.g. ``tuning fitted (proportional)``.
        passed: True / False; None when it could not be checked (e.g. leakage
            into a streamed corpus that cannot be scanned).
        value: the measured figure.
        threshold: the figure it had to clear.
        detail: one line with the figures, for a reader.
        claims: id prefixes of the claims it guards (a claim id starting with
            one of them); ``("*",)`` guards every claim.
    """

    name: str
    passed: bool | None
    value: float | str | None
    threshold: float | str | None
    detail: str
    claims: tuple[str, ...]

    def guards(self, claim_id: str) -> bool:
        """Whether this check's outcome bears on the claim ``claim_id``."""
        return any(prefix == "*" or claim_id.startswith(prefix) for prefix in self.claims)

    def to_json(self) -> dict[str, object]:
        """A JSON-able dict: name, passed, value, threshold, detail, claims (NaN becomes ``None``)."""
        return {
            "name": self.name,
            "passed": self.passed,
            "value": _json_number(self.value),
            "threshold": _json_number(self.threshold),
            "detail": self.detail,
            "claims": list(self.claims),
        }
