"""Leakage scans of the base model's pretraining text and of every replay arm's text, as study facts.

A held-out instance *leaks* into a text when some document shows it as a pair:
its normalized input and, within a few characters after it, its normalized
output (:attr:`~instructmtl.corpus.scan.ScanHit.adjacent`). That refines the
bare rule "input and output both appear in one document", which the scan also
counts and the fact reports (``co_occurrences``): with one-word inputs and
yes/no labels, a large corpus holds both strings somewhere in the same document
by coincidence (measured on the shipped base's 98,619 pretraining documents:
120,792 co-occurrences against 52,756 pairs), so the bare rule would call every
short classification instance leaked whatever the corpus. A pair is what a
model can learn the answer from.

Scans cost tens of seconds (the whole pretraining stream is regenerated and
re-tokenized), so each is stored once per study and not redone on a restart.
A leak is recorded first (so the report shows the failed check) and then
raised as a one-line :class:`~instructmtl.corpus.LeakageError` naming the
document's source.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from instructmtl.corpus import (
    LeakageError,
    families_in,
    family_share,
    held_out_instances,
    replay_text,
    scan_pretraining,
    scan_replay,
    unscannable_reason,
)
from instructmtl.corpus.scan import ScanReport
from instructmtl.models import ModelSpec
from instructmtl.models.loading import load_tokenizer
from instructmtl.mtl import ReplayPlan
from instructmtl.study.config import StudyConfig
from instructmtl.tasks.selection import StudySplit
from instructmtl.training.config import ArmConfig, TuneConfig

Record = Callable[[str, object], None]


def scan_fact(report: ScanReport) -> dict[str, object]:
    """A scan as a fact: pair hits (the check), co-occurrences (reported), documents, and the first pair."""
    if not report.checked:
        return {"checked": False, "hits": None, "detail": report.note}
    pairs = [h for h in report.hits if h.pair]
    leaked = sorted({(h.task, h.instance_id) for h in pairs})
    first = (
        f"; first: {pairs[0].task}/{pairs[0].instance_id} in {pairs[0].source} document {pairs[0].document}"
        if pairs
        else ""
    )
    return {
        "checked": True,
        "hits": len(leaked),
        "co_occurrences": len(report.hits),
        "documents": report.documents,
        "detail": (
            f"{report.source}: {report.documents} documents, {len(leaked)} held-out instances shown as "
            f"input-output pairs ({len(report.hits)} input/output co-occurrences, reported){first}"
        ),
    }


def raise_for_pairs(report: ScanReport) -> None:
    """A one-line error naming the first leaked instance and its document's source."""
    pairs = [h for h in report.hits if h.pair]
    if pairs:
        hit = pairs[0]
        raise LeakageError(
            f"held-out task {hit.task} instance {hit.instance_id} appears as an input-output pair in {hit.source} "
            f"(document {hit.document}); {len({(h.task, h.instance_id) for h in pairs})} held-out instances leak; "
            f"fix: {report.fix}"
        )


def _replay_arms(config: StudyConfig) -> list[ArmConfig]:
    return [arm for arm in config.arms if arm.replay.ratio > 0]


def record_corpus_facts(
    config: StudyConfig, split: StudySplit, base: ModelSpec, known: Sequence[str], record: Record
) -> None:
    """Scans what is not yet in ``known`` (fact names) and records it; raises on a leak.

    Args:
        config: the study.
        split: its task split (every instance of a held-out task is looked for).
        base: the resolved base model (a built-in one is a directory with its pretraining record).
        known: fact names already stored for this study.
        record: stores one fact (name, value).

    Raises:
        LeakageError: a held-out instance is shown as a pair in pretraining or replay text.
    """
    instances = held_out_instances([s.task for s in split.held_out_tasks])
    reports: list[ScanReport] = []
    if "leakage.pretraining" not in known:
        report = scan_pretraining(Path(base.name_or_path), instances)
        record("leakage.pretraining", scan_fact(report))
        reports.append(report)
    families = families_in({s.task.category for s in split.held_out_tasks})
    tokenizer = None
    for arm in _replay_arms(config):
        for seed in config.seeds:
            name = f"leakage.replay.{arm.name}-seed{seed}"
            if name in known:
                continue
            tune: TuneConfig = config.tune_config(arm, seed, config.base)
            corpus = arm.replay.corpus_for({s.task.category for s in split.held_out_tasks})
            reason = unscannable_reason(corpus)
            if reason is not None:
                record(name, {"checked": False, "hits": None, "detail": f"not checked: {reason}"})
                continue
            tokenizer = tokenizer or load_tokenizer(base, "right")
            plan = ReplayPlan(arm.replay.ratio, arm.replay.weight, arm.replay.mode)
            text = replay_text(corpus, seed, arm.replay.block_len, plan.replayed_before(tune.batch_size, tune.steps))
            report = scan_replay(text, tokenizer, instances)
            record(name, scan_fact(report))
            reports.append(report)
            if seed == config.seeds[0]:
                share = family_share(text, tokenizer, families)
                record(
                    f"replay.held_out_share.{arm.name}",
                    {
                        "share": share.share,
                        "detail": (
                            f"{share.family_documents} of {share.documents} replay documents "
                            f"({share.share:.1%}) are task patterns of a held-out family (inputs from the "
                            "trained half only); previously seen data, as in pretraining"
                        )
                        if share.checked and share.documents
                        else share.note,
                    },
                )
    for report in reports:
        raise_for_pairs(report)
