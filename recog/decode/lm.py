"""N-gram language models for CTC decoding (shallow fusion).

A *token* is any string: a character (the word separator being ``<space>``), a phone or a word.
Everything here is unit-agnostic; the scorers at the bottom adapt a model to the symbols a CTC
model emits.

Contents
--------
:class:`NGramLM`
    A back-off n-gram model with ARPA semantics: every stored n-gram has a log10 probability and
    (except at the highest order) an optional log10 back-off weight.  Sentence markers are
    ``<s>`` (context only, never predicted) and ``</s>``; tokens outside the vocabulary map to
    ``<unk>``.  ``logprob``/``score_sentence``/``perplexity`` use natural logs; a small stateful
    interface (``start``/``advance``/``finish``) with cached results serves the decoder.
:func:`train_kneser_ney`
    Interpolated modified Kneser-Ney (Chen & Goodman 1998), written out as an exact ARPA back-off
    model.
:func:`read_arpa` / :func:`write_arpa`
    ARPA text files (also the ones produced by KenLM ``lmplz`` and SRILM ``ngram-count``).
:class:`CharLMScorer` / :class:`WordLMScorer`
    The scorer interface used by :func:`recog.decode.beam.prefix_beam_search`:
    ``initial_state()``, ``score_extend(state, symbol) -> (delta_logp, new_state)`` (``-inf``
    prunes the extension), ``score_final(state) -> delta_logp``, plus ``units_extend`` /
    ``units_final`` which count the units the insertion bonus ``beta`` applies to.

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

import gzip
import math
import os
from collections import Counter, defaultdict
from typing import Any, Iterable, Protocol, Sequence

BOS = "<s>"
EOS = "</s>"
UNK = "<unk>"
SPACE = "<space>"

LN10 = math.log(10.0)
NEG_INF = float("-inf")
#: log10 probability ARPA files conventionally give ``<s>`` (it is never predicted)
BOS_LOG10 = -99.0
#: discounts (D1, D2, D3+) used when count-of-counts do not give valid ones
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)

Ngram = tuple[str, ...]


class NGramLM:
    """A back-off n-gram language model (ARPA semantics).

    Args:
        order: highest n-gram order ``N``.
        probs: ``{ngram tuple: log10 p(last | rest)}`` for every stored n-gram, orders ``1..N``.
        backoffs: ``{ngram tuple: log10 back-off weight}``; missing entries mean 0 (weight 1).
        discounts: optional training metadata, ``{n: (D1, D2, D3+)}``.

    Attributes:
        vocab: frozenset of all unigram tokens (includes ``<s>``, ``</s>`` and ``<unk>`` when the
            model has them).

    Lookups follow standard back-off: ``log p(w | h) = log p(h w)`` if ``h w`` is stored, else
    ``bow(h) + log p(w | h[1:])``; a token not in ``vocab`` is scored (and kept in contexts) as
    ``<unk>``; if the model has no ``<unk>`` its probability is 0 (log ``-inf``).
    """

    def __init__(
        self,
        order: int,
        probs: dict[Ngram, float],
        backoffs: dict[Ngram, float] | None = None,
        discounts: dict[int, tuple[float, float, float]] | None = None,
    ) -> None:
        if order < 1:
            raise ValueError("order must be >= 1")
        self.order = int(order)
        self.probs = dict(probs)
        self.backoffs = dict(backoffs or {})
        self.discounts = dict(discounts or {})
        for g in self.probs:
            if not 1 <= len(g) <= self.order:
                raise ValueError(f"n-gram {' '.join(g)!r} has order {len(g)} outside 1..{self.order}")
        self.vocab = frozenset(g[0] for g in self.probs if len(g) == 1)
        self.has_unk = UNK in self.vocab
        # States for the decoding interface: every stored n-gram of order < N and every prefix of
        # a stored n-gram.  A history suffix outside this set has no back-off weight and no
        # extensions, so dropping it never changes a score (exact state merging).
        states: set[Ngram] = set()
        for g in self.probs:
            for k in range(1, min(len(g), self.order - 1) + 1):
                states.add(g[:k])
        states.update(g for g in self.backoffs if len(g) < self.order)
        self._states = frozenset(states)
        self._cache: dict[tuple[Ngram, str], tuple[float, Ngram]] = {}

    # ----------------------------------------------------------------------------- queries
    def counts(self) -> list[int]:
        """Number of stored n-grams per order, ``[n1, ..., nN]``."""
        c = [0] * self.order
        for g in self.probs:
            c[len(g) - 1] += 1
        return c

    def _map(self, token: str) -> str:
        return token if token in self.vocab else UNK

    def logprob10(self, token: str, context: Sequence[str] = ()) -> float:
        """``log10 p(token | context)`` with back-off; only the last ``N-1`` context tokens count."""
        w = self._map(token)
        n_ctx = self.order - 1
        ctx = tuple(self._map(c) for c in context[max(0, len(context) - n_ctx) :]) if n_ctx else ()
        probs, backoffs = self.probs, self.backoffs
        bo = 0.0
        for i in range(len(ctx) + 1):
            h = ctx[i:]
            p = probs.get(h + (w,))
            if p is not None:
                return bo + p
            bo += backoffs.get(h, 0.0)
        return NEG_INF  # w (or <unk>) is not even a unigram

    def logprob(self, token: str, context: Sequence[str] = ()) -> float:
        """Natural-log ``log p(token | context)`` (see :meth:`logprob10`)."""
        return self.logprob10(token, context) * LN10

    def score_sentence(self, tokens: Sequence[str], bos: bool = True, eos: bool = True) -> float:
        """Natural-log probability of a sentence: every token given its history (starting from
        ``<s>`` if ``bos``), plus ``</s>`` at the end if ``eos``."""
        hist: list[str] = [BOS] if bos else []
        total = 0.0
        for t in tokens:
            total += self.logprob(t, hist)
            hist.append(t)
        if eos:
            total += self.logprob(EOS, hist)
        return total

    def perplexity(self, sentences: Iterable[Sequence[str]]) -> float:
        """``exp(-sum log p / count)`` over all tokens and one ``</s>`` per sentence (the usual
        SRILM/KenLM convention).  ``inf`` if some token has probability 0."""
        total = 0.0
        count = 0
        for s in sentences:
            total += self.score_sentence(s)
            count += len(s) + 1
        if count == 0:
            raise ValueError("perplexity of an empty corpus")
        return math.exp(-total / count)

    # ------------------------------------------------------------ stateful (for decoding)
    def _truncate(self, hist: Ngram) -> Ngram:
        """Longest suffix of ``hist`` (at most ``N-1`` tokens) that is a model state."""
        if self.order == 1:
            return ()
        hist = hist[max(0, len(hist) - (self.order - 1)) :]
        states = self._states
        for i in range(len(hist)):
            if hist[i:] in states:
                return hist[i:]
        return ()

    def start(self) -> Ngram:
        """State at the start of a sentence (after ``<s>``)."""
        return self._truncate((BOS,))

    def clear_cache(self) -> None:
        """Forget the cached ``advance`` results (a benchmark's cold start)."""
        self._cache.clear()

    def advance(self, state: Ngram, token: str) -> tuple[float, Ngram]:
        """Score ``token`` after ``state``: ``(natural log p, new state)``.  Cached."""
        key = (state, token)
        r = self._cache.get(key)
        if r is None:
            w = self._map(token)
            r = (self.logprob10(w, state) * LN10, self._truncate(state + (w,)))
            self._cache[key] = r
        return r

    def finish(self, state: Ngram) -> float:
        """Natural-log probability of ``</s>`` after ``state``."""
        return self.advance(state, EOS)[0]

    def __repr__(self) -> str:
        counts = ", ".join(f"{n + 1}-grams={c}" for n, c in enumerate(self.counts()))
        return f"NGramLM(order={self.order}, {counts})"


# ----------------------------------------------------------------------------------- training
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


# ----------------------------------------------------------------------------------- ARPA I/O
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


# ------------------------------------------------------------------------ decoder scorers
class LMScorer(Protocol):
    """What :func:`recog.decode.beam.prefix_beam_search` needs from a language model.

    States are opaque, hashable values.  All scores are natural logs.
    """

    def initial_state(self) -> Any: ...

    def score_extend(self, state: Any, symbol: str) -> tuple[float, Any]:
        """LM log-probability change when ``symbol`` is appended; ``-inf`` prunes."""
        ...

    def score_final(self, state: Any) -> float:
        """LM log-probability change when the hypothesis ends (``</s>``, pending words)."""
        ...

    def units_extend(self, state: Any, symbol: str) -> int:
        """Number of units (for the insertion bonus) that appending ``symbol`` completes."""
        ...

    def units_final(self, state: Any) -> int:
        """Number of units that ending the hypothesis completes."""
        ...


class CharLMScorer:
    """Token-level fusion: every emitted CTC symbol is one LM token.

    Meant for a character n-gram (trained on :meth:`recog.tokens.SymbolTable.split` output, so
    the word separator is the token ``<space>``) but works for any unit whose CTC symbols are
    the LM's tokens (phones, words).  The insertion bonus counts every emitted symbol.
    """

    def __init__(self, lm: NGramLM) -> None:
        self.lm = lm

    def initial_state(self) -> Ngram:
        return self.lm.start()

    def score_extend(self, state: Ngram, symbol: str) -> tuple[float, Ngram]:
        return self.lm.advance(state, symbol)

    def score_final(self, state: Ngram) -> float:
        return self.lm.finish(state)

    def units_extend(self, state: Ngram, symbol: str) -> int:
        return 1

    def units_final(self, state: Ngram) -> int:
        return 0


class WordLMScorer:
    """Word-level fusion for a character CTC model.

    The state is ``(lm_state, partial_word)``.  Characters accumulate in ``partial_word``
    (multi-character symbols are concatenated); a ``space`` symbol completes the pending word,
    which is then scored by the word n-gram; :meth:`score_final` scores the last pending word and
    ``</s>``.  A ``space`` with no pending word (leading or doubled separators) is a no-op.

    With a ``lexicon`` (an iterable of words), a character that makes the pending word a
    non-prefix of every lexicon word, a separator completing a non-word, and an end with a
    pending non-word all score ``-inf`` (the beam search drops such prefixes), so decoded words
    are always lexicon words.  Without one, any word is allowed and unknown ones score as
    ``<unk>``.  The insertion bonus counts words.

    No LM look-ahead is done: a word's LM score arrives at once when it is completed.
    """

    def __init__(self, lm: NGramLM, lexicon: Iterable[str] | None = None, space: str = SPACE) -> None:
        self.lm = lm
        self.space = space
        self.lexicon: frozenset[str] | None = None
        self.prefixes: frozenset[str] | None = None
        if lexicon is not None:
            words = frozenset(w for w in lexicon if w)
            self.lexicon = words
            self.prefixes = frozenset(w[:i] for w in words for i in range(1, len(w) + 1))
        self._cache: dict[tuple[Any, str], tuple[float, Any]] = {}

    def initial_state(self) -> tuple[Ngram, str]:
        return (self.lm.start(), "")

    def _word(self, lm_state: Ngram, word: str) -> tuple[float, Ngram]:
        if self.lexicon is not None and word not in self.lexicon:
            return NEG_INF, lm_state
        return self.lm.advance(lm_state, word)

    def score_extend(self, state: tuple[Ngram, str], symbol: str) -> tuple[float, tuple[Ngram, str]]:
        key = (state, symbol)
        r = self._cache.get(key)
        if r is None:
            lm_state, partial = state
            if symbol == self.space:
                if not partial:
                    r = (0.0, state)
                else:
                    lp, st = self._word(lm_state, partial)
                    r = (lp, (st, ""))
            else:
                partial += symbol
                if self.prefixes is not None and partial not in self.prefixes:
                    r = (NEG_INF, (lm_state, partial))
                else:
                    r = (0.0, (lm_state, partial))
            self._cache[key] = r
        return r

    def score_final(self, state: tuple[Ngram, str]) -> float:
        lm_state, partial = state
        lp = 0.0
        if partial:
            lp, lm_state = self._word(lm_state, partial)
            if lp == NEG_INF:
                return lp
        return lp + self.lm.finish(lm_state)

    def units_extend(self, state: tuple[Ngram, str], symbol: str) -> int:
        return 1 if symbol == self.space and state[1] else 0

    def units_final(self, state: tuple[Ngram, str]) -> int:
        return 1 if state[1] else 0


#: the word-LM adapter for character CTC models (same class)
WordLM = WordLMScorer

__all__ = [
    "BOS",
    "EOS",
    "UNK",
    "CharLMScorer",
    "LMScorer",
    "NGramLM",
    "WordLM",
    "WordLMScorer",
    "read_arpa",
    "train_kneser_ney",
    "write_arpa",
]
