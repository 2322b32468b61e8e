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

Implementation: :func:`prefix_beam_search` runs the compiled kernel of
:mod:`recog.decode.fast_beam` (``_beam.cpp``, built by ``pip install``), which reproduces
:func:`_prefix_beam_search_reference` (the Python code below, the specification) bit for bit and
falls back to it when the kernel was not built.  :func:`prefix_beam_search_batch` decodes many
utterances on all cores.  Optional extra pruning (off by default): ``prune_topk`` and
``prune_cumprob`` limit the symbols that extend prefixes at a frame, ``beam_threshold`` drops
prefixes far below the frame's best.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from . import fast_beam
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


def _check_args(
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
    *,
    prune_topk: int | None = None,
    prune_cumprob: float | None = None,
    beam_threshold: float | None = None,
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
        prune_topk: if set, only the ``k`` most probable non-blank symbols of a frame extend
            prefixes (on top of ``prune_logp``).
        prune_cumprob: if set, only the most probable symbols of a frame whose probabilities
            (blank included, in decreasing order) first add up to this extend prefixes.
        beam_threshold: if set, prefixes ranked more than this below the frame's best are dropped
            before the ``beam`` best are kept.  ``None`` for all three (the default) keeps the
            search as described above.

    Runs the compiled kernel (:mod:`recog.decode.fast_beam`) when it was built, else the
    pure-Python :func:`_prefix_beam_search_reference`; both give identical results.  With an LM
    the kernel calls the scorer once per new (LM state, symbol) pair, batched per frame.

    Returns:
        Up to ``nbest`` hypotheses, best first.  Without an LM each ``score`` (= ``am_score``) is
        the total log probability of its label sequence, ``logaddexp(p_b, p_nb)``.  With an LM,
        ``score = am_score + alpha * lm_score + beta * units`` where ``lm_score`` includes the
        end of sentence (and, for a word LM, the last pending word); hypotheses are ranked by
        that fused score, and at the last frame all candidates are ranked by it instead of first
        pruning to ``beam`` by the unfinished score.  If no candidate survives the LM
        constraints at the end, a single empty hypothesis with score ``-inf`` is returned.
    """
    x, syms = _check_args(logp, beam, blank, nbest, lm, symbols, prune_topk, prune_cumprob, beam_threshold)
    if fast_beam.available():
        return fast_beam.search(
            x, beam=beam, blank=blank, prune_logp=prune_logp, nbest=nbest, lm=lm, alpha=alpha, beta=beta,
            symbols=syms, prune_topk=prune_topk, prune_cumprob=prune_cumprob, beam_threshold=beam_threshold,
        )
    fast_beam.warn_unavailable()
    return _prefix_beam_search_reference(
        x, beam=beam, blank=blank, prune_logp=prune_logp, nbest=nbest, lm=lm, alpha=alpha, beta=beta,
        symbols=syms, prune_topk=prune_topk, prune_cumprob=prune_cumprob, beam_threshold=beam_threshold,
    )


def prefix_beam_search_batch(
    logps: Sequence[np.ndarray | torch.Tensor] | np.ndarray | torch.Tensor,
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
    lengths: Sequence[int] | np.ndarray | torch.Tensor | None = None,
    workers: int = 0,
) -> list[list[Hypothesis]]:
    """:func:`prefix_beam_search` over many utterances, in parallel; one n-best list each, in order.

    ``logps`` is a sequence of (T_i, V) matrices, or a padded (B, T, V) array/tensor with
    ``lengths`` (all T if None).  ``workers``: 0 uses every CPU this process may run on, 1 decodes
    here one utterance after the other, ``n`` uses ``n`` workers.  The compiled search releases
    the GIL (with an LM it takes it back only to ask the scorer about LM states it has not seen,
    whose answers are kept per scorer across calls), so the workers are threads: no start-up,
    nothing pickled, one shared LM cache.  Without the compiled kernel they are processes (forked
    where the platform allows, so an LM is not pickled).  Results equal per-utterance calls
    exactly.
    """
    items = fast_beam.split_batch(logps, lengths)
    kwargs = dict(
        beam=beam, blank=blank, prune_logp=prune_logp, nbest=nbest, lm=lm, alpha=alpha, beta=beta, symbols=symbols,
        prune_topk=prune_topk, prune_cumprob=prune_cumprob, beam_threshold=beam_threshold,
    )
    return fast_beam.run_batch(prefix_beam_search, items, kwargs, workers, threads=fast_beam.available())


def _prefix_beam_search_reference(
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

    Same arguments and results as :func:`prefix_beam_search`; used when the kernel is missing and
    by the tests."""
    x, symbols = _check_args(logp, beam, blank, nbest, lm, symbols, prune_topk, prune_cumprob, beam_threshold)
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
