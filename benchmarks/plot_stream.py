#!/usr/bin/env python
"""Plot the streaming trade-off: error rate against latency, from ``benchmarks/stream.py`` tables.

Each ``NAME=FILE`` is one model's table (the markdown ``stream.py`` prints); every row of it
becomes a point at (its largest wait, its error rate), labelled ``NAME`` (with "whole" or "streamed"
when a table has several rows).  PNG or SVG by the file name; needs matplotlib (``pip install -e '.[plot]'``).

    python benchmarks/plot_stream.py --out tradeoff.png --title "LJSpeech test" \\
        blstm=stream_blstm.md lc10=stream_lc10.md uni=stream_uni.md
"""

from __future__ import annotations

import argparse
import re
import sys

ROW = re.compile(r"^\| (?P<run>[^|]+) \| (?P<er>[0-9.]+) \| (?P<wmean>[0-9.]+) / (?P<wmax>[0-9.]+) \|")


def read_rows(path: str) -> list[tuple[str, float, float]]:
    """(run, error rate, largest wait in ms) of every row of a stream.py table."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = ROW.match(line)
            if m:
                rows.append((m["run"].strip(), float(m["er"]), float(m["wmax"])))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tables", nargs="+", help="NAME=FILE: a stream.py table")
    ap.add_argument("--out", required=True, help="figure file (.png or .svg)")
    ap.add_argument("--title", default="")
    ap.add_argument("--metric", default="PER %")
    args = ap.parse_args(argv)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_stream: matplotlib is missing: pip install -e '.[plot]'", file=sys.stderr)
        return 2
    fig, ax = plt.subplots(figsize=(6, 4))
    for spec in args.tables:
        name, _, path = spec.partition("=")
        rows = read_rows(path)
        if not rows:
            print(f"plot_stream: {path}: no table rows", file=sys.stderr)
            return 2
        for run, er, wait in rows:
            label = name if len(rows) == 1 else f"{name} ({'whole' if run.startswith('whole') else 'streamed'})"
            ax.scatter(wait / 1000, er)
            ax.annotate(label, (wait / 1000, er), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("largest wait for an output frame (s, log scale)")
    ax.set_ylabel(args.metric)
    ax.set_title(args.title)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
