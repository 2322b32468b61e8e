"""Figures for ``recog plot``: learning curves, posteriorgrams, LSTM activations, confusion matrices.

matplotlib is an optional extra (``pip install -e '.[plot]'``): nothing else in recog needs it, so it
is imported only here, when a figure is drawn.  Figures are drawn on matplotlib's Agg canvas
directly (``Figure`` + ``FigureCanvasAgg``, no pyplot): no display is needed and no global state is
touched, so the library can draw from any process.  The format follows the output's suffix.
"""

from __future__ import annotations

from pathlib import Path

FORMATS = (".png", ".svg")
INSTALL = "recog plot needs matplotlib: pip install -e '.[plot]'"


class MissingMatplotlib(ImportError):
    """matplotlib is not installed; the message says how to install it."""


def require_matplotlib():
    """The matplotlib module, or MissingMatplotlib (checked before any slow work is done)."""
    try:
        import matplotlib
    except ImportError:
        raise MissingMatplotlib(INSTALL) from None
    return matplotlib


def check_out(out: str | Path) -> Path:
    """The output path, if its suffix names a format we write (ValueError otherwise)."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ValueError(f"{out}: cannot tell the figure format from {out.suffix or 'no suffix'!r}; "
                         f"name a {' or '.join(FORMATS)} file")
    return out


def new_figure(width: float, height: float):
    """An empty Figure (inches) on an Agg canvas, with constrained layout."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig, out: str | Path) -> Path:
    """Write ``fig`` as PNG (150 dpi) or SVG, by the suffix of ``out``."""
    out = check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format=out.suffix.lower()[1:], dpi=150)
    return out


def show_symbol(s: str) -> str:
    """A symbol as a label: the space (metrics' ``" "``, tokens' ``<space>``) as ``␣``, blank as ``blk``."""
    return {" ": "␣", "<space>": "␣", "<blk>": "blk"}.get(s, s)
