"""CTC prefix beam search (Graves 2012; Hannun et al. 2014).

Every prefix (a collapsed label sequence) keeps two log probabilities: ``p_b``, the mass of
paths that produce the prefix and end in blank, and ``p_nb``, the mass of those that end in its
last symbol.  At each frame a prefix can

* stay the same by emitting blank (from ``p_b + p_nb``) or by repeating its last symbol
  (only from ``p_nb``: a repeat without a blank in between collapses);
* grow by a symbol ``c``: from ``p_b + p_nb`` if ``c`` differs from the last symbol, and only
  from ``p_b`` if it is the same (a repeated label needs a blank between the two copies).

After each frame the ``beam`` prefixes with the highest rank are kept.  The rank is the total
acoustic log probability ``logaddexp(p_b, p_nb)``; :func:`_rank` and the single place where an
extension's log probability is formed (``ext_lp`` in :func:`prefix_beam_search`) are the hooks
where a language-model score can later be added without touching the recursion.

Timing follows the best contribution into each prefix: a symbol's start frame is the frame at
which it was appended on that path, its end frame the last frame at which that path repeated
it, and its confidence the largest posterior seen over those frames.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Optional

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
    """Beam ranking score.  Acoustic only for now; an LM term would be added here."""
    return entry.total


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
) -> list[Hypothesis]:
    """CTC prefix beam search over one utterance.

    Args:
        logp: (T, V) log posteriors.
        beam: number of prefixes kept after each frame.
        blank: index of the CTC blank.
        prune_logp: at each frame, symbols whose log probability is below this are not used to
            extend prefixes (blank and the repeat of each prefix's last symbol are always
            scored).  ``None`` disables pruning, which makes the search exact when ``beam`` is at
            least the number of distinct prefixes.
        nbest: number of hypotheses returned.

    Returns:
        Up to ``nbest`` hypotheses, best first, each with ``score`` the total log probability of
        its label sequence, ``logaddexp(p_b, p_nb)``.
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
                ext_lp = lp_row[c]  # hook: an LM/lexicon term for (prefix, c) would go here
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

        if len(nxt) > beam:
            kept = heapq.nlargest(beam, nxt.items(), key=lambda kv: _rank(kv[0], kv[1]))
            beams = dict(kept)
        else:
            beams = nxt

    ranked = sorted(
        ((-_rank(node, ent), trie.tokens(node), ent) for node, ent in beams.items()),
        key=lambda r: (r[0], r[1]),
    )
    out: list[Hypothesis] = []
    for _, tokens, ent in ranked[:nbest]:
        starts, ends, confs = _unroll(ent.trace)
        out.append(
            Hypothesis(
                tokens=tokens,
                score=ent.total,
                start_frames=starts,
                end_frames=ends,
                confidences=confs,
            )
        )
    return out
