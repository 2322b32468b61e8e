"""The CTC prefix beam search in pure Python: the specification of :mod:`recog.decode.beam`'s
search (the algorithm is described there), which the compiled kernel of
:mod:`recog.decode.fast_beam` reproduces bit for bit; also the search when that kernel was not
built.  Prefixes live in a trie (:class:`_PrefixTrie`); with an LM, :class:`_Fusion` scores each
prefix once and the rank (:func:`_rank`) adds it to the acoustic score.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from .types import Hypothesis

NEG_INF = float("-inf")


def _lae(a: float, b: float) -> float:
    """log(exp(a) + exp(b)) for Python floats (faster than numpy on scalars)."""
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    if a > b:
        return a + math.log1p(math.exp(b - a))
    return b + math.log1p(math.exp(a - b))


# Per-symbol timing as a persistent linked list: (parent, token, start, end, logp_peak).
# Extending a prefix or updating its last symbol's end frame is O(1) and never copies.
_Trace = Optional[tuple]


@dataclass
class _Entry:
    """Search state of one prefix during a frame update."""

    p_b: float = NEG_INF
    p_nb: float = NEG_INF
    trace: _Trace = None
    trace_lp: float = NEG_INF  # log prob of the contribution the trace came from

    @property
    def total(self) -> float:
        return _lae(self.p_b, self.p_nb)

    def offer(self, lp: float, trace: _Trace) -> None:
        """Keep ``trace`` if this contribution is the best one into the prefix so far."""
        if lp > self.trace_lp or self.trace_lp == NEG_INF:
            self.trace_lp = lp
            self.trace = trace


class _PrefixTrie:
    """Prefixes as integer node ids (node 0 is the empty prefix).

    Long tuple keys would be re-hashed in O(length) on every dictionary access; node ids keep
    each extension and lookup O(1)."""

    def __init__(self) -> None:
        self.parent: list[int] = [-1]
        self.token: list[int] = [-1]
        self.children: dict[tuple[int, int], int] = {}

    def child(self, node: int, tok: int) -> int:
        key = (node, tok)
        n = self.children.get(key)
        if n is None:
            n = len(self.parent)
            self.parent.append(node)
            self.token.append(tok)
            self.children[key] = n
        return n

    def tokens(self, node: int) -> list[int]:
        out: list[int] = []
        while node > 0:
            out.append(self.token[node])
            node = self.parent[node]
        out.reverse()
        return out


def _rank(prefix: int, entry: _Entry) -> float:
    """Beam ranking score without an LM: the acoustic prefix log probability."""
    return entry.total


class _Fusion:
    """Shallow-fusion bookkeeping: LM state, LM log probability and unit count per trie node.

    ``bonus(node) = alpha * lm + beta * units`` is what the LM adds to a prefix's rank; it is
    ``-inf`` when the scorer pruned the prefix (whatever ``alpha``: a lexicon is a constraint).
    Values are computed lazily from the parent node, once per node.
    """

    def __init__(self, scorer, symbols: list[str], trie: _PrefixTrie, alpha: float, beta: float):
        self.scorer = scorer
        self.symbols = symbols
        self.trie = trie
        self.alpha = alpha
        self.beta = beta
        self.state: dict[int, object] = {0: scorer.initial_state()}
        self.lm: dict[int, float] = {0: 0.0}
        self.units: dict[int, int] = {0: 0}
        self._bonus: dict[int, float] = {0: 0.0}

    def _combine(self, lm: float, units: int) -> float:
        if lm == NEG_INF:
            return NEG_INF
        return self.alpha * lm + self.beta * units

    def bonus(self, node: int) -> float:
        b = self._bonus.get(node)
        if b is not None:
            return b
        # walk up to the nearest scored ancestor, then score down (normally one step)
        path = []
        while node not in self._bonus:
            path.append(node)
            node = self.trie.parent[node]
        for child in reversed(path):
            parent = self.trie.parent[child]
            st, lp = self.state[parent], self.lm[parent]
            sym = self.symbols[self.trie.token[child]]
            if lp == NEG_INF:
                delta, st2, du = NEG_INF, st, 0
            else:
                delta, st2 = self.scorer.score_extend(st, sym)
                du = self.scorer.units_extend(st, sym)
            self.state[child] = st2
            self.lm[child] = lp + delta
            self.units[child] = self.units[parent] + du
            self._bonus[child] = b = self._combine(lp + delta, self.units[child])
        return b  # type: ignore[return-value]

    def rank(self, node: int, entry: _Entry) -> float:
        return entry.total + self.bonus(node)

    def final(self, node: int) -> tuple[float, float]:
        """``(LM log prob incl. the end of sentence, bonus incl. the end)`` of a finished prefix."""
        self.bonus(node)
        st, lp = self.state[node], self.lm[node]
        if lp == NEG_INF:
            return NEG_INF, NEG_INF
        lp += self.scorer.score_final(st)
        return lp, self._combine(lp, self.units[node] + self.scorer.units_final(st))


def _unroll(trace: _Trace) -> tuple[list[int], list[int], list[float]]:
    starts: list[int] = []
    ends: list[int] = []
    confs: list[float] = []
    while trace is not None:
        parent, _tok, s, e, lp = trace
        starts.append(s)
        ends.append(e)
        confs.append(min(1.0, max(0.0, math.exp(lp))))
        trace = parent
    starts.reverse()
    ends.reverse()
    confs.reverse()
    return starts, ends, confs


def check_args(
    logp: np.ndarray | torch.Tensor,
    beam: int,
    blank: int,
    nbest: int,
    lm,
    symbols,
    prune_topk: int | None,
    prune_cumprob: float | None,
    beam_threshold: float | None,
) -> tuple[np.ndarray, list[str] | None]:
    """Validate the arguments; return the (T, V) float64 matrix and the symbol list (with an LM)."""
    if beam < 1:
        raise ValueError("beam must be >= 1")
    if nbest < 1:
        raise ValueError("nbest must be >= 1")
    if prune_topk is not None and prune_topk < 1:
        raise ValueError("prune_topk must be >= 1 (or None)")
    if prune_cumprob is not None and not prune_cumprob > 0:
        raise ValueError("prune_cumprob must be > 0 (or None)")
    if beam_threshold is not None and not beam_threshold >= 0:
        raise ValueError("beam_threshold must be >= 0 (or None)")
    if isinstance(logp, torch.Tensor):
        logp = logp.detach().to("cpu", torch.float64).numpy()
    x = np.ascontiguousarray(logp, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected a (T, V) matrix, got shape {x.shape}")
    T, V = x.shape
    if not 0 <= blank < V:
        raise ValueError(f"blank index {blank} outside vocabulary of size {V}")
    syms = None
    if lm is not None:
        if symbols is None:
            raise ValueError("symbols (index -> symbol string) are required with an LM")
        syms = list(getattr(symbols, "symbols", symbols))  # a SymbolTable works too
        if len(syms) != V:
            raise ValueError(f"{len(syms)} symbols for a vocabulary of size {V}")
    return x, syms


def _candidates(
    row: np.ndarray,
    lp_row: list[float],
    blank: int,
    prune_logp: float | None,
    prune_topk: int | None,
    prune_cumprob: float | None,
    all_syms: list[int],
) -> list[int]:
    """The symbols that may extend prefixes at one frame, in increasing index order.

    ``prune_logp``: log posterior at least this; ``prune_topk``: among the ``k`` most probable
    non-blank symbols; ``prune_cumprob``: among the most probable symbols (blank included) whose
    probabilities, summed in decreasing order, first reach ``p``.  Ties in probability are broken by
    the lower index.  Every option given applies (an intersection)."""
    if prune_topk is None and prune_cumprob is None:
        if prune_logp is None:
            return all_syms
        return [int(c) for c in np.flatnonzero(row >= prune_logp) if c != blank]
    V = len(lp_row)
    order = sorted(range(V), key=lambda c: (-lp_row[c], c))
    head = V
    if prune_cumprob is not None:
        s = 0.0
        for i, c in enumerate(order):
            s += math.exp(lp_row[c])
            if s >= prune_cumprob:
                head = i + 1
                break
    keep: list[int] = []
    rank = 0
    for i, c in enumerate(order):
        if c == blank:
            continue
        rank += 1
        if (prune_topk is not None and rank > prune_topk) or i >= head:
            break
        if prune_logp is not None and not lp_row[c] >= prune_logp:
            continue
        keep.append(c)
    keep.sort()
    return keep


def prefix_beam_search_reference(
    logp: np.ndarray | torch.Tensor,
    beam: int = 10,
    blank: int = 0,
    prune_logp: float | None = -10.0,
    nbest: int = 1,
    lm=None,
    alpha: float = 0.0,
    beta: float = 0.0,
    symbols: Sequence[str] | None = None,
    *,
    prune_topk: int | None = None,
    prune_cumprob: float | None = None,
    beam_threshold: float | None = None,
) -> list[Hypothesis]:
    """The pure-Python search, the specification the compiled kernel reproduces bit for bit.

    Same arguments and results as :func:`recog.decode.beam.prefix_beam_search`; used when the
    kernel is missing and by the tests."""
    x, symbols = check_args(logp, beam, blank, nbest, lm, symbols, prune_topk, prune_cumprob, beam_threshold)
    T, V = x.shape

    trie = _PrefixTrie()
    fusion: _Fusion | None = None
    rank = _rank
    if lm is not None:
        fusion = _Fusion(lm, symbols, trie, float(alpha), float(beta))
        rank = fusion.rank
    last_tok = trie.token  # last symbol of each prefix node (-1 for the empty prefix)
    beams: dict[int, _Entry] = {0: _Entry(p_b=0.0, p_nb=NEG_INF, trace=None, trace_lp=0.0)}
    all_syms = [c for c in range(V) if c != blank]

    for t in range(T):
        row = x[t]
        lp_row = row.tolist()
        lp_blank = lp_row[blank]
        cands = _candidates(row, lp_row, blank, prune_logp, prune_topk, prune_cumprob, all_syms)

        nxt: dict[int, _Entry] = {}

        def get(p: int) -> _Entry:
            e = nxt.get(p)
            if e is None:
                e = nxt[p] = _Entry()
            return e

        for prefix, ent in beams.items():
            p_b, p_nb = ent.p_b, ent.p_nb
            p_tot = _lae(p_b, p_nb)
            last = last_tok[prefix]

            # 1. stay with a blank
            e = get(prefix)
            contrib = p_tot + lp_blank
            e.p_b = _lae(e.p_b, contrib)
            e.offer(contrib, ent.trace)

            # 2. stay by repeating the last symbol (only from paths ending in it)
            if last >= 0 and p_nb != NEG_INF:
                lp_last = lp_row[last]
                contrib = p_nb + lp_last
                e.p_nb = _lae(e.p_nb, contrib)
                if contrib > e.trace_lp:
                    parent, tok, s, _end, peak = ent.trace  # type: ignore[misc]
                    e.offer(contrib, (parent, tok, s, t, max(peak, lp_last)))

            # 3. grow by one symbol
            for c in cands:
                ext_lp = lp_row[c]  # acoustic only: LM terms are added per prefix at ranking
                if c == last:
                    contrib = p_b + ext_lp
                else:
                    contrib = p_tot + ext_lp
                if contrib == NEG_INF:
                    continue
                e2 = get(trie.child(prefix, c))
                e2.p_nb = _lae(e2.p_nb, contrib)
                if contrib > e2.trace_lp:
                    e2.offer(contrib, (ent.trace, c, t, t, lp_row[c]))

        if fusion is not None:
            bonus = fusion.bonus
            nxt = {p: e for p, e in nxt.items() if bonus(p) != NEG_INF}
            if t == T - 1:  # the final ranking below sees every candidate with its end score
                beams = nxt
                continue
        if beam_threshold is not None and nxt:
            ranks = {p: rank(p, e) for p, e in nxt.items()}
            floor = max(ranks.values()) - beam_threshold
            nxt = {p: e for p, e in nxt.items() if ranks[p] >= floor}
        if len(nxt) > beam:
            kept = heapq.nlargest(beam, nxt.items(), key=lambda kv: rank(kv[0], kv[1]))
            beams = dict(kept)
        else:
            beams = nxt

    # rows: (-score, tokens, entry, lm_score)
    if fusion is None:
        rows = [(-ent.total, trie.tokens(node), ent, 0.0) for node, ent in beams.items()]
    else:
        rows = []
        for node, ent in beams.items():
            lm_total, bonus_total = fusion.final(node)
            if bonus_total != NEG_INF:
                rows.append((-(ent.total + bonus_total), trie.tokens(node), ent, lm_total))
        if not rows:
            return [Hypothesis(tokens=[], score=NEG_INF, am_score=NEG_INF, lm_score=NEG_INF)]
    rows.sort(key=lambda r: (r[0], r[1]))
    out: list[Hypothesis] = []
    for neg_score, tokens, ent, lm_total in rows[:nbest]:
        starts, ends, confs = _unroll(ent.trace)
        out.append(
            Hypothesis(
                tokens=tokens,
                score=-neg_score,
                start_frames=starts,
                end_frames=ends,
                confidences=confs,
                am_score=ent.total,
                lm_score=lm_total,
            )
        )
    return out
