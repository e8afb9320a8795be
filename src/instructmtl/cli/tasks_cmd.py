"""``instructmtl tasks list|show|validate|export``: look at task collections from the shell.

Every command takes the same source string as :func:`instructmtl.tasks.load_tasks`
(``builtin``, an SNI folder, a .json/.jsonl/.parquet file, ``hf:<name>``) and
``--json`` where a script would read the output. Errors are raised as
:class:`~instructmtl.errors.InstructMTLError` and printed as one line by
:func:`instructmtl.cli.main`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from instructmtl.tasks import Example, Task, TaskCollection, load_tasks, output_type, write_sni_dir

app = typer.Typer(help="List, show, validate and export task collections.", no_args_is_help=True)

_SOURCE_HELP = "builtin, an SNI folder, a .json/.jsonl/.parquet file, a saved dataset folder or hf:<name>."
SuiteOpt = Annotated[str, typer.Option("--suite", help=_SOURCE_HELP)]
SourceArg = Annotated[str, typer.Argument(help=_SOURCE_HELP)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (one object per line) instead of tables.")]
SeedOpt = Annotated[int, typer.Option(help="Seed of the built-in suite.")]
InstancesOpt = Annotated[int | None, typer.Option(help="Instances per built-in task (default: the suite's).")]
HfSplitOpt = Annotated[str | None, typer.Option(help="Split of a multi-split HF dataset.")]


def _load(source: str, seed: int, n_instances: int | None, hf_split: str | None) -> TaskCollection:
    return load_tasks(source, seed=seed, n_instances=n_instances, hf_split=hf_split)


def _emit(obj: Any) -> None:
    # plain print, not rich: rich would wrap long lines and break JSON for scripts
    print(json.dumps(obj, ensure_ascii=False))


def _summary(task: Task) -> dict[str, Any]:
    return {
        "name": task.name,
        "categories": list(task.categories),
        "output_type": output_type(task),
        "n_instances": len(task.instances),
    }


@app.command("list")
def list_tasks(
    suite: SuiteOpt = "builtin",
    as_json: JsonOpt = False,
    seed: SeedOpt = 0,
    n_instances: InstancesOpt = None,
    hf_split: HfSplitOpt = None,
) -> None:
    """List the tasks of a collection: name, categories, output type, instance count."""
    collection = _load(suite, seed, n_instances, hf_split)
    if as_json:
        for task in collection.tasks.values():
            _emit(_summary(task))
        return
    table = Table("task", "categories", "output type", "instances", title=escape(collection.source))
    for task in collection.tasks.values():
        row = _summary(task)
        categories = escape(", ".join(task.categories))
        table.add_row(escape(task.name), categories, row["output_type"], str(len(task.instances)))
    Console().print(table)


@app.command("show")
def show_task(
    name: Annotated[str, typer.Argument(help="The task's name.")],
    suite: SuiteOpt = "builtin",
    n: Annotated[int, typer.Option("-n", help="How many instances to show.")] = 3,
    as_json: JsonOpt = False,
    seed: SeedOpt = 0,
    n_instances: InstancesOpt = None,
    hf_split: HfSplitOpt = None,
) -> None:
    """Show one task: definition, examples and its first instances."""
    task = _load(suite, seed, n_instances, hf_split).task(name)
    if as_json:
        _emit(
            {
                **_summary(task),
                "definition": task.definition,
                "labels": None if task.labels is None else list(task.labels),
                "positive_examples": [_example(e) for e in task.positive_examples],
                "negative_examples": [_example(e) for e in task.negative_examples],
                "instances": [{"id": i.id, "input": i.input, "output": list(i.outputs)} for i in task.instances[:n]],
            }
        )
        return
    _print_task(task, n)


def _print_task(task: Task, n: int) -> None:
    console = Console(highlight=False)
    about = f"{', '.join(task.categories)}; {output_type(task)}; {len(task.instances)} instances"
    console.print(f"[bold]{escape(task.name)}[/]  ({escape(about)})")
    console.print(f"\n[bold]Definition[/]\n{escape(task.definition)}")
    for title, examples in (("Positive example", task.positive_examples), ("Negative example", task.negative_examples)):
        for ex in examples:
            body = f"input: {ex.input}\noutput: {ex.output}\nexplanation: {ex.explanation}"
            console.print(f"\n[bold]{title}[/]\n{escape(body)}")
    for inst in task.instances[:n]:
        body = f"input: {inst.input}\noutput: {' | '.join(inst.outputs)}"
        console.print(f"\n[bold]Instance {escape(inst.id)}[/]\n{escape(body)}")


def _example(example: Example) -> dict[str, str]:
    return {"input": example.input, "output": example.output, "explanation": example.explanation}


@app.command("validate")
def validate(
    source: SourceArg,
    as_json: JsonOpt = False,
    seed: SeedOpt = 0,
    n_instances: InstancesOpt = None,
    hf_split: HfSplitOpt = None,
) -> None:
    """Load every task and split of SOURCE; print counts by category, or the first error (exit 2)."""
    collection = _load(source, seed, n_instances, hf_split)
    categories = {
        category: {"tasks": len(names), "instances": sum(len(collection.tasks[n].instances) for n in names)}
        for category, names in collection.by_category().items()
    }
    splits = {
        name: {side: len(names) for side, names in split.sides().items()} for name, split in collection.splits.items()
    }
    n_total = sum(len(t.instances) for t in collection.tasks.values())
    if as_json:
        _emit(
            {
                "source": collection.source,
                "n_tasks": len(collection),
                "n_instances": n_total,
                "categories": categories,
                "splits": splits,
            }
        )
        return
    table = Table("category", "tasks", "instances", title=escape(f"{collection.source}: valid"))
    for category, counts in categories.items():
        table.add_row(escape(category), str(counts["tasks"]), str(counts["instances"]))
    table.add_row("[bold]all[/]", str(len(collection)), str(n_total))
    console = Console()
    console.print(table)
    for name, sides in splits.items():
        console.print(f"split {name}: " + ", ".join(f"{count} {side}" for side, count in sides.items()))


@app.command("export")
def export(
    source: SourceArg,
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the SNI layout into (tasks/, splits/).")],
    as_json: JsonOpt = False,
    seed: SeedOpt = 0,
    n_instances: InstancesOpt = None,
    hf_split: HfSplitOpt = None,
) -> None:
    """Write SOURCE as SNI task files plus its split files, in the official repository layout."""
    collection = _load(source, seed, n_instances, hf_split)
    written = write_sni_dir(collection, out_dir)
    n_split_files = len(written) - len(collection)
    if as_json:
        _emit({"out_dir": str(out_dir), "tasks": len(collection), "split_files": n_split_files})
        return
    Console().print(f"wrote {len(collection)} task files and {n_split_files} split files to {out_dir}", highlight=False)
