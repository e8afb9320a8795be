"""Metrics: SNI's ROUGE-L and exact match, accuracy, and their registry facts."""

from __future__ import annotations

import pytest
from rouge_score import rouge_scorer

from instructmtl.errors import InstructMTLError, UnknownNameError
from instructmtl.evaluation.metrics import METRICS, accuracy, exact_match, normalize_answer, rouge_l


def test_rouge_l_golden_value() -> None:
    # LCS "the cat sat" = 3 tokens; precision 3/3, recall 3/6, F = 2/3.
    assert rouge_l("The cat sat", ["the cat sat on the mat"]) == pytest.approx(2 / 3)


def test_rouge_l_equals_rouge_score_with_sni_settings() -> None:
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    pred, ref = "Dogs were running, quickly!", "the dog runs quickly home"
    want = scorer.score(target=ref, prediction=pred)["rougeL"].fmeasure
    assert rouge_l(pred, [ref]) == pytest.approx(want)
    assert 0 < want < 1


def test_rouge_l_stems_and_ignores_case_and_punctuation() -> None:
    assert rouge_l("CATS, Running!", ["cat run"]) == pytest.approx(1.0)


def test_rouge_l_of_an_empty_prediction_is_zero() -> None:
    assert rouge_l("", ["the cat"]) == 0.0


def test_metrics_take_the_best_reference() -> None:
    assert rouge_l("the cat", ["a dog", "the cat", "the cat sat"]) == pytest.approx(1.0)
    assert exact_match("yes", ["no", "Yes."]) == 1.0
    assert accuracy("B", ["A", "B"]) == 1.0


def test_normalize_answer_keeps_articles() -> None:
    assert normalize_answer("  The  Cat, sat!\n") == "the cat sat"
    assert exact_match("The cat!", ["the   cat"]) == 1.0
    assert exact_match("cat", ["the cat"]) == 0.0  # SNI does not drop articles, unlike SQuAD


def test_accuracy_is_exact_string_equality() -> None:
    assert accuracy("yes", ["Yes"]) == 0.0
    assert accuracy("no", ["yes"]) == 0.0


def test_no_reference_is_an_error() -> None:
    with pytest.raises(InstructMTLError, match="no reference"):
        rouge_l("x", [])


def test_registry_holds_the_metric_facts() -> None:
    assert METRICS.names() == ["accuracy", "exact_match", "rouge_l"]
    for name in METRICS:
        metric = METRICS.get(name)
        assert metric.name == name and metric.higher_is_better
        assert metric.aggregate([0.0, 1.0, 0.5]) == pytest.approx(0.5)
    assert METRICS.get("rouge_l")("The cat sat", ["the cat sat on the mat"]) == pytest.approx(2 / 3)
    assert METRICS.get("rouge_l").fn is rouge_l


def test_unknown_metric_suggests_close_names() -> None:
    with pytest.raises(UnknownNameError, match="rouge_l"):
        METRICS.get("rougeL")
