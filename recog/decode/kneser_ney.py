"""Training n-gram models for :mod:`recog.decode.lm`: interpolated modified Kneser-Ney.

Modified Kneser-Ney as implemented
----------------------------------
Sentences are padded with one ``<s>`` and one ``</s>``.  With ``N`` the order, the *adjusted
count* ``a(g)`` of an n-gram ``g`` is

* its raw count if ``n == N`` or ``g`` starts with ``<s>`` (nothing can precede ``<s>``, so a
  continuation count would be 0; KenLM and SRILM do the same);
* otherwise its continuation count ``N1+(. g)``, the number of distinct tokens seen before it.

Per order ``n``, three discounts come from the count-of-counts ``n_k`` of the adjusted counts::

    Y = n1 / (n1 + 2 n2),  D1 = 1 - 2 Y n2/n1,  D2 = 2 - 3 Y n3/n2,  D3+ = 3 - 4 Y n4/n3

If any of ``n1..n4`` is zero or a discount falls outside ``(0, k]`` (typical of tiny corpora),
that order falls back to ``D1, D2, D3+ = 0.5, 1.0, 1.5`` (KenLM's ``--discount_fallback``
default); ``lm.discounts`` records what was used.  ``discount=D`` replaces all of this by one
absolute discount ``0 < D <= 1`` for every count and order.

For a context ``h`` with adjusted counts ``a(h w)``, ``S(h) = sum_w a(h w)``::

    p(w | h)  = (a(h w) - D(a(h w))) / S(h) + gamma(h) p(w | h[1:])
    gamma(h)  = (D1 N1(h .) + D2 N2(h .) + D3+ N3+(h .)) / S(h)

where ``N_k(h .)`` counts the tokens seen after ``h`` with adjusted count ``k`` (``>= 3`` for
``N3+``).  The recursion ends in the uniform distribution over ``V'`` = every token seen except
``<s>``, plus ``</s>`` and ``<unk>``; so ``<unk>`` (if unseen) receives
``gamma(()) / |V'|`` and every context's distribution over ``V'`` sums to one.

The ARPA form stores the interpolated ``p(w | h)`` for every seen n-gram and ``gamma(h)`` as the
back-off weight of ``h``.  Since ``p(w | h) = gamma(h) p(w | h[1:])`` for an unseen ``w``, the
back-off model reproduces the interpolated one exactly.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Iterable, Sequence

from .lm import BOS, BOS_LOG10, EOS, UNK, Ngram, NGramLM

#: discounts (D1, D2, D3+) used when count-of-counts do not give valid ones
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)


def _modkn_discounts(coc: Counter) -> tuple[float, float, float] | None:
    """Chen & Goodman's D1, D2, D3+ from count-of-counts ``coc[k] = n_k``; None if invalid."""
    n1, n2, n3, n4 = (coc.get(k, 0) for k in (1, 2, 3, 4))
    if min(n1, n2, n3, n4) <= 0:
        return None
    y = n1 / (n1 + 2.0 * n2)
    d = (1.0 - 2.0 * y * n2 / n1, 2.0 - 3.0 * y * n3 / n2, 3.0 - 4.0 * y * n4 / n3)
    if any(not 0.0 < dk <= k for k, dk in zip((1, 2, 3), d)):
        return None
    return d


def train_kneser_ney(
    sentences: Iterable[Sequence[str]], order: int, discount: float | None = None
) -> NGramLM:
    """Train an interpolated modified Kneser-Ney model, returned in ARPA back-off form.

    Args:
        sentences: token lists (without ``<s>``/``</s>``; empty sentences are allowed).
        order: n-gram order ``N >= 1``.
        discount: if given, a single absolute discount ``0 < D <= 1`` for all counts and orders
            (interpolated Kneser-Ney); otherwise modified Kneser-Ney discounts per order from
            the count-of-counts, with a fallback of ``(0.5, 1.0, 1.5)`` where those are invalid.

    See the module docstring for the exact formulas.
    """
    if order < 1:
        raise ValueError("order must be >= 1")
    if discount is not None and not 0.0 < discount <= 1.0:
        raise ValueError("discount must lie in (0, 1]")
    N = int(order)

    # raw counts of every n-gram of the padded sentences, n = 1..N
    raw: list[Counter] = [Counter() for _ in range(N + 1)]
    n_sent = 0
    for sent in sentences:
        toks = list(sent)
        if BOS in toks or EOS in toks:
            raise ValueError(f"sentences must not contain {BOS} or {EOS}")
        padded = [BOS] + toks + [EOS]
        n_sent += 1
        L = len(padded)
        for n in range(1, N + 1):
            cn = raw[n]
            for i in range(L - n + 1):
                cn[tuple(padded[i : i + n])] += 1
    if n_sent == 0:
        raise ValueError("cannot train a language model on no sentences")

    # adjusted counts: raw at order N and for n-grams starting with <s>, continuation otherwise
    adj: list[dict[Ngram, int]] = [{} for _ in range(N + 1)]
    adj[N] = dict(raw[N])
    for n in range(N - 1, 0, -1):
        cont = Counter(g[1:] for g in raw[n + 1])  # g[1:] never starts with <s>
        adj[n] = {g: (c if g[0] == BOS else cont[g]) for g, c in raw[n].items()}
    adj[1].pop((BOS,), None)  # <s> is never predicted

    # discounts per order
    discounts: dict[int, tuple[float, float, float]] = {}
    for n in range(1, N + 1):
        if discount is not None:
            discounts[n] = (discount, discount, discount)
        else:
            coc = Counter(adj[n].values())
            discounts[n] = _modkn_discounts(coc) or FALLBACK_DISCOUNTS

    def disc(n: int, a: int) -> float:
        d1, d2, d3 = discounts[n]
        return d1 if a == 1 else d2 if a == 2 else d3

    def by_context(n: int) -> dict[Ngram, list[tuple[str, int]]]:
        groups: dict[Ngram, list[tuple[str, int]]] = defaultdict(list)
        for g, a in adj[n].items():
            groups[g[:-1]].append((g[-1], a))
        return groups

    def gamma_and_total(n: int, items: list[tuple[str, int]]) -> tuple[float, float]:
        total = float(sum(a for _, a in items))
        return sum(disc(n, a) for _, a in items) / total, total

    # interpolated probabilities (linear domain while building), order by order
    prob: dict[Ngram, float] = {}
    bow: dict[Ngram, float] = {}

    (items0,) = by_context(1).values()  # the single empty context
    gamma0, total0 = gamma_and_total(1, items0)
    support = {w for w, _ in items0} | {EOS, UNK}
    uniform = gamma0 / len(support)
    for w in support:
        prob[(w,)] = uniform
    for w, a in items0:
        prob[(w,)] += (a - disc(1, a)) / total0

    for n in range(2, N + 1):
        for h, items in by_context(n).items():
            gamma, total = gamma_and_total(n, items)
            bow[h] = gamma
            lower = h[1:]
            for w, a in items:
                # the suffix (lower + w) was seen too, so its interpolated probability exists
                prob[h + (w,)] = (a - disc(n, a)) / total + gamma * prob[lower + (w,)]

    probs10 = {g: math.log10(p) for g, p in prob.items()}
    probs10[(BOS,)] = BOS_LOG10
    backoffs10 = {h: math.log10(b) for h, b in bow.items()}
    return NGramLM(N, probs10, backoffs10, discounts=discounts)
