"""Pretrain the built-in base model, or return it at once when it exists: ``instructmtl pretrain``.

setup: resolve the preset and the recipe's cache key → run: find the model
(shipped in the package, then the cache) or train it → save: an ordinary
Hugging Face model directory plus :data:`METADATA_FILE`, written to a
temporary folder and renamed into place so that a killed run never leaves a
half-written model where a later call would trust it → cleanup: the summary.

The shipped ``tiny`` model (``instructmtl/assets/base-tiny``) is the result
of ``instructmtl pretrain --preset tiny`` with the defaults; it is returned
whenever the requested recipe has the same key, so a fresh install starts
warm and ``--force`` reproduces it from scratch.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from instructmtl.corpus import BuiltinCorpusConfig
from instructmtl.errors import ConfigError
from instructmtl.evaluation.probe import icl_probe
from instructmtl.models.builtin import (
    METADATA_FILE,
    PRESETS,
    BaseMetadata,
    Preset,
    PretrainRecipe,
    pretrain_model,
    recipe_key,
    save_base,
)
from instructmtl.models.builtin.recipe import IclFigure
from instructmtl.models.builtin.train import TrainStats, preset_dict
from instructmtl.paths import cache_dir
from instructmtl.tasks.builtin import build_suite, default_split

Origin = Literal["trained", "cache", "shipped"]
_VERSIONED = ("instructmtl", "torch", "transformers", "tokenizers", "accelerate")


class PretrainConfig(BaseModel):
    """The ``pretrain`` workflow's config.

    Attributes:
        recipe: what to train (preset, seed, steps, precision, corpus).
        out: write the model here instead of the cache (a found model is copied).
        force: train even when a shipped or cached model has the same recipe.
        probe: after training, measure the ICL probe on the held-out built-in tasks and
            store it in the metadata (does not change the weights, so not in the cache key).
        show_progress: draw the progress bar.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    recipe: PretrainRecipe = PretrainRecipe()
    out: Path | None = None
    force: bool = False
    probe: bool = False
    show_progress: bool = True


@dataclass(frozen=True)
class PretrainOutcome:
    """Where the base model is and how it got there.

    Attributes:
        path: the model directory (loadable with ``from_pretrained``).
        source: ``trained`` now, found in the ``cache``, or ``shipped`` with the package.
        seconds: wall time of this call.
        metadata: the model's recorded metadata.
    """

    path: Path
    source: Origin
    seconds: float
    metadata: BaseMetadata


def shipped_dir(preset: str) -> Path:
    """Where the package ships a pretrained base for ``preset`` (the folder may not exist)."""
    return Path(str(resources.files("instructmtl") / "assets" / f"base-{preset}"))


def cache_path(key: str) -> Path:
    """The cache folder of the base model with recipe key ``key``."""
    return cache_dir() / "base" / key


def read_metadata(model_dir: Path) -> BaseMetadata:
    """The metadata of a base-model directory written by this workflow."""
    return BaseMetadata.model_validate_json((model_dir / METADATA_FILE).read_text(encoding="utf-8"))


def reproduce_command(recipe: PretrainRecipe, preset: Preset, probe: bool = False) -> str:
    """The shell command that retrains a model of this recipe from scratch (and re-probes it if ``probe``)."""
    command = (
        f"instructmtl pretrain --preset {preset.name} --seed {recipe.seed} "
        f"--steps {recipe.steps or preset.steps} --precision {recipe.precision or preset.precision}"
        + (" --probe" if probe else "")
        + " --force"
    )
    if recipe.corpus != BuiltinCorpusConfig():
        # the CLI only exposes the default corpus; other recipes go through the Python API
        command += f"  # with recipe {recipe.model_dump_json()}"
    return command


def _find(key: str, preset: str) -> tuple[Path, Origin] | None:
    shipped = shipped_dir(preset)
    if (shipped / METADATA_FILE).is_file() and read_metadata(shipped).key == key:
        return shipped, "shipped"
    cached = cache_path(key)
    if (cached / METADATA_FILE).is_file():
        return cached, "cache"
    return None


def _metadata(
    recipe: PretrainRecipe, preset: Preset, key: str, params: int, stats: TrainStats, icl: dict[int, IclFigure] | None
) -> BaseMetadata:
    return BaseMetadata(
        key=key,
        recipe=recipe,
        preset=preset_dict(preset),
        params=params,
        steps=len(stats.losses),
        tokens_seen=stats.tokens,
        final_loss=round(stats.final_loss(), 4),
        loss_curve=stats.curve,
        seconds=round(stats.seconds, 1),
        tokens_per_second=round(stats.tokens / stats.seconds, 1),
        precision=recipe.precision or preset.precision,
        versions={name: importlib_metadata.version(name) for name in _VERSIONED},
        command=reproduce_command(recipe, preset, probe=icl is not None),
        icl_heldout=icl,
    )


#: The probe stored with a trained model: k, and the held-out tasks of the default built-in split.
PROBE_KS = (0, 1, 2, 4)
PROBE_INSTANCES = 40
PROBE_EVAL = 10


def probe_heldout(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> dict[int, IclFigure]:
    """ICL figures of ``model`` on the default split's held-out built-in tasks (world 0, suite seed 0)."""
    tasks = build_suite(n_instances=PROBE_INSTANCES, seed=0)
    _, held = default_split(tasks)
    heldout = [t for t in tasks if t.name in set(held)]
    points = icl_probe(model, tokenizer, heldout, PROBE_KS, seed=0, n_eval=PROBE_EVAL)
    return {k: IclFigure(loss=round(p.loss, 4), exact_match=round(p.exact_match, 4)) for k, p in points.items()}


def _place(tmp: Path, dest: Path) -> None:
    """Renames the finished ``tmp`` folder to ``dest`` (atomic on one file system), replacing an old ``dest``."""
    if dest.exists():
        shutil.rmtree(dest)
    try:
        os.rename(tmp, dest)
    except OSError:
        # another process finished the same recipe first; its copy is as good as ours
        shutil.rmtree(tmp)
        if not (dest / METADATA_FILE).is_file():
            raise


def _train_into(dest: Path, recipe: PretrainRecipe, preset: Preset, key: str, config: PretrainConfig) -> BaseMetadata:
    dest.parent.mkdir(parents=True, exist_ok=True)
    model, tokenizer, stats = pretrain_model(recipe, preset, show_progress=config.show_progress)
    icl = probe_heldout(model, tokenizer) if config.probe else None
    meta = _metadata(recipe, preset, key, sum(p.numel() for p in model.parameters()), stats, icl)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=dest.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the model folder is an ordinary one once renamed
    save_base(model, tokenizer, tmp)
    (tmp / METADATA_FILE).write_text(meta.model_dump_json(indent=2), encoding="utf-8")
    _place(tmp, dest)
    return meta


def _check_out(out: Path, force: bool) -> None:
    """Refuses to write into a non-empty folder, and to replace one that is not a base model."""
    if not out.exists() or not any(out.iterdir()):
        return
    if not (out / METADATA_FILE).is_file():
        raise ConfigError(f"--out {out} is a non-empty folder that holds no base model; choose an empty or new folder")
    if not force:
        raise ConfigError(
            f"--out {out} already holds a base model; choose another folder or pass --force to replace it"
        )


def main(config: PretrainConfig) -> PretrainOutcome:
    """Returns the base model of ``config.recipe``, training it only when it is nowhere to be found.

    Raises:
        UnknownNameError: for an unknown preset.
        ConfigError: when ``out`` is a non-empty folder, unless it holds a base model and ``force`` is on.
        TrainingDivergedError: when the loss becomes NaN.
    """
    started = time.perf_counter()
    recipe = config.recipe
    preset = PRESETS.get(recipe.preset)
    key = recipe_key(recipe, preset)
    if config.out is not None:
        _check_out(config.out, config.force)

    found = None if config.force else _find(key, preset.name)
    if found is not None:
        path, origin = found
        if config.out is not None:
            shutil.copytree(path, config.out, dirs_exist_ok=True)
            path = config.out
        return PretrainOutcome(path, origin, time.perf_counter() - started, read_metadata(path))

    dest = config.out if config.out is not None else cache_path(key)
    meta = _train_into(dest, recipe, preset, key, config)
    return PretrainOutcome(dest, "trained", time.perf_counter() - started, meta)


def resolve_base(preset: str = "tiny", seed: int = 0) -> Path:
    """The directory of the default built-in base model of ``preset``: shipped, cached, or trained now.

    This is what a study config's built-in base resolves to; the result is an
    ordinary Hugging Face model directory.
    """
    config = PretrainConfig(recipe=PretrainRecipe(preset=preset, seed=seed), show_progress=False)
    return main(config).path
