"""Activation plot (as MATLAB draws one for an LSTM network): chosen units of one encoder layer over time.

One panel per state, the input on top: the hidden state ``h`` (what the layer passes on), and for
LSTM cells the cell state ``c`` as lines, and the input, forget and output gates and the candidate
``g`` as units × frames images (eight lines switching between 0 and 1 would be unreadable); they
are recomputed from the layer's weights (:mod:`recog.models.inspect`).  GRU and plain RNN layers
show ``h`` only.  Units are numbered as in the layer's output vector: forward units first, then the
backward ones, so ``--units`` picks from either direction.  A last panel shows ``h`` of all units.
"""

from __future__ import annotations

from pathlib import Path

from . import check_out, new_figure, require_matplotlib, save
from .inputs import draw_features, frame_label, model_input

# (state, label, value range): lines for h and c, a units x frames image for each gate
LINES = (("h", "hidden state h", (-1, 1)), ("c", "cell state c", None))
IMAGES = (("i", "input gate i", (0, 1)), ("f", "forget gate f", (0, 1)), ("o", "output gate o", (0, 1)),
          ("g", "candidate g", (-1, 1)))


def unit_names(units: list[int], n: int, bidirectional: bool) -> list[str]:
    """Legend labels: the index in the layer's output and, for a BiLSTM, its direction and index there."""
    if not bidirectional:
        return [str(u) for u in units]
    H = n // 2
    return [f"{u} (fwd {u})" if u < H else f"{u} (bwd {u - H})" for u in units]


def plot_activations(model: str | Path, path: str | Path, out: str | Path, layer: int = 0,
                     units: list[int] | None = None) -> Path:
    from ..models.inspect import layer_states

    check_out(out)
    require_matplotlib()
    tr, feats = model_input(model, path)
    net = tr.recogniser.model
    states = layer_states(net, feats, layer)
    T, n = states["h"].shape
    units = list(range(min(8, n))) if units is None else units
    bad = [u for u in units if not 0 <= u < n]
    if bad or not units:
        raise ValueError(f"--units {','.join(map(str, bad)) or '(none)'}: layer {layer} has units 0-{n - 1}"
                         + (" (forward 0-{0}, backward {1}-{2})".format(n // 2 - 1, n // 2, n - 1)
                            if net.encoder.layers[layer].bwd is not None else ""))
    lines, images = [p for p in LINES if p[0] in states], [p for p in IMAGES if p[0] in states]
    heights = [1.6] + [1.6] * len(lines) + [0.25 * len(units) + 0.3] * len(images) + [2.2]
    fig = new_figure(min(30.0, max(9.0, 0.04 * T + 3)), sum(heights) + 1.0)
    axes = fig.subplots(len(heights), 1, sharex=True, gridspec_kw={"height_ratios": heights})
    draw_features(axes[0], tr, feats)
    names = unit_names(units, n, net.encoder.layers[layer].bwd is not None)
    for ax, (key, title, ylim) in zip(axes[1:], lines):
        v = states[key].numpy()
        for k, (u, name) in enumerate(zip(units, names)):
            ax.plot(v[:, u], lw=0.9, color=f"C{k % 10}", label=name)
        if ylim:
            ax.set_ylim(ylim[0] - 0.05, ylim[1] + 0.05)
        ax.grid(alpha=0.3)
    for ax, (key, title, (lo, hi)) in zip(axes[1 + len(lines):], images):
        gate = ax.imshow(states[key].numpy()[:, units].T, aspect="auto", interpolation="nearest",
                         cmap="viridis" if lo == 0 else "RdBu_r", vmin=lo, vmax=hi,
                         extent=(-0.5, T - 0.5, len(units) - 0.5, -0.5))
        ax.set_yticks(range(len(units)), [str(u) for u in units], fontsize=6 if len(units) > 8 else 7)
        fig.colorbar(gate, ax=ax, pad=0.005, fraction=0.02)
    for ax, (_, title, _) in zip(axes[1:], lines + images):
        ax.set_ylabel(title, fontsize=8)
        ax.tick_params(labelbottom=False)
    axes[1].legend(fontsize=7, ncols=min(len(units), 8), loc="lower left", bbox_to_anchor=(0, 1.02),
                   frameon=False, title=f"unit of layer {layer}'s output", title_fontsize=7)
    im = axes[-1].imshow(states["h"].numpy().T, aspect="auto", interpolation="antialiased", cmap="RdBu_r",
                         vmin=-1, vmax=1, extent=(-0.5, T - 0.5, n - 0.5, -0.5))
    axes[-1].set_ylabel(f"h, all {n} units", fontsize=8)
    axes[-1].set_xlabel(frame_label(tr))
    axes[-1].set_xlim(-0.5, T - 0.5)
    fig.colorbar(im, ax=axes[-1], pad=0.005, fraction=0.02)
    cell = tr.cfg.model.cell + ("" if "c" in states else " (no cell state or gates to show)")
    fig.suptitle(f"{Path(path).name} through {Path(model).name}: encoder layer {layer} of "
                 f"{len(net.encoder.layers)}, {cell}", fontsize=9)
    return save(fig, out)
