"""The generic registry: names, duplicates, close-match errors."""

from __future__ import annotations

import pytest

from instructmtl.errors import InstructMTLError, UnknownNameError
from instructmtl.registry import Registry


def test_registered_object_is_returned_by_name() -> None:
    reg: Registry[type] = Registry("widget")

    @reg.register("alpha")
    class Alpha:
        pass

    assert reg.get("alpha") is Alpha
    assert "alpha" in reg and len(reg) == 1
    assert reg.names() == ["alpha"]


def test_duplicate_name_is_an_error() -> None:
    reg: Registry[int] = Registry("widget")
    reg.add("a", 1)
    with pytest.raises(InstructMTLError, match="registered twice"):
        reg.add("a", 2)
    assert reg.get("a") == 1


def test_unknown_name_lists_close_matches_on_one_line() -> None:
    reg: Registry[int] = Registry("task sampler")
    for name in ("proportional", "temperature", "uniform"):
        reg.add(name, 0)
    with pytest.raises(UnknownNameError) as info:
        reg.get("proportionl")
    message = str(info.value)
    assert "unknown task sampler 'proportionl'" in message
    assert "Did you mean: proportional" in message
    assert "\n" not in message
