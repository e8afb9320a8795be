"""The project's error types.

Every error a user can cause by their input (a file, a config key, a name)
is an :class:`InstructMTLError`. Its message is one line that names *where*
the problem is and *what to do*, because the CLI prints exactly that line and
exits non-zero; a traceback would bury it.
"""

from __future__ import annotations

from pathlib import Path


class InstructMTLError(Exception):
    """Base class of errors caused by user input; the message is one line."""


class UnknownNameError(InstructMTLError, KeyError):
    """A registered plug-in (task, strategy, metric...) was asked for by an unknown name."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0])


class TaskFormatError(InstructMTLError):
    """A task file or dataset row breaks the SNI schema.

    Args:
        source: the file (or dataset) that holds the problem.
        field: the field at fault, e.g. ``Instances[3].output``.
        problem: what is wrong.
        fix: what the user should do about it.
    """

    def __init__(self, source: str | Path, field: str, problem: str, fix: str) -> None:
        self.source = str(source)
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.source}: field '{field}': {problem}; fix: {fix}")


class SplitError(InstructMTLError):
    """A split (train/held-out tasks) is unknown, refers to missing tasks, or leaks."""


class ConfigError(InstructMTLError):
    """A config key has a value that is not allowed."""


class PromptTooLongError(InstructMTLError):
    """A prompt cannot fit the context even after dropping demonstrations and trimming the input."""


class TrainingDivergedError(InstructMTLError):
    """The loss became NaN or infinite."""
