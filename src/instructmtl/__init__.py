"""instructmtl: instruction-tuning as multi-task learning, and what it does to unseen tasks.

See docs/ARCHITECTURE.md for the parts and how data flows through a study.
"""

from instructmtl.errors import (
    ConfigError,
    InstructMTLError,
    PromptTooLongError,
    SplitError,
    TaskFormatError,
    TrainingDivergedError,
    UnknownNameError,
)
from instructmtl.registry import Registry

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "InstructMTLError",
    "PromptTooLongError",
    "Registry",
    "SplitError",
    "TaskFormatError",
    "TrainingDivergedError",
    "UnknownNameError",
    "__version__",
]
