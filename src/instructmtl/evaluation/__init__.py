"""Evaluation: in-context learning, MTL generalization, and parameter transfer.

The scorers are model-agnostic functions over strings: a shared prompt prefix
(computed once as a KV cache), per-instance queries, and continuations or
generations; :mod:`task_scoring` applies them to one task under one prompt
encoding, and :mod:`icl` / :mod:`transfer` to whole sets of tasks.
"""

from instructmtl.evaluation.generation import generate_greedy, max_new_tokens_for
from instructmtl.evaluation.loglik import (
    ContinuationScore,
    score_continuations,
    score_continuations_uncached,
    target_nll,
)
from instructmtl.evaluation.metrics import METRICS, Metric, accuracy, exact_match, normalize_answer, rouge_l
from instructmtl.evaluation.task_scoring import Prediction, TaskScore, score_prompts

__all__ = [
    "METRICS",
    "ContinuationScore",
    "Metric",
    "Prediction",
    "TaskScore",
    "accuracy",
    "exact_match",
    "generate_greedy",
    "max_new_tokens_for",
    "normalize_answer",
    "rouge_l",
    "score_continuations",
    "score_continuations_uncached",
    "score_prompts",
    "target_nll",
]
