"""Writing a collection in the official SNI layout, so any SNI tool (and our own loader) reads it.

Files are written atomically (a temporary file in the same folder, then
``os.replace``): an interrupted export leaves whole files only, so running it
again finishes the job instead of tripping over half-written JSON.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from instructmtl.errors import InstructMTLError
from instructmtl.tasks.collection import TaskCollection
from instructmtl.tasks.schema import to_sni_dict
from instructmtl.tasks.sni import SPLIT_FILES


def write_atomic(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` so that readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, suffix=".tmp", delete=False) as handle:
        handle.write(text)
        tmp = Path(handle.name)
    try:
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def _refuse_foreign(out_dir: Path, collection: TaskCollection) -> None:
    """Refuses folders holding other tasks or splits: the loader would mix them into the export."""
    foreign = [p.name for p in (out_dir / "tasks").glob("*.json") if p.stem not in collection.tasks]
    split_root = out_dir / "splits"
    if split_root.is_dir():
        foreign += [f"splits/{p.name}" for p in split_root.iterdir() if p.name not in collection.splits]
    if foreign:
        shown = ", ".join(sorted(foreign)[:3])
        raise InstructMTLError(
            f"{out_dir}: already holds {len(foreign)} task file(s) or split(s) not in this export ({shown}); "
            "fix: export into an empty folder or delete them"
        )


def write_sni_dir(collection: TaskCollection, out_dir: Path) -> list[Path]:
    """Writes ``tasks/<name>.json`` per task and ``splits/<name>/*_tasks.txt`` per split.

    Args:
        collection: what to write.
        out_dir: the root of the SNI layout (created when missing).

    Returns:
        The paths written, task files first.

    Raises:
        InstructMTLError: when ``out_dir`` already holds tasks or splits that are not
            part of this collection.
    """
    _refuse_foreign(out_dir, collection)
    written = []
    for name, task in collection.tasks.items():
        path = out_dir / "tasks" / f"{name}.json"
        # the SNI repository's own serialisation: one-space indent, UTF-8 kept as is
        write_atomic(path, json.dumps(to_sni_dict(task), indent=1, ensure_ascii=False) + "\n")
        written.append(path)
    for split_name, split in collection.splits.items():
        for side, names in split.sides().items():
            path = out_dir / "splits" / split_name / SPLIT_FILES[side]
            if side == "excluded" and not names:
                path.unlink(missing_ok=True)  # an earlier export's list would no longer be true
                continue
            write_atomic(path, "".join(f"{n}\n" for n in names))
            written.append(path)
    return written
