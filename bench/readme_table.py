"""Writes the figures table of bench/README.md from the benches' records in bench/results/.

Every bench ends with ``_common.emit``, which records its figures with the date,
commit and command of the run in ``bench/results/<bench>.json``. This script
turns those records into one Markdown table and puts it between the
``<!-- figures:start -->`` and ``<!-- figures:end -->`` comments of the README,
so that the README shows only figures a bench wrote. A bench with no record yet
is listed as not run.

Usage:
    python bench/readme_table.py            # rewrite the block
    python bench/readme_table.py --check    # exit 1 if the block is not what this would write
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

START = "<!-- figures:start -->"
END = "<!-- figures:end -->"
NOT_RUN = "not run since figures became generated"

# The headline figures of each bench, as paths into its record ("/" between keys,
# as some keys hold dots; "*" stands for every key at that level). A path the
# record lacks (a model the run skipped) is left out. A bench not listed shows
# every top-level number of its record.
HEADLINES: dict[str, tuple[str, ...]] = {
    "train_throughput": (
        "ratio_vs_trainer",
        "ratio_vs_trainer_cpu",
        "mfu",
        "mfu_cpu",
        "models/tiny/bf16/ratio_vs_trainer",
        "models/smollm2/bf16/ratio_vs_trainer",
    ),
    "icl_vs_lm_eval": (
        "models/*/ratio",
        "models/*/ratio_cpu",
        "max_abs_logprob_diff",
    ),
    "transfer_grid": (
        "encoding",
        "ratio",
        "ratio_cpu_seconds",
        "ratio_steps_only",
        "grid_s_per_finetune",
        "trainer_s_per_finetune",
        "max_mean_loss_gap",
    ),
    "base_icl_chance": ("encoding", "all/excess", "all/ci"),
    "verdict_stability": (
        "contradictions",
        "checks_disagree",
        "claims/1/a/estimate",
        "claims/1/b/estimate",
        "claims/1/a/mde",
        "claims/1/b/mde",
    ),
    "cost_model": ("checks/*/wall/ratio",),
    "corpus_leakage": (
        "pretraining/documents",
        "pretraining/leaked_instances",
        "replay/*/leaked_instances",
    ),
    "default_study": ("cold/wall_s", "warm/wall_s", "warm/jobs_run"),
    "pretrain_tiny": ("fp32/tokens_per_second", "bf16/tokens_per_second", "bf16_speedup"),
    "lora_vs_full": ("speedup", "target_nll/difference", "target_nll/ci", "rouge_l/difference", "rouge_l/ci"),
    "tune_recipe": ("rows/*/lr", "rows/*/steps", "rows/*/fit_ratio", "rows/*/gen_change"),
    "transfer_recipe": ("rows/*/lr", "rows/*/steps", "rows/*/gain/16/mean"),
}


def bench_names(bench_dir: Path) -> list[str]:
    """The benches in ``bench_dir``: its scripts, less private modules and this one."""
    own = Path(__file__).stem
    return sorted(p.stem for p in bench_dir.glob("*.py") if not p.stem.startswith("_") and p.stem != own)


def load_records(results_dir: Path) -> dict[str, dict[str, Any]]:
    """Every ``<bench>.json`` in ``results_dir``, by bench name."""
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(results_dir.glob("*.json"))}


def headline(name: str, record: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The (path, value) pairs of ``record`` that the table shows for bench ``name``."""
    if name not in HEADLINES:
        return [
            (key, value)
            for key, value in sorted(record.items())
            if isinstance(value, int | float) and not isinstance(value, bool)
        ]
    return [pair for path in HEADLINES[name] for pair in _resolve(record, path.split("/"), [])]


def _resolve(value: Any, keys: list[str], walked: list[str]) -> Iterator[tuple[str, Any]]:
    if not keys:
        yield "/".join(walked), value
        return
    key, rest = keys[0], keys[1:]
    if isinstance(value, list):
        value = {str(i): item for i, item in enumerate(value)}
    if not isinstance(value, Mapping):
        return
    for found in sorted(value) if key == "*" else [key]:
        if found in value:
            yield from _resolve(value[found], rest, [*walked, found])


def format_value(value: Any) -> str:
    """A figure as the table shows it: three significant digits, whole numbers above 100."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return str(value)
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:.0f}"
        return f"{value:.3g}" if value == 0 or abs(value) >= 1e-3 else f"{value:.2e}"
    if isinstance(value, list):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    return json.dumps(value, sort_keys=True)


def render(names: Sequence[str], records: Mapping[str, Mapping[str, Any]]) -> str:
    """The Markdown table of every bench in ``names`` and every bench with a record.

    Args:
        names: the benches that exist (those without a record are listed as not run).
        records: each bench's latest record, as ``_common.emit`` wrote it.

    Returns:
        The table, with a header row, one row per bench, and a final newline.
    """
    lines = ["| bench | date (UTC) | commit | key figures | command |", "|---|---|---|---|---|"]
    for name in sorted(set(names) | set(records)):
        if name not in records:
            lines.append(f"| `{name}.py` | {NOT_RUN} | | | |")
            continue
        record = records[name]
        run = record["run"]
        figures = "; ".join(f"`{path}` {format_value(value)}" for path, value in headline(name, record))
        date = run["date"][:16].replace("T", " ")
        command = "python " + shlex.join(run["argv"])
        lines.append(f"| `{name}.py` | {date} | {run['commit']} | {_cell(figures)} | `{_cell(command)}` |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def rewrite(readme: str, table: str) -> str:
    """``readme`` with the text between the figure markers replaced by ``table``.

    Raises:
        ValueError: if the README does not hold each marker exactly once, start before end.
    """
    if readme.count(START) != 1 or readme.count(END) != 1 or readme.index(START) > readme.index(END):
        raise ValueError(f"the README must hold {START} and then {END}, once each")
    head, rest = readme.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{table}{END}{tail}"


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrites (or with ``--check`` compares) the README's figures block; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README's block is out of date")
    parser.add_argument(
        "--bench-dir", type=Path, default=Path(__file__).resolve().parent, help="holds the scripts, results/, README.md"
    )
    args = parser.parse_args(argv)
    readme_path = args.bench_dir / "README.md"
    readme = readme_path.read_text(encoding="utf-8")
    table = render(bench_names(args.bench_dir), load_records(args.bench_dir / "results"))
    wanted = rewrite(readme, table)
    if args.check:
        if wanted != readme:
            print(f"{readme_path}: the figures table is out of date; run python bench/readme_table.py", file=sys.stderr)
            return 1
        return 0
    readme_path.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
