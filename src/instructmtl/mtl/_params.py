"""Checks for strategy hyperparameters, run in each strategy's constructor.

A strategy is built from a config (name + keyword hyperparameters), so a bad
value must fail when the config is read, not a thousand steps into a run. The
checks raise :class:`ValueError` with a short reason; :func:`instructmtl.mtl.build`
turns that into a one-line :class:`~instructmtl.errors.InstructMTLError` that
names the strategy and its accepted parameters.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from numbers import Integral, Real


def _is_real(value: object) -> bool:
    # bool is an int subclass; `temperature: true` in YAML is a typo, not 1.0.
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))


def finite(name: str, value: object) -> None:
    """Requires a finite number."""
    if not _is_real(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")


def positive(name: str, value: object) -> None:
    """Requires a finite number > 0."""
    if not (_is_real(value) and float(value) > 0):  # type: ignore[arg-type]  # _is_real checked it is a number
        raise ValueError(f"{name} must be a number > 0, got {value!r}")


def non_negative(name: str, value: object) -> None:
    """Requires a finite number >= 0."""
    if not (_is_real(value) and float(value) >= 0):  # type: ignore[arg-type]  # _is_real checked it is a number
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")


def unit_interval(name: str, value: object, *, include_low: bool = True, include_high: bool = True) -> None:
    """Requires a number in [0, 1], with either end optionally excluded."""
    ok = _is_real(value)
    if ok:
        x = float(value)  # type: ignore[arg-type]  # _is_real checked it is a number
        ok = (x > 0 or (include_low and x == 0)) and (x < 1 or (include_high and x == 1))
    if not ok:
        low, high = "[" if include_low else "(", "]" if include_high else ")"
        raise ValueError(f"{name} must be a number in {low}0, 1{high}, got {value!r}")


def positive_int(name: str, value: object, *, allow_none: bool = False) -> None:
    """Requires an integer >= 1 (or None where ``allow_none``)."""
    if allow_none and value is None:
        return
    if not (isinstance(value, Integral) and not isinstance(value, bool) and int(value) >= 1):
        extra = " or null" if allow_none else ""
        raise ValueError(f"{name} must be an integer >= 1{extra}, got {value!r}")


def one_of(name: str, value: object, options: Collection[str]) -> None:
    """Requires one of a fixed set of strings."""
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(sorted(options))}, got {value!r}")
