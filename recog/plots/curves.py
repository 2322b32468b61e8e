"""Learning curves: training loss and validation error rate per epoch, one line per experiment.

Reads the ``metrics.csv`` that training appends a row to after every epoch (``epoch, step,
train_loss, valid_er, valid_wer, ...``; ``valid_wer`` is empty for phone models).  Experiments are
named in the legend by their folder (as many trailing path parts as tell them apart), so that
``so/exp/base`` and ``ep/exp/base`` on one figure stay distinguishable.
"""

from __future__ import annotations

import csv
from pathlib import Path

from . import new_figure, save

NEEDED = ("epoch", "train_loss", "valid_er")


def read_metrics(path: str | Path) -> dict[str, list[float | None]]:
    """Columns of a metrics.csv (or of the one in an experiment folder) as floats (None where empty)."""
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
        header = rows[0].keys() if rows else []
    missing = [c for c in NEEDED if c not in header] if rows else []
    if missing:
        raise ValueError(f"{path}: not a recog metrics.csv (no column {', '.join(missing)})")
    cols: dict[str, list[float | None]] = {k: [] for k in header}
    for lineno, row in enumerate(rows, 2):
        for k, v in row.items():
            try:
                cols[k].append(float(v) if v not in ("", None) else None)
            except ValueError:
                raise ValueError(f"{path}:{lineno}: {k}={v!r} is not a number") from None
    return cols


def legend_names(paths: list[Path]) -> list[str]:
    """Shortest trailing parts of the experiment folders that tell them apart."""
    dirs = [(p if p.is_dir() else p.parent).resolve() for p in paths]
    for n in range(1, max(len(d.parts) for d in dirs) + 1):
        names = ["/".join(d.parts[-n:]) for d in dirs]
        if len(set(names)) == len(names):
            return names
    return [str(d) for d in dirs]


def plot_curves(exps: list[str | Path], out: str | Path, x: str = "epoch", log_loss: bool = False) -> Path:
    """Two panels (train loss, valid error rate) against ``x`` (``epoch`` or ``step``)."""
    paths = [Path(e) for e in exps]
    data = [read_metrics(p) for p in paths]
    if x not in ("epoch", "step"):
        raise ValueError(f"x axis {x!r}: use epoch or step")
    for p, d in zip(paths, data):
        if d and x not in d:
            raise ValueError(f"{p}: its metrics.csv has no {x} column")
    if not any(d.get("epoch") for d in data):
        raise ValueError("no finished epochs in " + ", ".join(map(str, paths)))
    fig = new_figure(11, 4.2)
    from matplotlib.ticker import MaxNLocator

    ax_loss, ax_er = fig.subplots(1, 2)
    for k, (name, d) in enumerate(zip(legend_names(paths), data)):
        if not d.get("epoch"):
            continue
        colour = f"C{k % 10}"
        xs = d[x]
        er = d["valid_er"]
        best = min(range(len(er)), key=lambda i: er[i] if er[i] is not None else float("inf"))
        ax_loss.plot(xs, d["train_loss"], "o-", ms=3, color=colour, label=name)
        ax_er.plot(xs, er, "o-", ms=3, color=colour,
                   label=f"{name} (best {er[best]:.2f} @ epoch {d['epoch'][best]:.0f})")
        ax_er.plot([xs[best]], [er[best]], "*", ms=12, color=colour)
        if any(v is not None for v in d.get("valid_wer", [])):
            ax_er.plot(xs, d["valid_wer"], "--", color=colour, alpha=0.7, label=f"{name} WER")
    ax_loss.set(title="training loss (per utterance)", xlabel=x, ylabel="loss")
    if log_loss:
        ax_loss.set_yscale("log")
    ax_er.set(title="validation error rate (greedy; CER or PER, WER dashed)", xlabel=x, ylabel="error rate (%)")
    for ax in (ax_loss, ax_er):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return save(fig, out)
