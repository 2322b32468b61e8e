"""Mix prepared corpora into one training set with mixing weights (``recog prep mix``).

Each input is ``NAME=DIR[:WEIGHT]``, DIR a manifest folder (``recog features`` output, with cached
features, or a ``recog prep`` split).  Its records join the mix with ids ``NAME-<id>`` (so corpora
cannot collide) and ``extra["corpus"] = NAME``; a weight of 2.5 puts every record in twice and a
seeded half of them a third time (ids ``NAME-r2-<id>``, ``NAME-r3-<id>``), a weight of 0.3 a
seeded 30 %.  Labels must be in ``--tokens``: ``--drop sil`` removes a symbol from every transcript,
``--replace dx=t`` rewrites one; a record still holding a symbol outside the table is reported and
left out.  All inputs with cached features must share one ``features.json``, which the mix keeps,
so training refuses features computed another way.

Out: ``OUT/manifest.jsonl``, ``OUT/text``, ``OUT/mix.json`` (per corpus: records in, records out,
weight) and ``OUT/features.json``.

Usage::

    recog prep mix --in so762=feats/so762/train --in lj=feats/lj/train:2 --in synth=feats/synth/train:0.5 \\
        --tokens data/so762/tokens.txt --drop sil --replace dx=t --out feats/mix_train
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from pathlib import Path

from recog.manifest import Utterance, read_manifest, write_manifest, write_text
from recog.tokens import SymbolTable

from .common import Reporter, run_reporting_errors

PROG = "data_prep.mix"


def _source(s: str) -> tuple[str, Path, float]:
    name, sep, rest = s.partition("=")
    path, _, weight = rest.rpartition(":") if ":" in rest else (rest, "", "1")
    try:
        w = float(weight)
    except ValueError:
        w = -1.0
    if not sep or not name or not path or w <= 0:
        raise argparse.ArgumentTypeError(f"{s!r}: expected NAME=DIR or NAME=DIR:WEIGHT with WEIGHT > 0")
    return name, Path(path), w


def relabel(text: str, drop: set[str], replace: dict[str, str]) -> str:
    return " ".join(replace.get(t, t) for t in text.split() if t not in drop)


def copies(utts: list[Utterance], weight: float, seed: int) -> list[tuple[int, Utterance]]:
    """(copy number, record) pairs: ``int(weight)`` full copies and a seeded fraction of one more."""
    whole, frac = int(weight), weight - int(weight)
    out = [(k, u) for k in range(1, whole + 1) for u in utts]
    if frac > 1e-9:
        rng = random.Random(seed)
        chosen = sorted(rng.sample(range(len(utts)), round(frac * len(utts))))
        out += [(whole + 1, utts[i]) for i in chosen]
    return out


def mix(sources: list[tuple[str, Path, float]], out: Path, tokens: Path, drop: set[str], replace: dict[str, str],
        seed: int = 0) -> list[Utterance]:
    rep = Reporter(PROG)
    symbols = SymbolTable.read(tokens)
    settings, settings_from = None, None
    merged, summary = [], {}
    for k, (name, d, weight) in enumerate(sources):
        utts = read_manifest(d)
        folder = d if d.is_dir() else d.parent
        if any(u.feats for u in utts) and (folder / "features.json").is_file():
            s = json.loads((folder / "features.json").read_text())
            if settings is not None and s != settings:
                raise ValueError(f"{folder / 'features.json'}: other feature settings than {settings_from}")
            settings, settings_from = s, folder / "features.json"
        kept = []
        for u in utts:
            text = relabel(u.text or "", drop, replace)
            try:
                if not symbols.encode(text):
                    raise ValueError("empty transcript")
            except ValueError as e:
                rep.warn("unusable label", f"{d}: {u.id}: {e}; left out")
                continue
            kept.append(Utterance(u.id, u.path, text, u.speaker, u.feats, u.num_frames, {**u.extra, "corpus": name}))
        mixed = [Utterance(f"{name}-{u.id}" if c == 1 else f"{name}-r{c}-{u.id}", u.path, u.text, u.speaker, u.feats,
                           u.num_frames, dict(u.extra)) for c, u in copies(kept, weight, seed + k)]
        summary[name] = {"dir": str(d), "records": len(utts), "usable": len(kept), "weight": weight,
                         "in_mix": len(mixed)}
        merged += mixed
    if not merged:
        raise ValueError("nothing to mix")
    out.mkdir(parents=True, exist_ok=True)
    write_manifest(out / "manifest.jsonl", merged)
    write_text(out / "text", sorted((u.id, u.text or "") for u in merged))
    (out / "mix.json").write_text(json.dumps(summary, indent=1) + "\n")
    if settings_from is not None:
        shutil.copyfile(settings_from, out / "features.json")
    for name, s in summary.items():
        rep.info(f"{name}: {s['usable']} of {s['records']} records x {s['weight']} -> {s['in_mix']}")
    rep.info(f"wrote {out}: {len(merged)} records")
    return merged


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="recog prep mix", description=__doc__.split("\n\n")[0])
    ap.add_argument("--in", dest="sources", type=_source, action="append", required=True, metavar="NAME=DIR[:W]",
                    help="a manifest folder and its mixing weight (default 1); repeat for each corpus")
    ap.add_argument("--out", type=Path, required=True, help="output folder (manifest.jsonl, text, mix.json)")
    ap.add_argument("--tokens", type=Path, required=True, help="the symbol table every label must fit")
    ap.add_argument("--drop", default="", help="comma-separated symbols removed from every transcript (e.g. sil)")
    ap.add_argument("--replace", default="", help="comma-separated a=b rewrites of symbols (e.g. dx=t)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the fractional copies (default 0)")
    args = ap.parse_args(argv)
    try:
        replace = dict(kv.split("=", 1) for kv in args.replace.split(",") if kv)
    except ValueError:
        ap.error(f"--replace {args.replace!r}: expected a=b pairs")
    drop = {s for s in args.drop.split(",") if s}
    return run_reporting_errors(PROG, lambda: mix(args.sources, args.out, args.tokens, drop, replace, args.seed))


if __name__ == "__main__":
    sys.exit(main())
