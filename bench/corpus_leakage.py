"""Held-out instances in the shipped base's pretraining text, and held-out families in replay text.

DESIGN's validity rule: no held-out eval instance in pretraining or replay text,
and the report says how much replay text shows held-out task families. This
bench measures both for the planned default study without training anything:

1. **Pretraining scan.** :func:`instructmtl.corpus.scan_pretraining` rebuilds the
   documents the shipped ``base-tiny`` read (3000 steps x 8 blocks x 512 tokens,
   from the recipe beside its weights) and looks for every instance (eval and
   fine-tuning alike) of the held-out tasks of the built-in suite
   (``n_tasks=128, n_instances=64``, held-out categories below). Reported: documents,
   seconds, hits per task and per document kind, adjacent hits (the output right
   after the input, as a pattern document writes a pair), and one example per kind.
   The reconstruction rests on the saved tokenizer encoding exactly like the one
   pretraining trained in memory; the bench retrains that tokenizer and compares.
2. **Replay share.** For 200 steps x 16 blocks of 128 tokens of the built-in corpus
   (seed 0), the share of documents (and tokens) that show a held-out family, and
   the same scan, for plain replay and for replay with the held-out families left out.

Run: ``.venv/bin/python bench/corpus_leakage.py`` (about 2 minutes on one core).
The last stdout line is one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import itertools
import random
import time
from collections import Counter
from pathlib import Path

from transformers import AutoTokenizer

from _common import emit, load_average, log
from instructmtl.corpus import (
    BuiltinCorpusConfig,
    BuiltinSource,
    ScanReport,
    consumed_documents,
    document_ids,
    excluding_families,
    families_in,
    family_share,
    held_out_instances,
    normalize_instance_text,
    pretraining_text,
    replay_text,
    scan_pretraining,
    scan_replay,
)
from instructmtl.models.builtin import train_tokenizer
from instructmtl.models.builtin.train import tokenizer_sample
from instructmtl.tasks.loaders import load_tasks
from instructmtl.workflows.pretrain import read_metadata, shipped_dir

HELD_OUT = [
    "Sorting",
    "Multi-hop Lookup",
    "Sentiment Analysis",
    "Comparison",
    "Word Classification",
    "Number Classification",
]
REPLAY_STEPS, REPLAY_BLOCKS, REPLAY_BLOCK_LEN = 200, 16, 128


def tokenizer_matches_retrained(base: Path, n_docs: int = 2000) -> bool:
    """Whether the saved tokenizer encodes like the one pretraining trained (and used) in memory."""
    meta = read_metadata(base)
    source = BuiltinSource(meta.recipe.corpus)
    preset = meta.preset
    retrained = train_tokenizer(
        tokenizer_sample(source, int(preset["tokenizer_documents"]), meta.recipe.seed),
        int(preset["vocab_size"]),
        int(preset["context_len"]),
    )
    saved = AutoTokenizer.from_pretrained(str(base))
    docs = itertools.islice(source.documents(random.Random(meta.recipe.seed)), n_docs)
    return retrained.get_vocab() == saved.get_vocab() and all(
        document_ids(d, retrained) == document_ids(d, saved) for d in docs
    )


def examples(report: ScanReport, base: Path, instances: dict, per_kind: int = 2) -> list[dict]:
    """The first ``per_kind`` adjacent hits of each document kind, with the document text around them."""
    chosen = []
    for kind in ("patterns", "facts", "lookup"):
        hits = [h for h in report.hits if h.pair and h.label and h.label.kind == kind][:per_kind]
        chosen += hits
    wanted = {h.document for h in chosen}
    texts = {}
    stream = consumed_documents(pretraining_text(base), AutoTokenizer.from_pretrained(str(base)))
    for index, doc in enumerate(itertools.islice(stream, max(wanted, default=-1) + 1)):
        if index in wanted:
            texts[index] = doc.text
    rows = []
    for h in chosen:
        inst = instances[(h.task, h.instance_id)]
        text = texts[h.document]
        at = text.casefold().find(inst.input.casefold().strip(" ."))
        rows.append(
            {
                "task": h.task,
                "instance": h.instance_id,
                "input": inst.input,
                "output": inst.output,
                "document": h.document,
                "kind": h.label.kind,
                "family": h.label.family,
                "excerpt": text[max(0, at - 60) : at + 120],
            }
        )
    return rows


def main() -> None:
    base = shipped_dir("tiny")
    collection = load_tasks("builtin", seed=0, n_instances=64, n_tasks=128, held_out_categories=HELD_OUT)
    held = [t for t in collection.tasks.values() if t.category in HELD_OUT]
    instances = held_out_instances(held)
    by_key = {(i.task, i.instance_id): i for i in instances}
    family_of = {t.name: t.metadata["family"] for t in held}

    def own_family(hits) -> list:
        """Hits in a pattern document of the instance's own family: the task's very mapping, not a shared label."""
        return [h for h in hits if h.label and h.label.family == family_of[h.task]]

    degenerate = sum(normalize_instance_text(i.input) == normalize_instance_text(i.output) for i in instances)
    log(f"{len(held)} held-out tasks, {len(by_key)} instances; scanning the pretraining text of {base.name}")

    cpu0 = time.process_time()
    report = scan_pretraining(base, instances)
    cpu = time.process_time() - cpu0
    adjacent = [h for h in report.hits if h.pair]
    log(f"{report.documents} documents in {report.seconds:.1f} s: {len(report.hits)} hits, {len(adjacent)} adjacent")
    matches = tokenizer_matches_retrained(base)

    families = families_in(HELD_OUT)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    n_blocks = REPLAY_STEPS * REPLAY_BLOCKS
    replay = {}
    arms = {
        "plain": BuiltinCorpusConfig(),
        "held_out_families_excluded": excluding_families(BuiltinCorpusConfig(), families),
    }
    for arm, corpus in arms.items():
        text = replay_text(corpus, seed=0, block_len=REPLAY_BLOCK_LEN, n_blocks=n_blocks)
        share = family_share(text, tokenizer, families)
        scan = scan_replay(text, tokenizer, instances)
        replay[arm] = {
            "documents": share.documents,
            "tokens": share.tokens,
            "held_out_family_documents": share.family_documents,
            "share_documents": round(share.share or 0.0, 4),
            "share_tokens": round(share.family_tokens / share.tokens, 4),
            "hits": len(scan.hits),
            "adjacent_hits": sum(h.pair for h in scan.hits),
            "leaked_instances": len(scan.leaked()),
            "hits_by_kind": dict(scan.hits_by_kind()),
            "own_family_hits": len(own_family(scan.hits)),
            "leaked_instances_adjacent": len({(h.task, h.instance_id) for h in scan.hits if h.pair}),
        }
        log(f"replay {arm}: {replay[arm]}")

    def per_task(hits) -> dict[str, int]:
        return dict(sorted(Counter(h.task for h in hits).items()))

    emit(
        {
            "bench": "corpus_leakage",
            "load_average": load_average(),
            "pretraining": {
                "base": base.name,
                "steps": read_metadata(base).steps,
                "documents": report.documents,
                "complete": report.complete,
                "seconds": round(report.seconds, 1),
                "cpu_seconds": round(cpu, 1),
                "tokenizer_matches_retrained": matches,
                "held_out_tasks": len(held),
                "instances": report.instances,
                "leaked_instances": len(report.leaked()),
                "leaked_instances_adjacent": len({(h.task, h.instance_id) for h in adjacent}),
                "hits": len(report.hits),
                "adjacent_hits": len(adjacent),
                "hits_by_kind": dict(report.hits_by_kind()),
                "adjacent_hits_by_kind": dict(Counter(h.label.kind for h in adjacent if h.label)),
                "own_family_hits": len(own_family(report.hits)),
                "leaked_instances_own_family": len({(h.task, h.instance_id) for h in own_family(report.hits)}),
                "instances_with_output_equal_to_input": degenerate,
                "hits_by_task": per_task(report.hits),
                "adjacent_hits_by_task": per_task(adjacent),
                "leaked_instances_by_task": dict(sorted(Counter(t for t, _ in report.leaked()).items())),
                "examples": examples(report, base, by_key),
            },
            "replay": {
                "steps": REPLAY_STEPS,
                "blocks_per_step": REPLAY_BLOCKS,
                "block_len": REPLAY_BLOCK_LEN,
                "held_out_families": list(families),
                **replay,
            },
        }
    )


if __name__ == "__main__":
    main()
