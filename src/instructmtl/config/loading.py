"""YAML → frozen pydantic config, with dotted command-line overrides.

Config is parsed once, here, at the edge of the program; everything below
receives typed objects. Validation errors become one line that names the key
and what is allowed, because the CLI prints exactly that line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from instructmtl.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)


def read_yaml(path: Path) -> dict[str, Any]:
    """Reads a YAML mapping; malformed YAML is a one-line ConfigError naming the file and line."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file; give a YAML path or a preset name") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)  # yaml's own errors carry the position only sometimes
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} is not valid YAML; fix the syntax there") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys, not {type(data).__name__}")
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """Splits ``optim.lr=1e-5`` into a key path and a YAML-typed value (``1e-5`` → float)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override '{text}' must look like key.subkey=value")
    value = yaml.safe_load(raw) if raw.strip() else ""
    # YAML 1.1 reads "1e-5" as a string; researchers mean a float
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value for c in "eE.") else value
        except ValueError:
            pass
    return key.strip().split("."), value


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Returns a copy of ``data`` with each ``a.b.c=value`` override set (list items by index)."""
    result: dict[str, Any] = json.loads(json.dumps(data))
    for text in overrides:
        path, value = parse_override(text)
        node: Any = result
        for i, part in enumerate(path[:-1]):
            node = _child(node, part, path[: i + 1], text)
        last = path[-1]
        if isinstance(node, list):
            node[_index(node, last, text)] = value
        else:
            node[last] = value
    return result


def _child(node: Any, part: str, walked: list[str], text: str) -> Any:
    if isinstance(node, list):
        return node[_index(node, part, text)]
    if not isinstance(node, dict):
        raise ConfigError(f"override '{text}': '{'.'.join(walked[:-1])}' is not a section")
    return node.setdefault(part, {})


def _index(node: list[Any], part: str, text: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise ConfigError(f"override '{text}': '{part}' is not an index of a list of {len(node)}")
    return int(part)


def validate(model: type[ModelT], data: Mapping[str, Any], source: str) -> ModelT:
    """Builds ``model`` from ``data``; the first validation error becomes one line."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{source}: key '{key}': {first['msg']}") from None


def config_hash(config: BaseModel) -> str:
    """A stable short hash of a resolved config (sorted JSON), recorded with every result."""
    blob = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def dump_yaml(config: BaseModel) -> str:
    """The resolved config as YAML, saved beside a run's outputs."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
