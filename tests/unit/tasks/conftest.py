"""Fixtures for the task-layer tests: the tiny valid SNI folder and the broken fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture
def tiny_dir() -> Path:
    """A four-task SNI folder (tests/fixtures/tasks/sni_tiny) with splits ``default`` and ``copy_only``."""
    return FIXTURES / "tasks" / "sni_tiny"


@pytest.fixture
def broken_dir() -> Path:
    """tests/fixtures/broken: one tiny invalid file or SNI folder per kind of error."""
    return FIXTURES / "broken"
