"""Do the default study's verdicts hold up on other seeds? The same study on two disjoint seed sets.

A verdict the study can reach only on one set of seeds is not a finding. This bench
runs the default preset (or reads two finished study folders) with seed sets A and B
that share no seed, and prints per claim both verdicts, both intervals and whether
they *contradict*: one run decided the claim (``supported`` / ``not supported``) and
the other decided it the other way. ``inconclusive`` or ``invalid`` beside a decided
verdict is reported as "decided once", not as a contradiction; the issue asks that no
claim be decided both ways. The validity checks are compared the same way.

Usage:
    python bench/verdict_stability.py [--seeds-a 0 1] [--seeds-b 2 3] [--set key=value ...]
    python bench/verdict_stability.py --studies DIR_A DIR_B   # compare two finished studies
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, log  # noqa: E402

DECIDED = {"supported", "not supported"}


def run_study(out: Path, seeds: list[int], overrides: list[str]) -> float:
    """One `instructmtl run` of the default preset on ``seeds``; returns its wall seconds."""
    command = [sys.executable, "-m", "instructmtl", "run", "--out", str(out), "--set", f"seeds={seeds}"]
    for item in overrides:
        command += ["--set", item]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def compare(a: dict, b: dict) -> dict[str, object]:
    """Per claim and check: both outcomes and whether they contradict."""
    claims = {}
    for claim_a in a["claims"]:
        claim_b = next((c for c in b["claims"] if c["id"] == claim_a["id"]), None)
        if claim_b is None:
            continue
        verdicts = (claim_a["verdict"], claim_b["verdict"])
        claims[claim_a["id"]] = {
            "a": {k: claim_a[k] for k in ("verdict", "estimate", "ci_low", "ci_high", "mde")},
            "b": {k: claim_b[k] for k in ("verdict", "estimate", "ci_low", "ci_high", "mde")},
            "contradiction": set(verdicts) == DECIDED,
            "decided_once": len(DECIDED & set(verdicts)) == 1 and verdicts[0] != verdicts[1],
        }
    checks = {}
    for check_a in a["checks"]:
        check_b = next((c for c in b["checks"] if c["name"] == check_a["name"]), None)
        if check_b is not None:
            checks[check_a["name"]] = {
                "a": check_a["passed"],
                "b": check_b["passed"],
                "agree": check_a["passed"] == check_b["passed"],
            }
    return {"claims": claims, "checks": checks}


def _interval(c: dict) -> str:
    def f(x: float | None) -> str:
        return "n/a" if x is None else f"{x:+.3f}"

    return f"{f(c['estimate'])} [{f(c['ci_low'])}, {f(c['ci_high'])}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds-a", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--seeds-b", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--set", nargs="*", default=[], help="study config overrides (key=value)")
    parser.add_argument("--studies", nargs=2, type=Path, help="two finished study folders to compare instead")
    parser.add_argument("--out", type=Path, help="keep the two study folders here (default: a temporary folder)")
    args = parser.parse_args()
    if set(args.seeds_a) & set(args.seeds_b):
        parser.error("the two seed sets must be disjoint")
    wall: dict[str, float] = {}
    if args.studies:
        folders = list(args.studies)
    else:
        root = args.out or Path(tempfile.mkdtemp(prefix="verdict-stability-"))
        folders = [root / "seeds-a", root / "seeds-b"]
        for name, folder, seeds in (("a", folders[0], args.seeds_a), ("b", folders[1], args.seeds_b)):
            log(f"running the default study on seeds {seeds} into {folder}")
            wall[name] = run_study(folder, seeds, args.set)
    a, b = (json.loads((folder / "claims.json").read_text(encoding="utf-8")) for folder in folders)
    result = compare(a, b)
    print(f"{'claim':32s} {'A':>14s} {'B':>14s}  intervals A | B")
    for cid, row in result["claims"].items():
        flag = "CONTRADICTION" if row["contradiction"] else ("decided once" if row["decided_once"] else "")
        print(
            f"{cid:32s} {row['a']['verdict']:>14s} {row['b']['verdict']:>14s}  "
            f"{_interval(row['a'])} | {_interval(row['b'])} {flag}"
        )
    for name, row in result["checks"].items():
        if not row["agree"]:
            print(f"check {name}: A {row['a']}, B {row['b']}")
    contradictions = [cid for cid, row in result["claims"].items() if row["contradiction"]]
    emit(
        {
            "bench": "verdict_stability",
            "studies": [str(f) for f in folders],
            "wall_seconds": wall,
            "contradictions": contradictions,
            "checks_disagree": [n for n, r in result["checks"].items() if not r["agree"]],
            **result,
        }
    )


if __name__ == "__main__":
    main()
