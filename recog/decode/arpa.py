"""ARPA n-gram files in and out of :class:`recog.decode.lm.NGramLM` (plain or ``.gz``; also the
files KenLM ``lmplz`` and SRILM ``ngram-count`` write).
"""

from __future__ import annotations

import gzip
import math
import os
from collections import Counter

from .lm import BOS, BOS_LOG10, NEG_INF, Ngram, NGramLM


def _open_text(path: str | os.PathLike, mode: str):
    if str(path).endswith(".gz"):
        return gzip.open(path, mode + "t", encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def read_arpa(path: str | os.PathLike) -> NGramLM:
    """Read an ARPA file (optionally ``.gz``).

    Accepts what KenLM and SRILM write: any text before ``\\data\\``, blank lines, tabs or spaces
    as separators, n-grams without a back-off column, ``-99`` (or ``-inf``) for ``<s>``.  The
    n-gram counts of the ``\\data\\`` header must match the sections.  Every problem is a
    ValueError naming the file (and the line, where there is one).
    """
    declared: dict[int, int] = {}
    probs: dict[Ngram, float] = {}
    backoffs: dict[Ngram, float] = {}
    seen: Counter = Counter()
    try:
        state = _read_arpa_lines(path, declared, probs, backoffs, seen)
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except (EOFError, OSError) as e:
        raise ValueError(f"{path}: cannot read ({e})") from None
    if state == "preamble":
        raise ValueError(f"{path}: no \\data\\ section")
    if state != "end":
        raise ValueError(f"{path}: missing \\end\\")
    for k, c in declared.items():
        if seen[k] != c:
            raise ValueError(f"{path}: header declares {c} {k}-grams, found {seen[k]}")
    if not declared:
        raise ValueError(f"{path}: no n-grams declared")
    order = max(declared)
    # -inf for <s> (some toolkits) -> the usual -99
    for g, p in probs.items():
        if p == NEG_INF and g == (BOS,):
            probs[g] = BOS_LOG10
    return NGramLM(order, probs, backoffs)


def _number(text: str, where: str, what: str, allow_neg_inf: bool = False) -> float:
    try:
        x = float(text)
    except ValueError:
        raise ValueError(f"{where}: {what} {text!r} is not a number") from None
    if math.isnan(x) or x == math.inf or (x == -math.inf and not allow_neg_inf):
        raise ValueError(f"{where}: {what} {text!r} is not a finite number")
    return x


def _read_arpa_lines(path, declared: dict, probs: dict, backoffs: dict, seen: Counter) -> str:
    """Fill the tables from the file; returns the state reached (preamble, header, ngrams, end)."""
    state, n = "preamble", 0
    with _open_text(path, "r") as f:
        for lineno, raw_line in enumerate(f, 1):
            where = f"{path}:{lineno}"
            line = raw_line.strip()
            if state == "preamble":
                if line == "\\data\\":
                    state = "header"
                continue
            if not line:
                continue
            if line == "\\end\\":
                return "end"
            if line.startswith("\\") and line.endswith("-grams:"):
                n = int(line[1 : -len("-grams:")]) if line[1 : -len("-grams:")].isdigit() else 0
                if n < 1:
                    raise ValueError(f"{where}: bad section header {line!r}")
                if n not in declared:
                    raise ValueError(f"{where}: section {line} not declared in \\data\\")
                state = "ngrams"
                continue
            if state == "header":
                k, eq, v = line[len("ngram "):].partition("=")
                if not line.startswith("ngram ") or not eq or not k.strip().isdigit() or not v.strip().isdigit():
                    raise ValueError(f"{where}: expected 'ngram N=count', got {line!r}")
                declared[int(k)] = int(v)
                continue
            parts = line.split()
            if len(parts) not in (n + 1, n + 2):
                raise ValueError(f"{where}: expected a {n}-gram line, got {line!r}")
            g = tuple(parts[1 : n + 1])
            probs[g] = _number(parts[0], where, "log probability", allow_neg_inf=True)
            if len(parts) == n + 2:
                backoffs[g] = _number(parts[-1], where, "back-off weight")
            seen[n] += 1
    return state


def write_arpa(lm: NGramLM, path: str | os.PathLike, precision: int | None = None) -> None:
    """Write ``lm`` as an ARPA file (``.gz`` compresses).

    Values are log10.  With ``precision=None`` floats are written with ``repr`` so that reading
    the file back gives bit-identical scores; an integer writes that many decimals instead.
    The back-off column is written for n-grams that have a weight (never at the highest order).
    """

    def fmt(x: float) -> str:
        return repr(float(x)) if precision is None else f"{x:.{precision}f}"

    by_order: list[list[Ngram]] = [[] for _ in range(lm.order + 1)]
    for g in lm.probs:
        by_order[len(g)].append(g)
    with _open_text(path, "w") as f:
        f.write("\n\\data\\\n")
        for n in range(1, lm.order + 1):
            f.write(f"ngram {n}={len(by_order[n])}\n")
        for n in range(1, lm.order + 1):
            f.write(f"\n\\{n}-grams:\n")
            for g in sorted(by_order[n]):
                line = f"{fmt(lm.probs[g])}\t{' '.join(g)}"
                if n < lm.order and g in lm.backoffs:
                    line += f"\t{fmt(lm.backoffs[g])}"
                f.write(line + "\n")
        f.write("\n\\end\\\n")
