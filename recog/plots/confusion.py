"""Confusion matrix of a reference and a hypothesis Kaldi text file, as ``recog score`` aligns them.

Every utterance is aligned with :func:`recog.metrics.align` (the alignment ``recog score`` splits
errors with) and every aligned pair is counted: matches on the diagonal, substitutions off it,
deletions in a ``<del>`` column, insertions in an ``<ins>`` row.  Shown are the ``top`` symbols
with the most errors; ``other`` collects what they were read as outside that set, so a row sums
to the symbol's count in the references.  Colour is the share of its row (square root scale,
so that small error shares stay visible next to the diagonal); numbers are counts.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from . import check_out, new_figure, require_matplotlib, save, show_symbol

DEL, INS, OTHER = "<del>", "<ins>", "other"


def confusion_counts(refs: dict[str, str], hyps: dict[str, str], unit: str) -> Counter:
    """(reference symbol or None, hypothesis symbol or None) -> count over all utterances of
    ``refs`` (a missing hypothesis is empty: all deletions, as ``recog.metrics.score`` counts)."""
    from ..metrics import align, tokenize

    counts: Counter = Counter()
    for uid, ref_text in refs.items():
        ref, hyp = tokenize(ref_text, unit), tokenize(hyps.get(uid, ""), unit)
        if ref == hyp:
            counts.update((s, s) for s in ref)
        else:
            counts.update((r, h) for _, r, h in align(ref, hyp).ops)
    return counts


def top_symbols(counts: Counter, top: int) -> list[str]:
    """The ``top`` symbols in the most errors (as reference or hypothesis), most first."""
    errs: Counter = Counter()
    for (r, h), c in counts.items():
        if r != h:
            errs.update({s: c for s in (r, h) if s is not None})
    return [s for s, _ in sorted(errs.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]


def matrix(counts: Counter, syms: list[str]) -> tuple[np.ndarray, list[str], list[str]]:
    """Rows: ``syms`` + ``<ins>``; columns: ``syms`` + ``other`` + ``<del>``."""
    rows, cols = syms + [INS], syms + [OTHER, DEL]
    ri, ci = {s: k for k, s in enumerate(syms)}, {s: k for k, s in enumerate(syms)}
    m = np.zeros((len(rows), len(cols)), dtype=np.int64)
    for (r, h), c in counts.items():
        row = ri.get(r) if r is not None else len(syms)
        if row is None:
            continue
        col = len(cols) - 1 if h is None else ci.get(h, len(syms))
        m[row, col] += c
    return m, rows, cols


def plot_confusion(ref_path: str | Path, hyp_path: str | Path, out: str | Path, unit: str = "char",
                   top: int = 20) -> Path:
    from ..manifest import read_text
    from ..metrics import ErrorReport

    check_out(out)
    require_matplotlib()
    from matplotlib.colors import PowerNorm

    refs, hyps = read_text(ref_path), read_text(hyp_path)
    if refs and not set(refs) & set(hyps):
        raise ValueError(f"no id of {hyp_path} is in {ref_path}")
    counts = confusion_counts(refs, hyps, unit)
    syms = top_symbols(counts, top)
    if not syms:
        raise ValueError(f"{hyp_path}: no errors against {ref_path}; nothing to show")
    m, rows, cols = matrix(counts, syms)
    share = m / np.maximum(1, m.sum(axis=1, keepdims=True))
    fig = new_figure(max(6.0, 0.42 * len(cols) + 2.5), max(5.0, 0.38 * len(rows) + 1.8))
    ax = fig.subplots()
    im = ax.imshow(share, cmap="Blues", norm=PowerNorm(0.5, vmin=0, vmax=1), interpolation="nearest")
    small = 6 if len(cols) > 25 else 7
    for (i, j), c in np.ndenumerate(m):
        if c:
            ax.text(j, i, str(c), ha="center", va="center", fontsize=small,
                    color="white" if share[i, j] > 0.45 else "black")
    ax.set_xticks(range(len(cols)), [show_symbol(s) for s in cols], fontsize=10)
    ax.set_yticks(range(len(rows)), [show_symbol(s) for s in rows], fontsize=10)
    for label in ax.get_xticklabels():  # words, phones and the extra columns stand on end
        label.set_rotation(90 if len(label.get_text()) > 2 else 0)
    ax.set_xlabel("hypothesis")
    ax.set_ylabel("reference")
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01, label="share of the row")
    n_ref = sum(c for (r, _), c in counts.items() if r is not None)
    n_err = sum(c for (r, h), c in counts.items() if r != h)
    name = ErrorReport(unit=unit).name
    fig.suptitle(f"{Path(hyp_path).name} against {Path(ref_path).name}: {name} {100 * n_err / max(1, n_ref):.2f} % "
                 f"({n_err} errors / {n_ref}, {len(refs)} utterances); the {len(syms)} symbols with most errors",
                 fontsize=9)
    return save(fig, out)
