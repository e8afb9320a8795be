"""``build_report``: the study's results store → ``report.md`` + ``report.html`` + ``claims.json`` (+ figure PNGs).

Which arm is the baseline and which arms are replay arms is a fact about the
study, so the CLI reads it from the study's own config (the ``studies`` row of
the store), with :func:`analysis_settings`:

* ``analysis.baseline_arm``: default, the first arm listed under ``arms``;
* ``analysis.replay_arms``: default, every other arm whose name contains
  ``replay``;
* the arms claim 3 leaves out: the replay arms and every arm whose config
  changes *what* is trained rather than how the MTL objective is fitted
  (replay ratio > 0, a regularizer other than ``none``, LoRA);
* ``analysis.n_bootstrap`` and ``analysis.seed``: the bootstrap's resamples
  and seed.

``arms`` may be a list of mappings with a ``name`` key or a mapping keyed by
arm name. Every file is written atomically, so a killed build never leaves a
half report.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import yaml

from instructmtl.analysis import DEFAULT_RESAMPLES, Check, Claim
from instructmtl.errors import ConfigError, InstructMTLError
from instructmtl.report.content import collect
from instructmtl.report.document import build_document
from instructmtl.report.render import FIGURES_DIR, to_html, to_markdown
from instructmtl.results.atomic import atomic_write_bytes, atomic_write_text
from instructmtl.results.store import ResultsStore

__all__ = ["AnalysisSettings", "BuiltReport", "analysis_settings", "build_report", "config_arm_names"]


@dataclass(frozen=True)
class BuiltReport:
    """What :func:`build_report` wrote, the claims it found and the checks it was given."""

    markdown: Path
    html: Path
    claims_json: Path
    figures: tuple[Path, ...]
    claims: tuple[Claim, ...]
    checks: tuple[Check, ...]


def config_arm_names(config: dict[str, object], where: str) -> list[str]:
    """Arm names in config order, from ``arms`` (a list of ``{name: ...}`` or a mapping by name).

    Raises:
        ConfigError: ``arms`` is missing or has neither shape.
    """
    arms = config.get("arms")
    if isinstance(arms, dict) and arms:
        return [str(name) for name in arms]
    if isinstance(arms, list) and arms and all(isinstance(a, dict) and "name" in a for a in arms):
        return [str(a["name"]) for a in arms]
    raise ConfigError(
        f"{where}: cannot tell the arms apart (no 'arms' list of named arms); "
        "set analysis.baseline_arm (and analysis.replay_arms) in the study config"
    )


def _arm_specs(config: dict[str, object], where: str) -> dict[str, dict[str, object]]:
    """Each arm's config mapping by name (empty when the config lists no arms)."""
    arms = config.get("arms")
    if arms is None:
        return {}
    if isinstance(arms, dict):
        return {str(name): spec or {} for name, spec in arms.items()}
    names = config_arm_names(config, where)  # a list of named arm mappings, or it raises
    specs = cast(list[dict[str, object]], arms)
    return dict(zip(names, specs, strict=True))


def _plugin_name(spec: object) -> str:
    # YAML writes a plug-in as its name or as a mapping with a name (see training.config.PluginSpec)
    return str(spec["name"]) if isinstance(spec, dict) else str(spec)


def _changes_what_is_trained(spec: dict[str, object]) -> bool:
    """Whether an arm mixes in replay text, regularizes toward the base, or trains LoRA adapters."""
    replay = spec.get("replay")
    ratio = float(replay.get("ratio") or 0.0) if isinstance(replay, dict) else 0.0
    regularizer = spec.get("regularizer")
    regularized = regularizer is not None and _plugin_name(regularizer) != "none"
    return ratio > 0 or regularized or spec.get("lora") is not None


@dataclass(frozen=True)
class AnalysisSettings:
    """How a study asks to be analysed (its config's ``analysis`` section, defaults filled in).

    Attributes:
        baseline_arm / replay_arms: see :func:`~instructmtl.analysis.evaluate_claims`.
        n_resamples / seed: the bootstrap's.
        excluded_arms: arms claim 3 leaves out (replay, regularized, LoRA arms).
    """

    baseline_arm: str
    replay_arms: tuple[str, ...]
    n_resamples: int
    seed: int
    excluded_arms: tuple[str, ...]


def analysis_settings(config_yaml: str, where: str) -> AnalysisSettings:
    """Reads ``analysis.{baseline_arm, replay_arms, n_bootstrap, seed}`` and the arms from a study config.

    Defaults: the first arm; the other arms whose name contains ``replay``;
    :data:`~instructmtl.analysis.DEFAULT_RESAMPLES` resamples; seed 0. A key
    set to null counts as absent.

    Args:
        config_yaml: the study's resolved config.
        where: names the config in errors.

    Raises:
        ConfigError: the section has the wrong shape, or the arms cannot be found.
    """
    config = yaml.safe_load(config_yaml) or {}
    if not isinstance(config, dict):
        raise ConfigError(f"{where}: the study config is not a mapping")
    section = config.get("analysis") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: 'analysis' must be a mapping with baseline_arm / replay_arms")
    baseline = section.get("baseline_arm")
    replay = section.get("replay_arms")
    if baseline is None or replay is None:
        names = config_arm_names(config, where)
        baseline = names[0] if baseline is None else baseline
        replay = [n for n in names if "replay" in n and n != baseline] if replay is None else replay
    if not isinstance(replay, list):
        raise ConfigError(f"{where}: analysis.replay_arms must be a list of arm names")
    specs = _arm_specs(config, where)
    excluded = [n for n in specs if _changes_what_is_trained(specs[n])]
    n_resamples = section.get("n_bootstrap")
    seed = section.get("seed")
    return AnalysisSettings(
        baseline_arm=str(baseline),
        replay_arms=tuple(str(a) for a in replay),
        n_resamples=DEFAULT_RESAMPLES if n_resamples is None else int(n_resamples),
        seed=0 if seed is None else int(seed),
        excluded_arms=tuple(dict.fromkeys([*excluded, *(str(a) for a in replay)])),
    )


def build_report(  # noqa: PLR0913  keyword-only analysis settings, the fields of AnalysisSettings
    store_path: str | Path,
    out_dir: str | Path,
    *,
    baseline_arm: str,
    replay_arms: Sequence[str],
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
    study_id: str | None = None,
    excluded_arms: Sequence[str] = (),
    checks: Sequence[Check] | None = None,
) -> BuiltReport:
    """Writes ``report.md``, ``report.html``, ``claims.json`` and ``figures/*.png`` into ``out_dir``.

    Args:
        store_path: the study's ``results.sqlite``.
        out_dir: where to write (created if needed).
        baseline_arm: the arm the claims are about and compare against.
        replay_arms: arms that mix pretraining text in (claim 4).
        seed: bootstrap seed (same seed, same report).
        n_resamples: bootstrap resamples per interval.
        study_id: which study, when the store holds several.
        excluded_arms: arms claim 3 leaves out (see :class:`AnalysisSettings`).
        checks: the study's validity checks (``None``: computed from the store's score table and
            facts, :func:`instructmtl.analysis.validity.study_checks`); shown first, and a failed one
            makes the claims it guards ``invalid``.

    Returns:
        The written paths, the claims and the checks.
    """
    out = Path(out_dir)
    if not Path(store_path).is_file():
        raise InstructMTLError(f"{store_path}: no results store here; run the study first (instructmtl run)")
    # a reader must not reset jobs another process may be running
    with ResultsStore.open(store_path, reset_stale=False) as store:
        content = collect(
            store,
            baseline_arm=baseline_arm,
            replay_arms=replay_arms,
            seed=seed,
            n_resamples=n_resamples,
            study_id=study_id,
            excluded_arms=excluded_arms,
            checks=checks,
        )
    blocks = build_document(content)
    figure_paths = tuple(atomic_write_bytes(out / FIGURES_DIR / f"{f.name}.png", f.png) for f in content.figures)
    # allow_nan=False: to_json already wrote every NaN as null, and strict JSON readers reject NaN
    claims_json = atomic_write_text(
        out / "claims.json",
        json.dumps(
            {
                "claims": [c.to_json() for c in content.claims],
                "checks": [c.to_json() for c in content.checks],
                "notes": list(content.notes),
            },
            indent=2,
            allow_nan=False,
        )
        + "\n",
    )
    markdown = atomic_write_text(out / "report.md", to_markdown(blocks))
    html = atomic_write_text(out / "report.html", to_html(blocks, f"instructmtl report: {content.study.name}"))
    return BuiltReport(markdown, html, claims_json, figure_paths, content.claims, content.checks)
