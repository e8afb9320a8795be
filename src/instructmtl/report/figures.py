"""The report's figures, drawn with matplotlib's object API and returned as PNG bytes.

``matplotlib.figure.Figure`` is used directly instead of ``pyplot``: pyplot
keeps a global list of open figures and a global backend, which a library
must not touch; a bare Figure renders to PNG through the Agg canvas on its
own, with no display.
"""

from __future__ import annotations

import io
from collections.abc import Hashable, Mapping, Sequence
from typing import cast

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from instructmtl.analysis import ArmRow, Curve, Heatmap
from instructmtl.analysis.measures import QUANTITIES
from instructmtl.analysis.tables import ARM_QUANTITIES

__all__ = ["arm_bars", "curves_figure", "nll_scatter", "transfer_heatmaps", "transfer_icl_scatter"]

_DPI = 100


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    # no Software/date metadata: the same results give byte-identical figures
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def _colors(arms: Sequence[str]) -> dict[str, str]:
    return {arm: f"C{i % 10}" for i, arm in enumerate(arms)}


def _fit_line(ax: Axes, x: np.ndarray, y: np.ndarray, r: float) -> None:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2 or np.ptp(x[ok]) == 0:
        return
    slope, intercept = np.polyfit(x[ok], y[ok], 1)
    xs = np.linspace(x[ok].min(), x[ok].max(), 2)
    ax.plot(xs, slope * xs + intercept, color="black", linewidth=1, label=f"least squares, r = {r:.2f}")


def transfer_icl_scatter(
    units: Sequence[Hashable], transfer: np.ndarray, icl: np.ndarray, r: float, arms: Sequence[str]
) -> bytes:
    """Mean transfer against mean ICL change from the base, one point per (arm, step) unit, coloured by arm.

    The base model is drawn at (0, 0), where both changes are by definition;
    the fit line (claim 2.points' r) leaves it out.
    """
    fig = Figure(figsize=(5.5, 4.2))
    ax = fig.add_subplot()
    colors = _colors(arms)
    for arm in arms:
        # units are (arm, step) pairs
        idx = [i for i, u in enumerate(units) if cast(tuple[str, int], u)[0] == arm]
        ax.scatter(transfer[idx], icl[idx], color=colors[arm], label=arm, s=28)
    ax.scatter([0.0], [0.0], color="black", marker="x", label="base", s=36)
    _fit_line(ax, transfer, icl, r)
    ax.axvline(0.0, color="grey", linewidth=0.6, linestyle=":")
    ax.axhline(0.0, color="grey", linewidth=0.6, linestyle=":")
    ax.set_xlabel("mean transfer (primary metric)")
    ax.set_ylabel("mean ICL change from the base (held-out tasks)")
    ax.set_title("Transfer vs in-context learning, per checkpoint")
    ax.legend(fontsize=8)
    return _png(fig)


def nll_scatter(tasks: Sequence[str], finetune_nll: np.ndarray, icl_nll: np.ndarray, r: float, arm: str) -> bytes:
    """Per held-out task: fine-tuned target NLL against ICL target NLL."""
    fig = Figure(figsize=(5.5, 4.2))
    ax = fig.add_subplot()
    ax.scatter(finetune_nll, icl_nll, color="C0", s=22, label=f"tasks ({len(tasks)})")
    _fit_line(ax, finetune_nll, icl_nll, r)
    ax.set_xlabel("fine-tuned target NLL")
    ax.set_ylabel("ICL target NLL")
    ax.set_title(f"Fine-tuning loss vs ICL loss per task ('{arm}', final)")
    ax.legend(fontsize=8)
    return _png(fig)


def arm_bars(rows: Sequence[ArmRow]) -> bytes:
    """One panel per quantity, one bar per arm, 95% intervals as error bars."""
    fig = Figure(figsize=(3.2 * len(ARM_QUANTITIES), 3.6))
    arms = [row.arm for row in rows]
    colors = _colors(arms)
    for i, quantity in enumerate(ARM_QUANTITIES):
        ax = fig.add_subplot(1, len(ARM_QUANTITIES), i + 1)
        est = np.array([row.values[quantity].estimate for row in rows])
        low = np.array([row.values[quantity].low for row in rows])
        high = np.array([row.values[quantity].high for row in rows])
        # an undefined interval is drawn without a bar rather than failing the figure
        err = np.nan_to_num(np.vstack([est - low, high - est]), nan=0.0)
        ax.bar(range(len(arms)), est, yerr=err, capsize=4, color=[colors[a] for a in arms])
        ax.set_xticks(range(len(arms)), arms, rotation=30, ha="right", fontsize=8)
        ax.set_title(QUANTITIES[quantity].short, fontsize=9)
    fig.suptitle("Final checkpoints per arm (95% interval over tasks and seeds)", fontsize=10)
    return _png(fig)


def curves_figure(curves_by_quantity: Mapping[str, Sequence[Curve]], arms: Sequence[str]) -> bytes:
    """One panel per quantity: mean over tasks and seeds against step fraction, band = 95% interval."""
    fig = Figure(figsize=(4.2 * len(curves_by_quantity), 3.6))
    colors = _colors(arms)
    for i, (quantity, curves) in enumerate(curves_by_quantity.items()):
        ax = fig.add_subplot(1, len(curves_by_quantity), i + 1)
        for curve in curves:
            ax.plot(curve.fractions, curve.mean, marker="o", markersize=3, color=colors[curve.arm], label=curve.arm)
            ax.fill_between(curve.fractions, curve.low, curve.high, color=colors[curve.arm], alpha=0.2, linewidth=0)
        ax.set_xlabel("fraction of instruction-tuning steps")
        ax.set_title(QUANTITIES[quantity].short, fontsize=9)
        if i == 0:
            ax.legend(fontsize=8)
    return _png(fig)


def transfer_heatmaps(heatmaps: Sequence[Heatmap]) -> bytes:
    """Transfer per task × checkpoint, one panel per arm, on one diverging scale centred at 0."""
    n_tasks = max((len(h.tasks) for h in heatmaps), default=1)
    fig = Figure(figsize=(2.2 + 2.4 * len(heatmaps), 1.5 + 0.22 * n_tasks))
    finite = [np.abs(h.values[np.isfinite(h.values)]) for h in heatmaps if h.values.size]
    limit = max((float(v.max()) for v in finite if v.size), default=1.0) or 1.0
    image = None
    for i, heat in enumerate(heatmaps):
        ax = fig.add_subplot(1, len(heatmaps), i + 1)
        ax.set_title(heat.arm, fontsize=9)
        if not heat.values.size:  # a study still running may have no fine-tunes yet
            ax.text(0.5, 0.5, "no transfer yet", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        image = ax.imshow(heat.values, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
        ax.set_xticks(range(len(heat.steps)), [f"{f:.2f}" for f in heat.fractions], fontsize=7)
        ax.set_yticks(range(len(heat.tasks)), heat.tasks if i == 0 else [""] * len(heat.tasks), fontsize=7)
        ax.set_xlabel("step fraction", fontsize=8)
    if image is not None:
        fig.colorbar(image, ax=fig.axes, shrink=0.8, label="transfer (primary metric)")
    return _png(fig)
