"""Our shared-prefix scorer gives lm-evaluation-harness's log-likelihoods on the same model and requests.

The benchmark ``bench/icl_vs_lm_eval.py`` compares speed on real prompts; this
test pins the agreement it relies on, on a tiny random Llama: same token
split at the context/continuation boundary (trailing context whitespace moved
into the continuation, no special tokens), same sums and greedy flags, for
a prefix that is shared (cached by us, recomputed by the harness) and for
multi-token continuations of different lengths in one batch.
"""

from __future__ import annotations

from pathlib import Path

# lm-eval is a test dependency (pyproject `test` extra): the agreement check must run, not skip
import lm_eval.models.huggingface as lm_eval_hf  # noqa: E402
import pytest
import torch
from lm_eval.api.instance import Instance as Request  # noqa: E402

from instructmtl.evaluation.loglik import score_continuations
from instructmtl.models import ModelSpec, load_model
from instructmtl.prompts import TARGET_SEPARATOR, TaskPrompter, parse_encoding
from instructmtl.tasks.builtin import build_suite
from instructmtl.tasks.schema import label_set

pytestmark = pytest.mark.slow


def _items() -> tuple[str, list[tuple[str, list[str]]]]:
    """A ``def+pos-2`` prefix of a built-in classification task, its queries and label choices.

    One query keeps a trailing space, which both scorers must move into the
    continuation; one choice set mixes label lengths.
    """
    task = next(t for t in build_suite(n_instances=20) if label_set(t) is not None)
    prompter = TaskPrompter(task, parse_encoding("def+pos-2"), seed=0)
    labels = list(label_set(task) or ())
    prompts = prompter.encode_all(task.instances[:3])
    items = [(p.query, [TARGET_SEPARATOR + label for label in labels]) for p in prompts]
    items.append((prompts[0].query + " ", [labels[0], labels[-1] + " and more words"]))
    return prompter.prefix, items


def test_loglikelihoods_match_lm_eval(tiny_lm_dir: Path) -> None:
    loaded = load_model(ModelSpec(name_or_path=str(tiny_lm_dir), device="cpu"))
    prefix, items = _items()
    ours = score_continuations(loaded.model, loaded.tokenizer, prefix, items, batch_size=4)

    harness = lm_eval_hf.HFLM(
        pretrained=str(tiny_lm_dir), dtype="float32", device="cpu", batch_size=4, add_bos_token=False
    )
    requests = [
        Request(request_type="loglikelihood", doc={}, arguments=(prefix + query, choice), idx=i)
        for query, choices in items
        for i, choice in enumerate(choices)
    ]
    theirs = harness.loglikelihood(requests, disable_tqdm=True)

    flat = [score for row in ours for score in row]
    assert len(flat) == len(theirs) == sum(len(c) for _, c in items)
    ours_lp = torch.tensor([s.sum_logprob for s in flat], dtype=torch.float64)
    theirs_lp = torch.tensor([lp for lp, _ in theirs], dtype=torch.float64)
    torch.testing.assert_close(ours_lp, theirs_lp, atol=1e-4, rtol=0)
    assert [s.is_greedy for s in flat] == [greedy for _, greedy in theirs]
    # the choices are told apart: a scorer returning one number per instance would fail here
    assert len({round(x, 3) for x in ours_lp.tolist()}) > len(items)
