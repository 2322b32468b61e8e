"""Posteriorgram: the model's per-frame symbol posteriors for one input, as an image.

Rows are the blank and the symbols that reach ``threshold`` somewhere (at most ``top`` of them,
the strongest; every symbol the greedy decoder emits is always kept), in the symbol table's order;
columns are output frames.  CTC posteriors are spiky: a symbol fires on a frame or two, blank fills
the rest, so the greedy symbols are marked on their frames and written out underneath.  With a
reference transcript the CTC forced alignment (:func:`recog.align.forced_align`) is drawn too:
a line where each reference symbol starts, its label above the posteriors.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from . import check_out, new_figure, require_matplotlib, save, show_symbol
from .inputs import draw_features, frame_label, log_probs, model_input


def choose_rows(post: np.ndarray, always: list[int], top: int, threshold: float) -> list[int]:
    """Blank (0) then the symbols to show, in table order (see the module docstring)."""
    peak = post.max(axis=0)
    strong = [v for v in np.argsort(-peak, kind="stable") if v != 0 and peak[v] >= threshold][:top]
    return [0] + sorted(set(int(v) for v in strong) | {v for v in always if v != 0})


def _strip(ax, labels: list[tuple[float, str]], title: str, colour: str) -> None:
    """Labels at frame positions in a thin axis, alternating in height so neighbours do not collide."""
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.tick_params(labelbottom=False)
    for k, (x, text) in enumerate(labels):
        ax.text(x, 0.7 if k % 2 else 0.3, text, ha="center", va="center", fontsize=7, color=colour, clip_on=True)
    ax.set_ylabel(title, rotation=0, ha="right", va="center", fontsize=8)


def plot_posteriorgram(model: str | Path, path: str | Path, out: str | Path, ref: str | None = None,
                       top: int = 30, threshold: float = 0.05) -> Path:
    from ..align import forced_align
    from ..decode import greedy

    check_out(out)
    require_matplotlib()
    tr, feats = model_input(model, path)
    kind = getattr(tr.recogniser.model, "kind", "ctc")  # model.output: ctc, classes or regression
    if kind != "ctc":
        raise ValueError(f"{model}: a posteriorgram needs a CTC model (this one's output is {kind})")
    logp = log_probs(tr, feats)
    syms = tr.recogniser.symbols
    spans = forced_align(logp, syms.encode(ref)) if ref else []  # ValueError: unknown symbols, too long
    hyp = greedy(logp)
    post = logp.exp().numpy()
    T = post.shape[0]
    rows = choose_rows(post, hyp.tokens, top, threshold)
    row_of = {v: r for r, v in enumerate(rows)}

    heights = [2.0] + ([0.45] if ref else []) + [max(2.0, 0.16 * len(rows)), 0.45]
    fig = new_figure(min(30.0, max(8.0, 0.05 * T + 2)), sum(heights) + 1.2)
    axes = fig.subplots(len(heights), 1, sharex=True, gridspec_kw={"height_ratios": heights})
    ax_in, ax_post, ax_hyp = axes[0], axes[-2], axes[-1]
    draw_features(ax_in, tr, feats)
    im = ax_post.imshow(post[:, rows].T, aspect="auto", interpolation="nearest", cmap="magma", vmin=0, vmax=1,
                        extent=(-0.5, T - 0.5, len(rows) - 0.5, -0.5))
    ax_post.set_yticks(range(len(rows)), [show_symbol(syms.symbols[v]) for v in rows],
                       fontsize=7 if len(rows) < 40 else 5)
    ax_post.set_ylabel("symbol")
    ax_post.tick_params(labelbottom=False)
    fig.colorbar(im, ax=ax_post, pad=0.005, fraction=0.02, label="posterior")

    peaks = [a + int(np.argmax(post[a : b + 1, t])) for t, a, b in zip(hyp.tokens, hyp.start_frames, hyp.end_frames)]
    ax_post.plot(peaks, [row_of[t] for t in hyp.tokens], "o", mfc="none", mec="cyan", ms=5, mew=0.8)
    _strip(ax_hyp, [(p, show_symbol(syms.symbols[t])) for p, t in zip(peaks, hyp.tokens)], "greedy", "tab:blue")
    ax_hyp.set_xlabel(frame_label(tr))
    ax_hyp.tick_params(labelbottom=True)
    ax_hyp.set_xlim(-0.5, T - 0.5)

    if ref:
        starts = [a for _, a, _ in spans]
        ends = starts[1:] + [spans[-1][2] + 1] if spans else []
        _strip(axes[1], [((a + e) / 2 - 0.5, show_symbol(syms.symbols[s])) for (s, a, _), e in zip(spans, ends)],
               "aligned\nreference", "tab:green")
        for a in starts + ends[-1:]:
            for ax in (ax_in, axes[1], ax_post):
                ax.axvline(a - 0.5, color="lime", lw=0.6, ls="--", alpha=0.8)
    title = (f"{Path(path).name} through {Path(model).name}: posteriors of {len(rows) - 1} of {len(syms) - 1} "
             f"symbols (blank on top); greedy: {syms.decode(hyp.tokens)}")
    fig.suptitle(textwrap.fill(title, int(fig.get_figwidth() * 13)), fontsize=9)
    return save(fig, out)
