"""CTC prefix beam search (Graves 2012; Hannun et al. 2014).

Every prefix (a collapsed label sequence) keeps two log probabilities: ``p_b``, the mass of
paths that produce the prefix and end in blank, and ``p_nb``, the mass of those that end in its
last symbol.  At each frame a prefix can

* stay the same by emitting blank (from ``p_b + p_nb``) or by repeating its last symbol
  (only from ``p_nb``: a repeat without a blank in between collapses);
* grow by a symbol ``c``: from ``p_b + p_nb`` if ``c`` differs from the last symbol, and only
  from ``p_b`` if it is the same (a repeated label needs a blank between the two copies).

After each frame the ``beam`` prefixes with the highest rank are kept.  Without a language
model the rank is the total acoustic log probability ``logaddexp(p_b, p_nb)`` (:func:`_rank`).

Shallow fusion: with an LM scorer (:mod:`recog.decode.lm`), the rank becomes
``acoustic + alpha * LM + beta * units``.  A prefix's LM score depends only on its labels, so it
is computed once per prefix (trie node) by :class:`_Fusion` and added at ranking time; ``p_b`` and
``p_nb`` stay purely acoustic.  This is the same search as multiplying the LM factor into every
extension (Hannun et al. 2014), since all paths into a prefix carry the same LM factor.

Timing follows the best contribution into each prefix: a symbol's start frame is the frame at
which it was appended on that path, its end frame the last frame at which that path repeated
it, and its confidence the largest posterior seen over those frames.
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


def prefix_beam_search(
    logp: np.ndarray | torch.Tensor,
    beam: int = 10,
    blank: int = 0,
    prune_logp: float | None = -10.0,
    nbest: int = 1,
    lm=None,
    alpha: float = 0.0,
    beta: float = 0.0,
    symbols: Sequence[str] | None = None,
) -> list[Hypothesis]:
    """CTC prefix beam search over one utterance, optionally with LM shallow fusion.

    Args:
        logp: (T, V) log posteriors.
        beam: number of prefixes kept after each frame.
        blank: index of the CTC blank.
        prune_logp: at each frame, symbols whose log probability is below this are not used to
            extend prefixes (blank and the repeat of each prefix's last symbol are always
            scored).  ``None`` disables pruning, which makes the search exact when ``beam`` is at
            least the number of distinct prefixes.
        nbest: number of hypotheses returned.
        lm: optional LM scorer (:class:`recog.decode.lm.CharLMScorer`,
            :class:`recog.decode.lm.WordLMScorer`, or anything with their interface).  Prefixes
            it scores ``-inf`` (e.g. outside a lexicon) are dropped, whatever ``alpha``.
        alpha: LM weight.
        beta: insertion bonus per unit: per emitted symbol with a ``CharLMScorer``, per
            completed word with a ``WordLMScorer`` (the scorer's ``units_extend`` /
            ``units_final`` define the unit).  Used only with an LM.
        symbols: index -> symbol string (``SymbolTable.symbols``, or the table itself), required
            with ``lm``.

    Returns:
        Up to ``nbest`` hypotheses, best first.  Without an LM each ``score`` (= ``am_score``) is
        the total log probability of its label sequence, ``logaddexp(p_b, p_nb)``.  With an LM,
        ``score = am_score + alpha * lm_score + beta * units`` where ``lm_score`` includes the
        end of sentence (and, for a word LM, the last pending word); hypotheses are ranked by
        that fused score, and at the last frame all candidates are ranked by it instead of first
        pruning to ``beam`` by the unfinished score.  If no candidate survives the LM
        constraints at the end, a single empty hypothesis with score ``-inf`` is returned.
    """
    if beam < 1:
        raise ValueError("beam must be >= 1")
    if nbest < 1:
        raise ValueError("nbest must be >= 1")
    if isinstance(logp, torch.Tensor):
        logp = logp.detach().to("cpu", torch.float64).numpy()
    x = np.asarray(logp, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected a (T, V) matrix, got shape {x.shape}")
    T, V = x.shape
    if not 0 <= blank < V:
        raise ValueError(f"blank index {blank} outside vocabulary of size {V}")

    trie = _PrefixTrie()
    fusion: _Fusion | None = None
    rank = _rank
    if lm is not None:
        if symbols is None:
            raise ValueError("symbols (index -> symbol string) are required with an LM")
        symbols = list(getattr(symbols, "symbols", symbols))  # a SymbolTable works too
        if len(symbols) != V:
            raise ValueError(f"{len(symbols)} symbols for a vocabulary of size {V}")
        fusion = _Fusion(lm, symbols, trie, float(alpha), float(beta))
        rank = fusion.rank
    last_tok = trie.token  # last symbol of each prefix node (-1 for the empty prefix)
    beams: dict[int, _Entry] = {0: _Entry(p_b=0.0, p_nb=NEG_INF, trace=None, trace_lp=0.0)}
    all_syms = [c for c in range(V) if c != blank]

    for t in range(T):
        row = x[t]
        lp_row = row.tolist()
        lp_blank = lp_row[blank]
        if prune_logp is None:
            cands = all_syms
        else:
            cands = [int(c) for c in np.flatnonzero(row >= prune_logp) if c != blank]

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
