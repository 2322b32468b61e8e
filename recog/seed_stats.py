"""Comparisons over training seeds: mean ± sd per configuration and Welch's t-test against a baseline.

Why: a single run of a recurrent network moves by a few tenths of a point with its seed (seqMNIST's
LSTM: 98.29 to 98.61 over three seeds), as much as many of the differences a comparison such as
Greff et al. 2016's LSTM variants is after.  Greff et al. report each variant against the vanilla
LSTM with Welch's t-test (unequal variances); so does this table.

For samples a (n_a values, mean ā, variance s_a² with n_a − 1 in the denominator) and b:

    t = (ā − b̄) / √(s_a²/n_a + s_b²/n_b)
    ν = (s_a²/n_a + s_b²/n_b)² / ((s_a²/n_a)²/(n_a − 1) + (s_b²/n_b)²/(n_b − 1))   (Welch–Satterthwaite)
    p = 2 · (1 − F_ν(|t|)) = I_x(ν/2, ½), x = ν/(ν + t²)   (F_ν: Student's t with ν degrees of freedom)

    python -m recog.seed_stats RESULTS.tsv --baseline peephole_lstm [--lower-better] [--alpha 0.05]

RESULTS.tsv: a row per run, ``name<TAB>seed<TAB>value[<TAB>seconds per epoch]``; the table is
Markdown, one row per name in the file's order.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Runs:
    name: str
    values: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def sd(self) -> float:
        """Sample standard deviation (n − 1); 0 for a single run."""
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else 0.0


def student_t_cdf(t: float, nu: float) -> float:
    """F_ν(t) through the regularised incomplete beta function:
    F_ν(t) = 1 − ½ I_x(ν/2, ½) with x = ν/(ν + t²), for t ≥ 0 (symmetric below 0)."""
    x = nu / (nu + t * t)
    tail = 0.5 * _betainc(nu / 2, 0.5, x)
    return 1.0 - tail if t >= 0 else tail


def _betainc(a: float, b: float, x: float) -> float:
    """I_x(a, b) by its continued fraction (Numerical Recipes, §6.4), using the symmetry
    I_x(a, b) = 1 − I_{1−x}(b, a) where the fraction converges slowly."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1) / (a + b + 2):
        return 1.0 - _betainc(b, a, 1.0 - x)
    ln_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    return math.exp(ln_front) * _beta_fraction(a, b, x) / a


def _beta_fraction(a: float, b: float, x: float, iters: int = 300, eps: float = 1e-15) -> float:
    """Lentz's evaluation of the continued fraction 1/(1 + d₁/(1 + d₂/(1 + …)))."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    f = d
    for m in range(1, iters + 1):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            f *= c * d
        if abs(c * d - 1.0) < eps:
            break
    return f


def welch(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """(t, ν, two-sided p) of Welch's test that a and b have the same mean; NaNs when it is undefined
    (fewer than two runs in either, or no spread in both)."""
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan, math.nan
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    if va + vb == 0:
        return math.nan, math.nan, math.nan
    t = (np.mean(a) - np.mean(b)) / math.sqrt(va + vb)
    nu = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    t, nu = float(t), float(nu)
    return t, nu, _betainc(nu / 2, 0.5, nu / (nu + t * t))   # both tails, without 1 − F's cancellation


def read_runs(path: Path) -> list[Runs]:
    """The TSV's rows grouped by name, in first-seen order."""
    runs: dict[str, Runs] = {}
    for k, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) < 3:
            raise ValueError(f"{path}:{k}: want name, seed, value[, seconds per epoch] separated by tabs: {line!r}")
        try:
            value = float(cols[2])
            secs = float(cols[3]) if len(cols) > 3 and cols[3].strip() else None
        except ValueError:
            raise ValueError(f"{path}:{k}: not a number: {line!r}") from None
        r = runs.setdefault(cols[0], Runs(cols[0]))
        r.values.append(value)
        if secs is not None:
            r.seconds.append(secs)
    if not runs:
        raise ValueError(f"{path}: no runs")
    return list(runs.values())


def table(runs: list[Runs], baseline: str, higher_better: bool = True, alpha: float = 0.05) -> str:
    """Markdown: name, n, mean ± sd, the runs, Δ against the baseline, Welch's p and a verdict."""
    base = next((r for r in runs if r.name == baseline), None)
    if base is None:
        raise ValueError(f"baseline {baseline!r} is not among the runs ({', '.join(r.name for r in runs)})")
    out = ["| variant | runs | mean ± sd | each run | Δ vs " + baseline + " | Welch p | verdict | s an epoch |",
           "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        each = " / ".join(f"{v:.2f}" for v in r.values)
        secs = f"{min(r.seconds):.0f}–{max(r.seconds):.0f}" if r.seconds else "–"
        if r is base:
            out.append(f"| **{r.name}** | {len(r.values)} | **{r.mean:.2f} ± {r.sd:.2f}** | {each} | – | – | baseline | {secs} |")
            continue
        t, _, p = welch(r.values, base.values)
        diff = r.mean - base.mean
        if math.isnan(p) or p >= alpha:
            verdict = "no significant difference"
        else:
            verdict = "better" if (diff > 0) == higher_better else "worse"
        ptxt = "–" if math.isnan(p) else f"{p:.3f}"
        out.append(f"| {r.name} | {len(r.values)} | {r.mean:.2f} ± {r.sd:.2f} | {each} | {diff:+.2f} | {ptxt} | {verdict} | {secs} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m recog.seed_stats", description=__doc__.split("\n\n")[0])
    ap.add_argument("tsv", type=Path, help="name<TAB>seed<TAB>value[<TAB>seconds per epoch], a row per run")
    ap.add_argument("--baseline", required=True, help="the name every other is tested against")
    ap.add_argument("--lower-better", action="store_true", help="smaller values are better (error rates)")
    ap.add_argument("--alpha", type=float, default=0.05, help="significance level of the verdict column")
    args = ap.parse_args(argv)
    try:
        print(table(read_runs(args.tsv), args.baseline, not args.lower_better, args.alpha))
    except (OSError, ValueError) as e:
        print(f"seed_stats: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
