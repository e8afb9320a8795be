"""Per-instance metrics, registered by name with the two facts analysis needs.

Each metric is a plain function ``(prediction, references) -> float`` that
returns the best score over the acceptable references, as SNI's evaluation
does (an instance can have several correct outputs). Scores are on a 0-1
scale; SNI reports them times 100.

ROUGE-L and exact match follow Super-NaturalInstructions'
``eval/automatic/evaluation.py`` (the Tk-Instruct metric):

* exact match compares the texts after SQuAD-style normalisation *without*
  removing articles: lowercase, drop ASCII punctuation, collapse whitespace;
* ROUGE-L is the F-measure of ``rouge_score``'s ``RougeScorer(["rougeL"],
  use_stemmer=True)`` on the raw texts. Its default tokenizer already
  lowercases and splits on non-alphanumerics, so no extra normalisation is
  applied (applying one would change scores on e.g. hyphenated words).

Only the English track is supported: SNI scores non-English outputs with a
GPT-2 byte-level tokenizer instead, which is a hub download this project does
not make. The default tokenizer drops non-ASCII letters, so ROUGE-L of a
non-English task is not meaningful here.
"""

from __future__ import annotations

import functools
import statistics
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from instructmtl.errors import InstructMTLError
from instructmtl.registry import Registry

__all__ = ["METRICS", "Metric", "accuracy", "exact_match", "normalize_answer", "rouge_l"]

MetricFn = Callable[[str, Sequence[str]], float]


@dataclass(frozen=True)
class Metric:
    """A registered metric: the function plus how its scores are read and pooled.

    Attributes:
        name: registered name.
        fn: ``(prediction, references) -> score`` for one instance.
        higher_is_better: direction, for verdicts and plots.
        aggregate: pools per-instance scores into a task score.
    """

    name: str
    fn: MetricFn
    higher_is_better: bool
    aggregate: Callable[[Sequence[float]], float]

    def __call__(self, prediction: str, references: Sequence[str]) -> float:
        return self.fn(prediction, references)


METRICS: Registry[Metric] = Registry("metric")


def _register(
    name: str, higher_is_better: bool, aggregate: Callable[[Sequence[float]], float]
) -> Callable[[MetricFn], MetricFn]:
    """Registers a plain metric function in :data:`METRICS` and returns it unchanged."""

    def decorate(fn: MetricFn) -> MetricFn:
        METRICS.add(name, Metric(name=name, fn=fn, higher_is_better=higher_is_better, aggregate=aggregate))
        return fn

    return decorate


def _best(references: Sequence[str], score: Callable[[str], float]) -> float:
    """Maximum of ``score`` over the references; an instance without any is a data error."""
    if not references:
        raise InstructMTLError("metric: an instance has no reference outputs; every instance needs at least one")
    return max(score(ref) for ref in references)


_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """SNI's answer normalisation: lowercase, drop ASCII punctuation, collapse whitespace.

    Unlike SQuAD's, articles are kept (SNI's choice: "a"/"the" matter in many
    of its tasks).
    """
    return " ".join("".join(ch for ch in text.lower() if ch not in _PUNCTUATION).split())


@functools.cache
def _rouge_l_scorer() -> Any:
    """The ROUGE-L scorer, built once on first use.

    The scorer holds only its tokenizer and stemmer, no per-call state. It is
    imported lazily because ``rouge_score`` imports NLTK, which imports
    scikit-learn: seconds of start-up that every process importing the
    evaluation package would pay, including those that never score ROUGE (the
    study runner's main process, tuning-only workers, the CLI).
    """
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


@_register("rouge_l", higher_is_better=True, aggregate=statistics.fmean)
def rouge_l(prediction: str, references: Sequence[str]) -> float:
    """ROUGE-L F-measure of ``prediction`` against its best reference (SNI's main metric)."""
    scorer = _rouge_l_scorer()
    return _best(references, lambda ref: scorer.score(target=ref, prediction=prediction)["rougeL"].fmeasure)


@_register("exact_match", higher_is_better=True, aggregate=statistics.fmean)
def exact_match(prediction: str, references: Sequence[str]) -> float:
    """1.0 when ``prediction`` equals a reference after :func:`normalize_answer`, else 0.0."""
    normalized = normalize_answer(prediction)
    return _best(references, lambda ref: float(normalize_answer(ref) == normalized))


@_register("accuracy", higher_is_better=True, aggregate=statistics.fmean)
def accuracy(prediction: str, references: Sequence[str]) -> float:
    """1.0 when the chosen label is one of the references exactly, else 0.0.

    For rank classification the prediction is one of the task's own label
    strings, so no normalisation is needed or wanted.
    """
    return _best(references, lambda ref: float(ref == prediction))
