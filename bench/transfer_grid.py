"""Cost per few-shot fine-tune: the batched transfer grid against one-by-one ``transformers.Trainer`` runs.

The study fine-tunes every checkpoint on every held-out task for every ``n``
(DESIGN.md claim 1). Both sides here do the same fine-tunes of the same
model, on the same tokenized examples in the same order, with the same steps,
batch (``min(n, batch_size)``), fused AdamW (lr, betas, no decay), clipping at 1.0,
constant learning rate and fp32:

* grid: :func:`instructmtl.evaluation.grid.train_chunk` over the chunks
  :func:`~instructmtl.evaluation.grid.plan_chunks` makes of all members
  (stacked parameters under ``torch.vmap``; each member's step packed as its rows' shared
  prefix once plus every row's own tokens, attention per row; logits at target tokens only),
  the chunks trained side by side, one per core (:func:`instructmtl.evaluation.parallel.run_all`,
  as ``run_transfer`` does; ``--workers 1`` trains them one after the other on all threads);
* Trainer: one ``Trainer`` per fine-tune on a copy of the checkpoint, fed a list
  holding exactly the rows of each step in step order (sequential sampling),
  right padding with ``DataCollatorForSeq2Seq``, full-sequence logits and loss.

Cost per fine-tune is wall seconds from "checkpoint in memory" to "tuned
weights in memory", divided by the number of fine-tunes: for the grid, all
chunks over all members; for Trainer, the model copy plus ``Trainer(...)``
plus ``train()``, over a sample of the members (Trainer's cost per fine-tune
does not depend on how many others there are). Trainer's steps alone (from
the end of its first optimizer step to the end of its last, per step) are
reported too, so that its fixed setup cost is visible. Scoring is not timed:
both sides would use the same scorers.

Equal work is checked, not assumed: each sampled member's mean training loss
under Trainer must match the grid's within 1e-3.

The sides run interleaved (grid, Trainer, grid, Trainer, ...) and the figures
are medians over repeats, with the load average, because the machine's cores
are shared. Model: the architecture and tokenizer of the shipped built-in
``tiny`` base when present, else a Llama of that shape (hidden 192, 4 layers,
vocabulary 1024) with a BPE tokenizer trained here on the built-in suite;
``--hidden 256 --vocab 4096`` gives a larger shape. Checkpoints are
independent random initialisations (what is timed does not depend on the weights).

Run: ``/work/venv/bin/python bench/transfer_grid.py [--repeats 5]``; both sides get every core
(``--threads`` sets torch's intra-op threads for both).
The last stdout line is one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import statistics
import sys
import tempfile
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import torch
from accelerate.state import AcceleratorState, GradientState
from transformers import (
    AutoConfig,
    AutoTokenizer,
    DataCollatorForSeq2Seq,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Trainer,
    TrainingArguments,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Stamp, emit, load_average, log, machine, optimizer_step_times  # noqa: E402
from instructmtl.config.tasks import TasksConfig, build_study_split  # noqa: E402
from instructmtl.evaluation.finetune_config import FinetuneConfig  # noqa: E402
from instructmtl.evaluation.finetune_data import FewShotTask, cycle_order, step_indices  # noqa: E402
from instructmtl.evaluation.grid import Member, concurrent_chunks, plan_chunks, train_chunk  # noqa: E402
from instructmtl.evaluation.parallel import resolve_workers, run_all  # noqa: E402
from instructmtl.evaluation.transfer import prepare_tasks  # noqa: E402
from instructmtl.models.builtin.tokenizer import train_tokenizer  # noqa: E402
from instructmtl.tasks.builtin import build_suite  # noqa: E402
from instructmtl.tokenized.examples import IGNORE_INDEX  # noqa: E402
from instructmtl.workflows.pretrain import shipped_dir  # noqa: E402

LOSS_TOLERANCE = 1e-3


def build_models(
    count: int, hidden: int, layers: int, vocab: int
) -> tuple[list[PreTrainedModel], PreTrainedTokenizerBase, str]:
    """``count`` checkpoints of one architecture and their tokenizer, plus a description."""
    shipped = shipped_dir("tiny")
    if (shipped / "config.json").is_file() and (hidden, layers, vocab) == (192, 4, 1024):
        tokenizer = AutoTokenizer.from_pretrained(shipped)
        config = AutoConfig.from_pretrained(shipped)
        what = "shipped built-in tiny architecture and tokenizer, random weights"
    else:
        texts = [t.definition for t in build_suite()] + [
            f"{i.input} {' '.join(i.outputs)}" for t in build_suite() for i in t.instances
        ]
        tokenizer = train_tokenizer(texts, vocab, 512)
        config = LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=hidden,
            intermediate_size=4 * hidden,
            num_hidden_layers=layers,
            num_attention_heads=max(1, hidden // 32),
            max_position_embeddings=512,
            tie_word_embeddings=True,
            pad_token_id=tokenizer.pad_token_id,
        )
        what = f"random Llama hidden {hidden}, {layers} layers, vocab {len(tokenizer)}"
    models = []
    for seed in range(count):
        torch.manual_seed(seed)
        models.append(LlamaForCausalLM(config).eval())
    return models, tokenizer, what


def grid_run(
    models: dict[str, PreTrainedModel], members: list[Member], tasks, config, pad_id: int
) -> tuple[Stamp, dict]:
    """Wall and CPU seconds of training every member in planned chunks, and each member's loss curve."""
    started = Stamp.now()
    first = next(iter(models.values()))
    workers = resolve_workers(config.workers, first.device)
    chunks = plan_chunks(members, tasks, first, config, share=workers)
    workers = concurrent_chunks(chunks, config, workers)
    done = run_all(
        [partial(train_chunk, models, chunk.members, tasks, config, pad_id) for chunk in chunks],
        workers,
        [chunk.tokens for chunk in chunks],
    )
    curves = {m: trained.losses[:, i].tolist() for trained in done for i, m in enumerate(trained.members)}
    return started.until(Stamp.now()), curves


def trainer_rows(task: FewShotTask, member: Member, config: FinetuneConfig) -> list[dict[str, list[int]]]:
    """Every step's rows, in step order: what our fine-tune trains on, as a Trainer dataset."""
    order, rows = cycle_order(member.task, member.n, member.seed), config.rows(member.n)
    examples = [task.train[i] for step in range(config.steps) for i in step_indices(order, rows, step)]
    return [
        {
            "input_ids": list(ex.input_ids),
            "attention_mask": [1] * len(ex.input_ids),
            "labels": [IGNORE_INDEX] * ex.target_start + list(ex.input_ids[ex.target_start :]),
        }
        for ex in examples
    ]


def trainer_finetune(
    model: PreTrainedModel, tokenizer, rows, member: Member, config: FinetuneConfig
) -> tuple[Stamp, float, float]:
    """One Trainer fine-tune: (wall and CPU seconds end to end, wall seconds of its steps, mean loss)."""
    AcceleratorState._reset_state(reset_partial_state=True)  # accelerate's singletons, as its own tests do
    GradientState._reset_state()
    with tempfile.TemporaryDirectory(prefix="bench-transfer-") as tmp:
        started = Stamp.now()
        tuned = copy.deepcopy(model).train()
        args = TrainingArguments(
            output_dir=tmp,
            max_steps=config.steps,
            per_device_train_batch_size=config.rows(member.n),
            learning_rate=config.lr,
            weight_decay=0.0,
            adam_beta1=config.betas[0],
            adam_beta2=config.betas[1],
            max_grad_norm=config.clip_norm,
            lr_scheduler_type="constant",
            warmup_steps=0,
            optim="adamw_torch_fused",
            use_cpu=True,
            seed=member.seed,
            train_sampling_strategy="sequential",
            report_to="none",
            save_strategy="no",
            logging_strategy="no",
            disable_tqdm=True,
            dataloader_pin_memory=False,
        )
        collator = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=IGNORE_INDEX)
        trainer = Trainer(model=tuned, args=args, train_dataset=rows, data_collator=collator)
        with optimizer_step_times() as stamps, contextlib.redirect_stdout(sys.stderr):
            output = trainer.train()
        total = started.until(Stamp.now())
    # the first step (before the first stamp) is left out, the mean of the others stands in for it
    steps_only = stamps[0].until(stamps[-1]).wall / (len(stamps) - 1) * len(stamps) if len(stamps) > 1 else total.wall
    return total, steps_only, output.training_loss


def sample(members: Sequence[Member], k: int) -> list[Member]:
    """``k`` members spread over the sorted list (every task and n represented when k allows)."""
    ordered = sorted(members)
    return [ordered[round(i * (len(ordered) - 1) / max(k - 1, 1))] for i in range(k)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", type=int, default=4)
    parser.add_argument("--tasks", type=int, default=2, help="held-out built-in tasks")
    parser.add_argument("--n", default="5,20", help="training-instance counts")
    parser.add_argument("--encoding", default="id", help="prompt encoding (id, or pos-k with demonstrations)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=192)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=1024)
    parser.add_argument("--trainer-sample", type=int, default=4, help="fine-tunes timed with Trainer per repeat")
    parser.add_argument("--max-members", type=int, default=16, help="grid chunk size cap")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None, help="grid chunks at once (default: one per thread)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    models, tokenizer, what = build_models(args.checkpoints, args.hidden, args.layers, args.vocab)
    named = {f"ckpt{i}": m for i, m in enumerate(models)}
    counts = tuple(int(x) for x in args.n.split(","))
    config = FinetuneConfig(
        n=counts,
        encoding=args.encoding,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=3e-4,
        clip_norm=1.0,
        grid_max_members=args.max_members,
        workers=args.workers,
    )
    _, study = build_study_split(TasksConfig())
    held = [s for s in study.held_out_tasks if len(s.train) >= max(counts)][: args.tasks]
    tasks = prepare_tasks(held, tokenizer, config, config.max_length)
    members = [Member(s.name, 0, n, c) for s in held for n in counts for c in named]
    timed = sample(members, args.trainer_sample)
    rows = {m: trainer_rows(tasks[(m.task, m.seed)], m, config) for m in timed}
    tokens = statistics.mean(len(r["input_ids"]) for m in timed for r in rows[m])
    log(
        f"{what}; {len(members)} fine-tunes ({len(held)} tasks x n {counts} x {len(named)} checkpoints), "
        f"{config.steps} steps, mean row {tokens:.0f} tokens; torch threads {torch.get_num_threads()}, "
        f"grid workers {resolve_workers(config.workers, models[0].device)}"
    )

    # warm-up, untimed: first calls pay for imports, kernel selection and the allocator
    warm = config.model_copy(update={"steps": 2})
    grid_run(named, members[:2], tasks, warm, tokenizer.pad_token_id)
    trainer_finetune(
        named[timed[0].checkpoint], tokenizer, trainer_rows(tasks[(timed[0].task, 0)], timed[0], warm), timed[0], warm
    )

    rounds = []
    gaps = []
    for repeat in range(args.repeats):
        load = load_average()[0]
        grid, curves = grid_run(named, members, tasks, config, tokenizer.pad_token_id)
        results = [trainer_finetune(named[m.checkpoint], tokenizer, rows[m], m, config) for m in timed]
        gaps.extend(abs(loss - statistics.mean(curves[m])) for m, (_, _, loss) in zip(timed, results, strict=True))
        if max(gaps) > LOSS_TOLERANCE:
            raise RuntimeError(f"Trainer and the grid trained differently: mean-loss gap {max(gaps):.2e}")
        rounds.append(
            {
                "grid_wall": grid.wall / len(members),
                "grid_cpu": grid.cpu / len(members),
                "trainer_wall": statistics.mean(r[0].wall for r in results),
                "trainer_cpu": statistics.mean(r[0].cpu for r in results),
                "trainer_steps": statistics.mean(r[1] for r in results),
                "load": load,
            }
        )
        r = rounds[-1]
        log(
            f"repeat {repeat}: grid {r['grid_wall']:.2f} s/fine-tune, Trainer {r['trainer_wall']:.2f} s/fine-tune "
            f"(ratio {r['trainer_wall'] / r['grid_wall']:.2f}; load {load:.1f})"
        )

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    emit(
        {
            "bench": "transfer_grid",
            "model": what,
            "encoding": config.encoding,
            "fine_tunes_per_repeat": len(members),
            "trainer_fine_tunes_per_repeat": len(timed),
            "steps": config.steps,
            "grid_workers": resolve_workers(config.workers, models[0].device),
            "mean_row_tokens": round(tokens, 1),
            "grid_s_per_finetune": round(median("grid_wall"), 3),
            "trainer_s_per_finetune": round(median("trainer_wall"), 3),
            "trainer_steps_only_s_per_finetune": round(median("trainer_steps"), 3),
            "ratio": round(median("trainer_wall") / median("grid_wall"), 3),
            "ratio_per_repeat_median": round(statistics.median(r["trainer_wall"] / r["grid_wall"] for r in rounds), 3),
            "ratio_steps_only": round(median("trainer_steps") / median("grid_wall"), 3),
            "ratio_cpu_seconds": round(median("trainer_cpu") / median("grid_cpu"), 3),
            "max_mean_loss_gap": float(f"{max(gaps):.2e}"),
            "load_average_per_repeat": [round(r["load"], 2) for r in rounds],
            "repeats": args.repeats,
            **machine(),
        }
    )


if __name__ == "__main__":
    main()
