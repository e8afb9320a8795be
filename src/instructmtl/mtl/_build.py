"""Building a strategy from its registered name plus keyword hyperparameters.

This is the one place where a config's ``{name: ..., **params}`` becomes an
object, so it is also the one place that turns a bad parameter into the
project's one-line error: the user sees which strategy, what is wrong, and
which parameters it accepts.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeVar

from instructmtl.errors import InstructMTLError
from instructmtl.registry import Registry

T = TypeVar("T")


def accepted_params(constructor: Callable[..., object]) -> str:
    """Describes a constructor's keyword parameters, e.g. ``"cap=None, temperature=2.0"``.

    Args:
        constructor: a registered strategy class or factory function.

    Returns:
        The parameters with their defaults (``name`` alone when required), or ``"none"``.
    """
    parts = []
    for param in inspect.signature(constructor).parameters.values():
        default = "" if param.default is inspect.Parameter.empty else f"={param.default!r}"
        parts.append(f"{param.name}{default}")
    return ", ".join(parts) or "none"


def build(registry: Registry[Callable[..., T]], name: str, /, **params: object) -> T:
    """Constructs the strategy registered as ``name`` with keyword hyperparameters.

    Args:
        registry: the registry of one kind of strategy (e.g. ``SAMPLERS``).
        name: the registered name, as written in the config.
        **params: the strategy's hyperparameters, as written in the config.

    Returns:
        The constructed (immutable) strategy.

    Raises:
        UnknownNameError: if ``name`` is not registered (with close matches).
        InstructMTLError: one line naming the strategy, the problem and the accepted
            parameters, if a parameter is unknown, missing or has a bad value.
    """
    constructor = registry.get(name)
    where = f"{registry.kind} '{name}'"
    accepted = accepted_params(constructor)
    try:
        inspect.signature(constructor).bind(**params)
    except TypeError as err:  # unknown or missing keyword: a config typo
        raise InstructMTLError(f"{where}: {_one_line(err)}; accepted parameters: {accepted}") from None
    try:
        return constructor(**params)
    except ValueError as err:  # a strategy's own range/type checks (see mtl/_params.py)
        raise InstructMTLError(f"{where}: {_one_line(err)}; accepted parameters: {accepted}") from None


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())
